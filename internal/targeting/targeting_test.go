package targeting

import "testing"

func TestCountryListHasEveryAssignedCode(t *testing.T) {
	t.Parallel()
	if len(countries) != 249 {
		t.Errorf("%d country codes, want the 249 assigned ones", len(countries))
	}
	for _, c := range []string{"US", "DE", "GB", "BR", "SS"} {
		if !KnownCountry(c) {
			t.Errorf("%s is not known", c)
		}
	}
	for _, c := range []string{"UK", "XX", "us", "USA", ""} {
		if KnownCountry(c) {
			t.Errorf("%q is known, but is not an ISO 3166-1 alpha-2 code", c)
		}
	}
}
