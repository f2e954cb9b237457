package postback

import (
	"strings"
	"testing"
)

func TestRedactHidesTheKeyHoweverItIsSpelled(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{
		"key=SECRET&gk_click_id=x",
		"KEY=SECRET&gk_click_id=x",
		"gk_click_id=x&amp;key=SECRET",
		"postback_key=SECRET",
		"%6Bey=SECRET",
		"k%zzey=SECRET",
	} {
		if got := Redact(raw); strings.Contains(got, "SECRET") {
			t.Errorf("Redact(%q) = %q still shows the key", raw, got)
		}
	}
	if got := Redact("gk_click_id=abc&cnv_event_id=Sign+Up"); got != "gk_click_id=abc&cnv_event_id=Sign+Up" {
		t.Errorf("Redact changed a query without a key: %q", got)
	}
}
