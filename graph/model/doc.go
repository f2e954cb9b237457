// Package model holds the GraphQL types that gqlgen generates for schema types without an Ent counterpart.
package model
