//go:build ignore

package main

import (
	"fmt"
	"log"

	"entgo.io/contrib/entgql"
	"entgo.io/ent/entc"
	"entgo.io/ent/entc/gen"
	"github.com/vektah/gqlparser/v2/ast"
)

// Ent runs first: it writes the Go data layer and schema/ent.graphql, which gqlgen then reads.
func main() {
	ex, err := entgql.NewExtension(
		entgql.WithConfigPath("../gqlgen.yml"),
		entgql.WithSchemaGenerator(),
		entgql.WithSchemaPath("../schema/ent.graphql"),
		entgql.WithWhereInputs(true),
		entgql.WithNodeDescriptor(true),
		entgql.WithSchemaHook(describeAll),
	)
	if err != nil {
		log.Fatalf("creating entgql extension: %v", err)
	}
	err = entc.Generate("./schema", &gen.Config{
		Features: []gen.Feature{
			gen.FeatureIntercept,
			gen.FeatureGlobalID,
			gen.FeatureVersionedMigration,
			gen.FeatureUpsert,
			gen.FeatureLock,
			gen.FeatureModifier,
			gen.FeatureExecQuery,
		},
	}, entc.Extensions(ex))
	if err != nil {
		log.Fatalf("running ent codegen: %v", err)
	}
}

// describeTypes gives every generated object type the schema.Comment of its Ent schema, so the
// playground documents the data model in the words of the schemas, the single source of truth.
func describeTypes(g *gen.Graph, s *ast.Schema) error {
	for _, n := range g.Nodes {
		def, ok := s.Types[n.Name]
		if !ok || def.Description != "" {
			continue
		}
		c, ok := n.Annotations["Comment"].(map[string]any)
		if !ok || c["Text"] == "" {
			return fmt.Errorf("schema %s has no schema.Comment annotation: every GraphQL type needs a description", n.Name)
		}
		def.Description = fmt.Sprint(c["Text"])
	}
	return nil
}
