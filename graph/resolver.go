// Package graph resolves the GraphQL API; resolvers translate and call the domain packages.
package graph

import (
	"github.com/99designs/gqlgen/graphql"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/graph/generated"
)

// Resolver is the root of every resolver; it holds what they share.
type Resolver struct {
	client  *ent.Client
	baseURL string
}

// NewSchema builds the executable schema over an Ent client. baseURL prefixes the click and
// postback URLs handed out.
func NewSchema(client *ent.Client, baseURL string) graphql.ExecutableSchema {
	return generated.NewExecutableSchema(generated.Config{
		Resolvers:  &Resolver{client: client, baseURL: baseURL},
		Complexity: withCallbackComplexity(complexity()),
	})
}
