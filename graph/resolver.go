// Package graph resolves the GraphQL API; resolvers translate and call the domain packages.
package graph

import (
	"github.com/99designs/gqlgen/graphql"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/graph/generated"
	"github.com/gokart/gokart/internal/offerwall"
)

// Resolver is the root of every resolver; it holds what they share.
type Resolver struct {
	client  *ent.Client
	dialect string
	baseURL string
	catalog *offerwall.Catalog
}

// NewSchema builds the executable schema over an Ent client of the database dialectName
// (entgo.io/ent/dialect names), and the root field middleware that renders the offerwall feed
// (Resolver.RenderOfferwall) for the server to install. baseURL prefixes the click and
// postback URLs handed out; the offerwall's pages read the accounts' offers from catalog (nil:
// from the database).
func NewSchema(client *ent.Client, dialectName, baseURL string, catalog *offerwall.Catalog) (graphql.ExecutableSchema, graphql.RootFieldMiddleware) {
	r := &Resolver{client: client, dialect: dialectName, baseURL: baseURL, catalog: catalog}
	return generated.NewExecutableSchema(generated.Config{
		Resolvers:  r,
		Complexity: withCallbackComplexity(complexity()),
	}), r.RenderOfferwall
}
