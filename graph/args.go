package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/gokart/gokart/internal/errcode"
)

// PagingArguments refuses, once per operation, a connection field given both first and last:
// a connection pages forward (first/after) or backward (last/before), never both at once.
// entgql would refuse it too, but with an untyped error the client would see as INTERNAL. It
// walks the operation once, with its variables, rather than being a field middleware: a field
// middleware runs for every field of every response (each of the 50 cards of an offerwall
// page, and each of their fields), and costs there even when no field has arguments.
type PagingArguments struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = PagingArguments{}

// ExtensionName names the extension for gqlgen.
func (PagingArguments) ExtensionName() string { return "GokartPagingArguments" }

// Validate accepts every schema.
func (PagingArguments) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationContext checks the operation about to run.
func (PagingArguments) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	seen := map[string]bool{}
	return firstWithLast(oc.Doc, oc.Operation.SelectionSet, oc.Variables, ast.Path{}, seen)
}

// firstWithLast walks set, each fragment once (validation has already refused cycles), and
// returns the first field given both first and last.
func firstWithLast(doc *ast.QueryDocument, set ast.SelectionSet, vars map[string]any, path ast.Path, seen map[string]bool) *gqlerror.Error {
	for _, s := range set {
		var err *gqlerror.Error
		switch s := s.(type) {
		case *ast.Field:
			name := s.Alias
			if name == "" {
				name = s.Name
			}
			at := append(path[:len(path):len(path)], ast.PathName(name))
			if given(s.Arguments.ForName("first"), vars) && given(s.Arguments.ForName("last"), vars) {
				e := &gqlerror.Error{
					Message:    "give first (with after) or last (with before), not both",
					Path:       at,
					Extensions: map[string]any{"code": string(errcode.Validation), "field": "last"},
				}
				if s.Position != nil {
					e.Locations = []gqlerror.Location{{Line: s.Position.Line, Column: s.Position.Column}}
				}
				return e
			}
			err = firstWithLast(doc, s.SelectionSet, vars, at, seen)
		case *ast.InlineFragment:
			err = firstWithLast(doc, s.SelectionSet, vars, path, seen)
		case *ast.FragmentSpread:
			if !seen[s.Name] {
				seen[s.Name] = true
				if f := doc.Fragments.ForName(s.Name); f != nil {
					err = firstWithLast(doc, f.SelectionSet, vars, path, seen)
				}
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// given is whether an argument is there with a value other than null.
func given(a *ast.Argument, vars map[string]any) bool {
	if a == nil || a.Value == nil {
		return false
	}
	v, err := a.Value.Value(vars)
	return err == nil && v != nil
}
