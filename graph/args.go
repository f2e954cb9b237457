package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"

	"github.com/gokart/gokart/internal/errcode"
)

// CheckArguments is a field middleware for argument rules that span two arguments, checked
// before any resolver runs: a connection pages forward (first/after) or backward (last/before),
// never both at once. entgql would refuse first with last too, but with an untyped error that
// the client would see as INTERNAL.
func CheckArguments(ctx context.Context, next graphql.Resolver) (any, error) {
	fc := graphql.GetFieldContext(ctx)
	if fc != nil && fc.Args != nil {
		first, _ := fc.Args["first"].(*int)
		last, _ := fc.Args["last"].(*int)
		if first != nil && last != nil {
			return nil, errcode.Invalid("last", "give first (with after) or last (with before), not both")
		}
	}
	return next(ctx)
}
