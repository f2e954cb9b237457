package graph

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

func mustParse(t *testing.T, q string) *ast.QueryDocument {
	t.Helper()
	doc, err := parser.ParseQuery(&ast.Source{Input: q})
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return doc
}

func fanOut(n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "{ viewer { ...F%d } }\nfragment F0 on Account { id name }\n", n)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "fragment F%d on Account { ...F%d ...F%d }\n", i, i-1, i-1)
	}
	return b.String()
}

// TestCheckDocumentWorkIsLinearInTheDocument holds the check itself to a few visits per
// selection written, whatever the document expands to: the work counter, not the clock.
func TestCheckDocumentWorkIsLinearInTheDocument(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		query   string
		refused bool
		written int // selections as written, roughly
	}{
		{"fragments doubling 39 times (2^40 fields expanded)", fanOut(39), true, 2*39 + 3},
		{"fragments doubling 10 times (2 048 fields expanded)", fanOut(10), true, 2*10 + 3},
		{"fragments doubling 9 times (1 024 fields expanded)", fanOut(9), true, 2*9 + 3},
		{"fragments doubling 5 times (64 fields expanded)", fanOut(5), false, 2*5 + 3},
		{"a chain of 2 000 one-spread fragments, spread 1 000 times", chain(2000, 1000), true, 3000},
		{"3 000 repeated fields", "{" + strings.Repeat(" viewer { id }", 3000) + " }", true, 6000},
		{"900 repeated fields", "{" + strings.Repeat(" viewer { id }", 900) + " }", true, 1800},
		{"25 copies of two fields", "{ viewer {" + strings.Repeat(" id name", 25) + " } }", false, 51},
		{"a fragment shared by two others", "{ viewer { ...A ...B } } fragment A on Account { id ...C } fragment B on Account { name ...C } fragment C on Account { id name }", false, 9},
		{"a plain query", "{ viewer { id name } offers(first: 5) { edges { node { id name } } } }", false, 7},
	}
	for _, c := range cases {
		e, steps := checkDocument(mustParse(t, c.query), DefaultLimits)
		if (e != nil) != c.refused {
			t.Errorf("%s: error %v, want refused = %v", c.name, e, c.refused)
		}
		// Expanded walks happen only within the selection limit, so the bound is the written
		// size for the first passes plus at most Selections for the walk of the expansion.
		if limit := 4*c.written + DefaultLimits.Selections; steps > limit {
			t.Errorf("%s: %d steps, want at most %d", c.name, steps, limit)
		}
	}
}

func chain(n, spreads int) string {
	var b strings.Builder
	b.WriteString("{ viewer {" + strings.Repeat(fmt.Sprintf(" ...F%d", n), spreads) + " } }\nfragment F0 on Account { id }\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "fragment F%d on Account { ...F%d }\n", i, i-1)
	}
	return b.String()
}

func TestCheckDocumentNamesTheLimitItBreaks(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, query, want string }{
		{"too many aliases", "{ viewer {" + strings.Repeat(" a: id", 501) + " } }", "aliases"},
		{"too many directives", "{ viewer {" + strings.Repeat(" id @skip(if: false)", 101) + " } }", "directives"},
		{"a fragment cycle", "{ viewer { ...A } } fragment A on Account { ...B } fragment B on Account { ...A }", "spreads itself"},
		{"an unused fragment", "{ viewer { id } } fragment A on Account { id }", "never used"},
		{"an unused fragment that expands hugely", "{ viewer { id } }\n" + strings.SplitN(fanOut(30), "\n", 2)[1], "more than"},
	}
	for _, c := range cases {
		e := CheckDocument(mustParse(t, c.query), DefaultLimits)
		if e == nil || !strings.Contains(e.Message, c.want) || e.Field != "query" {
			t.Errorf("%s: %v, want a VALIDATION error on query mentioning %q", c.name, e, c.want)
		}
	}
}
