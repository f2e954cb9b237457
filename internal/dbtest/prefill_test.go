package dbtest

import (
	"fmt"
	"testing"
)

// failures records what RequireKeyed reports instead of failing the test.
type failures struct {
	testing.TB
	errs []string
}

func (f *failures) Helper() {}

func (f *failures) Errorf(format string, args ...any) {
	f.errs = append(f.errs, fmt.Sprintf(format, args...))
}

// TestRequireKeyedRejectsThePlansOfIssue11 feeds RequireKeyed the plan PostgreSQL chose before
// the keys by account (an id filtered out of an account's conversions), a scan, and a good probe.
func TestRequireKeyedRejectsThePlansOfIssue11(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, plan string
		bad        bool
	}{
		{"id as a filter", `Update on conversions
  ->  Index Scan using conversion_account_id_offer_id_created_at on conversions
        Index Cond: (account_id = '9'::bigint)
        Filter: (id = '4'::bigint)
`, true},
		{"scan", `Seq Scan on clicks
  Filter: ((gk_click_id)::text = 'x'::text)
`, true},
		{"probe", `Update on conversions
  ->  Index Scan using conversions_pkey on conversions
        Index Cond: ((account_id = '9'::bigint) AND (id = '4'::bigint))
`, false},
	} {
		f := &failures{TB: t}
		RequireKeyed(f, tc.name, tc.plan, "conversions_pkey")
		if got := len(f.errs) > 0; got != tc.bad {
			t.Errorf("%s: rejected %v, want %v (%q)", tc.name, got, tc.bad, f.errs)
		}
	}
}
