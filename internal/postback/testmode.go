package postback

import "github.com/gokart/gokart/internal/lifecycle"

// Test mode: a test click's conversions (createTestClick) follow the lifecycle like any, but
// charge nothing, so budgets, caps and one completion per member never see them.

// chargeable says whether the target's conversions charge budgets and caps.
func chargeable(t target) bool { return !t.test }

// spendOf is lifecycle.SpendOf for the target: a test conversion's spend never moves.
func spendOf(t target, from, to lifecycle.Status) lifecycle.Spend {
	if !chargeable(t) {
		return lifecycle.Keep
	}
	return lifecycle.SpendOf(from, to)
}
