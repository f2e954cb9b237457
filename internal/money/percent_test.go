package money

import (
	"math"
	"testing"
)

func TestPercentIsExactAndRoundsDown(t *testing.T) {
	t.Parallel()
	m := func(s string) Micros {
		v, err := Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct{ amount, percent, want string }{
		{"100", "10", "10"},
		{"12.34", "12.5", "1.5425"},
		{"0.000001", "50", "0"},        // half a micro rounds down
		{"0.000003", "33.333333", "0"}, // 0.99999999 micro
		{"19.99", "7.5", "1.49925"},
		{"1000000", "100", "1000000"},
		{"9000000000000", "99.999999", "8999999910000"}, // the largest amounts stay exact (no float)
		{"10", "150", "10"},                             // at most the whole amount
		{"-5", "10", "0"},
		{"5", "0", "0"},
	}
	for _, c := range cases {
		if got := Percent(m(c.amount), m(c.percent)); got != m(c.want) {
			t.Errorf("%s%% of %s = %s, want %s", c.percent, c.amount, got, c.want)
		}
	}
	if got := Percent(Micros(math.MaxInt64), Hundred); got != Micros(math.MaxInt64) {
		t.Errorf("100%% of the largest amount = %d", got)
	}
}
