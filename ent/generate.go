// Package ent is the generated data layer; the schemas in ent/schema are the source of truth.
package ent

//go:generate go run entc.go describe.go
