// Package inlist writes "column is one of these values" as SQL whose text is the same for any
// number of values, so a statement stays one prepared statement (and one cached plan) however
// many values a call has: an array on PostgreSQL (= ANY), a JSON array on SQLite (json_each).
package inlist

import (
	"encoding/json"

	"entgo.io/ent/dialect"
	"github.com/lib/pq"
)

// Ints is column's condition of being one of ids; arg adds an argument and names it ($n).
func Ints(dialectName, column string, arg func(any) string, ids []int64) string {
	if dialectName == dialect.Postgres {
		return column + " = ANY(CAST(" + arg(pq.Array(ids)) + " AS BIGINT[]))"
	}
	return column + " IN (SELECT value FROM json_each(" + arg(jsonText(ids)) + "))"
}

// Texts is Ints for texts.
func Texts(dialectName, column string, arg func(any) string, texts []string) string {
	if dialectName == dialect.Postgres {
		return column + " = ANY(CAST(" + arg(pq.Array(texts)) + " AS TEXT[]))"
	}
	return column + " IN (SELECT value FROM json_each(" + arg(jsonText(texts)) + "))"
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // ints and strings always marshal
	}
	return string(b)
}
