// Package lifecycle is the life of a conversion: its statuses and which changes are allowed,
// as pure functions (rules.go) that the postback and manual review apply.
package lifecycle

import (
	"fmt"
	"io"
	"strconv"
)

// Status is where a conversion stands.
type Status string

// The conversion statuses.
const (
	Pending  Status = "PENDING"
	Approved Status = "APPROVED"
	Reversed Status = "REVERSED"
	// Rejected is ours, not a network's: a rule (cap, budget, one per member) refused it, and it
	// is kept so that nothing a network reported is lost.
	Rejected Status = "REJECTED"
)

// Values lists the statuses for the Ent enum.
func (Status) Values() []string {
	return []string{string(Pending), string(Approved), string(Reversed), string(Rejected)}
}

// Spends reports whether a conversion in this status counts against budgets and caps.
func (s Status) Spends() bool { return s == Pending || s == Approved }

// MarshalGQL writes the status as a GraphQL enum value.
func (s Status) MarshalGQL(w io.Writer) { _, _ = io.WriteString(w, strconv.Quote(string(s))) }

// UnmarshalGQL reads a GraphQL enum value.
func (s *Status) UnmarshalGQL(v any) error {
	str, ok := v.(string)
	if ok {
		for _, known := range s.Values() {
			if str == known {
				*s = Status(str)
				return nil
			}
		}
	}
	return fmt.Errorf("%v is not a valid ConversionStatus", v)
}
