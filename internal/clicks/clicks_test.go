package clicks

import (
	"net/url"
	"regexp"
	"testing"

	"github.com/gokart/gokart/internal/catalogue"
)

func TestNewIDIsUnguessableURLSafeAndFitsEveryNetwork(t *testing.T) {
	t.Parallel()
	shortest := 1 << 30
	for _, s := range catalogue.All() {
		shortest = min(shortest, s.MaxClickIDLength)
	}
	safe := regexp.MustCompile(`^[A-Za-z0-9_-]{22}$`)
	seen := map[string]bool{}
	for range 10000 {
		id := NewID()
		if !safe.MatchString(id) || len(id) > shortest || seen[id] {
			t.Fatalf("click id %q: want 22 URL-safe characters, unique, at most %d", id, shortest)
		}
		seen[id] = true
	}
	if IDBytes*8 < 122 {
		t.Fatalf("%d random bits, want at least 122", IDBytes*8)
	}
}

func TestPublisherParametersWithControlCharactersAreRefused(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"a\x00b", "tab\there", "new\nline"} {
		if _, err := readParams(url.Values{"pub_member_id": {v}}); err == nil {
			t.Errorf("pub_member_id %q was accepted", v)
		}
	}
	if p, err := readParams(url.Values{"pub_member_id": {"member-42 ü"}}); err != nil || p["pub_member_id"] != "member-42 ü" {
		t.Errorf("ordinary text refused: %v %v", p, err)
	}
}
