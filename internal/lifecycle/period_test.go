package lifecycle

import (
	"testing"
	"time"
)

func TestPeriodsAreWrittenInDaysOrAsDurationsAndChecked(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in, out string
		ok      bool
	}{
		{"30d", "30d", true},
		{"720h", "30d", true},
		{" 36h30m ", "36h30m0s", true},
		{"365d", "365d", true},
		{"366d", "", false},
		{"8761h", "", false},
		{"0s", "", false},
		{"0d", "", false},
		{"-1h", "", false},
		{"-2d", "", false},
		{"30", "", false},
		{"soon", "", false},
		{"99999999999999999999d", "", false},
	} {
		p, err := ParsePeriod(c.in)
		if err == nil {
			err = p.Check()
		}
		if (err == nil) != c.ok || c.ok && p.String() != c.out {
			t.Errorf("%q: %s, %v; want %q ok=%v", c.in, p, err, c.out, c.ok)
		}
	}
	if PeriodOf(90*time.Minute).Duration() != 90*time.Minute {
		t.Error("PeriodOf and Duration do not round-trip")
	}
}
