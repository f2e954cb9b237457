package httpapi

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/gokart/gokart/internal/errcode"
)

// persistedQueries is gqlgen's automatic persisted queries with a code on every error: gqlgen
// gives only "not found" a code (which Apollo clients answer by sending the full query), and
// leaves a bad hash, a hash that does not match the query and an unknown version without one.
type persistedQueries struct {
	extension.AutomaticPersistedQuery
}

var _ graphql.OperationParameterMutator = persistedQueries{}

func (p persistedQueries) MutateOperationParameters(ctx context.Context, raw *graphql.RawParams) *gqlerror.Error {
	err := p.AutomaticPersistedQuery.MutateOperationParameters(ctx, raw)
	if err != nil && err.Extensions["code"] == nil {
		if err.Extensions == nil {
			err.Extensions = map[string]any{}
		}
		err.Extensions["code"] = string(errcode.Validation)
		err.Extensions["field"] = "extensions.persistedQuery"
	}
	return err
}
