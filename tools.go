//go:build tools

// Package tools pins the code generators at the versions in go.mod, so `go generate` runs them
// with `go run` and every machine generates the same code.
package tools

import (
	_ "entgo.io/contrib/entgql"
	_ "entgo.io/ent/cmd/ent"
	_ "github.com/99designs/gqlgen"
)
