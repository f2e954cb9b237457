package graph_test

import (
	"testing"

	"github.com/gokart/gokart/internal/apitest"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/storage"
)

// First with last is refused wherever the connection is: at the root, nested under an
// advertiser, given through variables or inside a fragment; a last given as null is no last.
func TestFirstWithLastIsRefusedOnEveryConnection(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		srv := apitest.Start(t, db)
		k := srv.NewAccount(t, "Acme")
		nested := `{ advertisers { edges { node { offers(first: 1, last: 1) { totalCount } } } } }`
		refused := []struct {
			name, query string
			vars        map[string]any
			path        string
		}{
			{"root", `{ offers(first: 1, last: 1) { totalCount } }`, nil, "offers"},
			{"nested", nested, nil, "advertisers.edges.node.offers"},
			{"variables", `query($f: Int, $l: Int) { a: offers(first: $f, last: $l) { totalCount } }`, map[string]any{"f": 2, "l": 3}, "a"},
			{"fragment", `{ ...F } fragment F on Query { clicks(first: 1, last: 2) { totalCount } }`, nil, "clicks"},
		}
		for _, c := range refused {
			r := srv.GraphQL(t, k.APIKey, c.query, c.vars)
			if len(r.Errors) != 1 || r.Errors[0].Code() != "VALIDATION" || r.Errors[0].Field() != "last" {
				t.Errorf("%s: HTTP %d errors %+v, want one VALIDATION on last", c.name, r.Status, r.Errors)
				continue
			}
			if got := pathOf(r.Errors[0].Path); got != c.path {
				t.Errorf("%s: error at %q, want %q", c.name, got, c.path)
			}
		}
		r := srv.GraphQL(t, k.APIKey, `query($l: Int) { offers(first: 1, last: $l) { totalCount } }`, map[string]any{"l": nil})
		if len(r.Errors) != 0 {
			t.Errorf("first with a null last: errors %+v, want none", r.Errors)
		}
	})
}

func pathOf(p []any) string {
	s := ""
	for _, e := range p {
		if name, ok := e.(string); ok {
			if s != "" {
				s += "."
			}
			s += name
		}
	}
	return s
}
