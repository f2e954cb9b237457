package graph

import (
	"context"
	"errors"
	"fmt"

	"github.com/99designs/gqlgen/graphql"
	gqlcode "github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/gokart/gokart/internal/errcode"
)

// Limits bound what one GraphQL document may ask of the server. They are checked on the parsed
// document before gqlparser validates it and before gqlgen prices it, because both of those
// cost more than the document's size: gqlgen's complexity walker expands every fragment spread
// (2^n work for n nested fragments that spread the one below twice), and gqlparser's
// OverlappingFieldsCanBeMerged compares every pair of fields answering under one name
// (quadratic in repeated fields, and multiplied again at every level they nest).
type Limits struct {
	// Tokens caps the lexer's tokens, so parsing stops early on a huge document.
	Tokens int
	// Selections caps the selections (fields, fragment spreads, inline fragments) of all
	// operations together, every fragment spread expanded.
	Selections int
	// Aliases caps the fields that rename themselves.
	Aliases int
	// Directives caps the directives written anywhere in the document.
	Directives int
	// Overlap caps the field pairs the overlap rule compares: the sum, over every response
	// path, of the square of the number of fields answering at it. A document with no
	// repeated field costs as many as its selections.
	Overlap int
	// Errors caps the errors in one response; the rest are summed up in one more error.
	Errors int
}

// DefaultLimits are generous for any real frontend operation (the playground's largest
// example has under 100 selections) and small enough that no document costs more than a few
// milliseconds to check, validate and price.
var DefaultLimits = Limits{Tokens: 15_000, Selections: 2_000, Aliases: 500, Directives: 100, Overlap: 20_000, Errors: 50}

// Bounds is the gqlgen extension that enforces Limits on every document before it is
// validated. It runs after automatic persisted queries, so it sees the query a hash stands for.
type Bounds struct {
	Limits Limits
	// Validated, when set, is gqlgen's query cache: a document in it passed these checks and
	// validation already, so it is not parsed again here.
	Validated graphql.Cache[*ast.QueryDocument]
}

var (
	_ graphql.HandlerExtension          = Bounds{}
	_ graphql.OperationParameterMutator = Bounds{}
	_ graphql.ResponseInterceptor       = Bounds{}
)

// ExtensionName names the extension in gqlgen's list.
func (Bounds) ExtensionName() string { return "GokartBounds" }

// Validate checks the limits are usable.
func (b Bounds) Validate(graphql.ExecutableSchema) error {
	l := b.Limits
	if l.Tokens < 1 || l.Selections < 1 || l.Aliases < 0 || l.Directives < 0 || l.Overlap < l.Selections || l.Errors < 1 {
		return fmt.Errorf("graph.Bounds: limits out of range: %+v", l)
	}
	return nil
}

// MutateOperationParameters rejects a document over the limits before any costly work.
func (b Bounds) MutateOperationParameters(ctx context.Context, p *graphql.RawParams) *gqlerror.Error {
	if p.Query == "" {
		return nil
	}
	if b.Validated != nil {
		if _, ok := b.Validated.Get(ctx, p.Query); ok {
			return nil
		}
	}
	doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: p.Query}, b.Limits.Tokens)
	if err != nil {
		// A syntax error (the token limit's included) as gqlgen would report it, without
		// gqlgen parsing the document a second time.
		var perr *gqlerror.Error
		if errors.As(err, &perr) {
			gqlcode.Set(perr, gqlcode.ParseFailed)
			return perr
		}
		return nil
	}
	if e := CheckDocument(doc, b.Limits); e != nil {
		return tooCostly(e.Field, "%s", e.Message)
	}
	return nil
}

// InterceptResponse caps the number of errors in a response, whatever produced them.
func (b Bounds) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if resp != nil && len(resp.Errors) > b.Limits.Errors {
		more := len(resp.Errors) - b.Limits.Errors
		code := errcode.Validation
		if c, ok := resp.Errors[b.Limits.Errors].Extensions["code"].(string); ok {
			code = errcode.Code(c)
		}
		resp.Errors = append(resp.Errors[:b.Limits.Errors:b.Limits.Errors], &gqlerror.Error{
			Message:    fmt.Sprintf("too many errors: %d more not shown", more),
			Extensions: map[string]any{"code": string(code), "reason": "TOO_MANY_ERRORS"},
		})
	}
	return resp
}

func tooCostly(field, format string, args ...any) *gqlerror.Error {
	return &gqlerror.Error{
		Message:    fmt.Sprintf(format, args...),
		Extensions: map[string]any{"code": string(errcode.Validation), "field": field, "reason": "QUERY_TOO_COSTLY"},
	}
}

// CheckDocument returns the first limit the document breaks, as a VALIDATION error, in time
// linear in the document: fragment sizes are computed once each, and the expanded operations
// are walked only once they are known to fit the selection limit.
func CheckDocument(doc *ast.QueryDocument, l Limits) *errcode.Error {
	e, _ := checkDocument(doc, l)
	return e
}

// checkDocument is CheckDocument that also returns the selections it visited, for tests that
// hold it to linear work.
func checkDocument(doc *ast.QueryDocument, l Limits) (*errcode.Error, int) {
	c := docCheck{doc: doc, limits: l, size: map[string]int{}, state: map[string]int8{}}
	e := c.check()
	return e, c.steps
}

func (c *docCheck) check() *errcode.Error {
	doc, l := c.doc, c.limits
	if e := c.countWritten(); e != nil {
		return e
	}
	total := 0
	for _, op := range doc.Operations {
		n, e := c.setSize(op.SelectionSet)
		if e != nil {
			return e
		}
		if total = sat(total+n, l.Selections); total > l.Selections {
			return errcode.Invalid("query", "the document has more than %d selections (fields and fragment spreads) once its fragments are expanded", l.Selections)
		}
	}
	for _, f := range doc.Fragments {
		// Fragments no operation uses are validated by gqlparser all the same.
		if _, e := c.fragmentSize(f.Name); e != nil {
			return e
		}
	}
	used := map[string]bool{}
	for _, op := range doc.Operations {
		paths := map[string]int{}
		c.walkPaths(op.SelectionSet, "", paths, used)
		sum := 0
		for _, k := range paths {
			sum += k * k
		}
		if sum > l.Overlap {
			return errcode.Invalid("query", "the document asks for the same fields too many times over (%d pairs to compare; the limit is %d)", sum, l.Overlap)
		}
	}
	for _, f := range doc.Fragments {
		if !used[f.Name] {
			// gqlparser would refuse it too (NoUnusedFragments), after validating it in full.
			return errcode.Invalid("query", "fragment %s is never used", f.Name)
		}
	}
	return nil
}

type docCheck struct {
	doc    *ast.QueryDocument
	limits Limits
	size   map[string]int  // expanded selections of each fragment, saturated at the limit + 1
	state  map[string]int8 // 1 while a fragment is being sized, 2 once sized
	steps  int             // selections visited, all passes together
}

// sat adds nothing past limit + 1, so sizes of 2^39 never overflow.
func sat(n, limit int) int { return min(n, limit+1) }

// countWritten counts aliases and directives as written, without expanding anything.
func (c *docCheck) countWritten() *errcode.Error {
	aliases, directives := 0, 0
	var walk func(ast.SelectionSet)
	walk = func(set ast.SelectionSet) {
		for _, s := range set {
			c.steps++
			switch s := s.(type) {
			case *ast.Field:
				if s.Alias != "" && s.Alias != s.Name {
					aliases++
				}
				directives += len(s.Directives)
				walk(s.SelectionSet)
			case *ast.FragmentSpread:
				directives += len(s.Directives)
			case *ast.InlineFragment:
				directives += len(s.Directives)
				walk(s.SelectionSet)
			}
		}
	}
	for _, op := range c.doc.Operations {
		directives += len(op.Directives)
		for _, v := range op.VariableDefinitions {
			directives += len(v.Directives)
		}
		walk(op.SelectionSet)
	}
	for _, f := range c.doc.Fragments {
		directives += len(f.Directives)
		walk(f.SelectionSet)
	}
	switch {
	case aliases > c.limits.Aliases:
		return errcode.Invalid("query", "the document has %d aliases; the limit is %d", aliases, c.limits.Aliases)
	case directives > c.limits.Directives:
		return errcode.Invalid("query", "the document has %d directives; the limit is %d", directives, c.limits.Directives)
	}
	return nil
}

// setSize is the number of fields a selection set stands for, fragments expanded.
func (c *docCheck) setSize(set ast.SelectionSet) (int, *errcode.Error) {
	n := 0
	for _, s := range set {
		c.steps++
		var k int
		var e *errcode.Error
		switch s := s.(type) {
		case *ast.Field:
			k, e = c.setSize(s.SelectionSet)
		case *ast.FragmentSpread:
			k, e = c.fragmentSize(s.Name)
		case *ast.InlineFragment:
			k, e = c.setSize(s.SelectionSet)
		}
		if e != nil {
			return 0, e
		}
		// Spreads and inline fragments count as well as fields, so that the walk of the
		// expansion below is bounded by the limit even for chains of one-spread fragments.
		n = sat(n+k+1, c.limits.Selections)
	}
	return n, nil
}

func (c *docCheck) fragmentSize(name string) (int, *errcode.Error) {
	switch c.state[name] {
	case 1:
		return 0, errcode.Invalid("query", "fragment %s spreads itself", name)
	case 2:
		return c.size[name], nil
	}
	f := c.doc.Fragments.ForName(name)
	if f == nil {
		return 0, nil // gqlparser reports the unknown fragment
	}
	c.state[name] = 1
	n, e := c.setSize(f.SelectionSet)
	if e != nil {
		return 0, e
	}
	if n > c.limits.Selections {
		return 0, errcode.Invalid("query", "fragment %s has more than %d selections once expanded", name, c.limits.Selections)
	}
	c.state[name], c.size[name] = 2, n
	return n, nil
}

// walkPaths counts the fields at each response path of an expanded selection set, the way the
// overlap rule merges them: a fragment's fields answer at the level it is spread into.
func (c *docCheck) walkPaths(set ast.SelectionSet, prefix string, paths map[string]int, used map[string]bool) {
	for _, s := range set {
		c.steps++
		switch s := s.(type) {
		case *ast.Field:
			name := s.Alias
			if name == "" {
				name = s.Name
			}
			p := prefix + "." + name
			paths[p]++
			c.walkPaths(s.SelectionSet, p, paths, used)
		case *ast.FragmentSpread:
			used[s.Name] = true
			if f := c.doc.Fragments.ForName(s.Name); f != nil {
				c.walkPaths(f.SelectionSet, prefix, paths, used)
			}
		case *ast.InlineFragment:
			c.walkPaths(s.SelectionSet, prefix, paths, used)
		}
	}
}
