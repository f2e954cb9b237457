package money

import "testing"

func TestParseReadsPlainDecimalsExactly(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want Micros
		err  bool
	}{
		{"12.50", 12_500_000, false},
		{"0.000001", 1, false},
		{"-3", -3_000_000, false},
		{".5", 500_000, false},
		{"7.", 7_000_000, false},
		{"1e3", 0, true},
		{"1.0000001", 0, true},
		{"", 0, true},
		{".", 0, true},
		{"abc", 0, true},
		{"99999999999999999999", 0, true},
		{"1,5", 0, true},
	}
	for _, c := range cases {
		got, err := Parse(c.in)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("Parse(%q) = %d, %v; want %d, err=%v", c.in, got, err, c.want, c.err)
		}
	}
}

func TestStringRoundTrips(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"0.00", "12.50", "-0.000001", "1000000.00", "3.141592", "0.10"} {
		m, err := Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		if m.String() != s {
			t.Errorf("Parse(%q).String() = %q", s, m.String())
		}
	}
}

func TestKnownCurrencyTakesActiveISOCodesOnly(t *testing.T) {
	t.Parallel()
	for _, c := range []string{"USD", "EUR", "JPY", "GBP", "BRL"} {
		if !KnownCurrency(c) {
			t.Errorf("%s is not known", c)
		}
	}
	for _, c := range []string{"usd", "XXX", "DEM", "", "US"} {
		if KnownCurrency(c) {
			t.Errorf("%q is known", c)
		}
	}
}
