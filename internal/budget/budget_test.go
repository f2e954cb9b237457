package budget

import (
	"testing"
	"time"
)

func TestPeriodKeysFollowTheOffersTimeZone(t *testing.T) {
	t.Parallel()
	// Sunday 2026-11-29 23:30 UTC is already Monday 2026-11-30 in Berlin.
	at := time.Date(2026, 11, 29, 23, 30, 0, 0, time.UTC)
	cases := []struct {
		tz               string
		day, week, month string
	}{
		{"UTC", "2026-11-29", "2026-11-23", "2026-11"},
		{"Europe/Berlin", "2026-11-30", "2026-11-30", "2026-11"},
		{"Not/AZone", "2026-11-29", "2026-11-23", "2026-11"},
	}
	for _, c := range cases {
		k := PeriodKeys(at, c.tz)
		if k["D"] != c.day || k["W"] != c.week || k["M"] != c.month || k["T"] != "all" {
			t.Errorf("%s: %v", c.tz, k)
		}
	}
}
