// Package scalars reads the GraphQL scalars that gqlgen and entgql would otherwise read with
// untyped errors (ID, Time, Cursor): a bad value is the client's VALIDATION error, which the
// error presenter names by its argument or input path, never an INTERNAL one.
package scalars

import (
	"encoding/json"
	"strconv"
	"time"

	"entgo.io/contrib/entgql"
	"github.com/99designs/gqlgen/graphql"

	"github.com/gokart/gokart/internal/errcode"
)

// invalid is a VALIDATION error whose field the error presenter fills in from the path.
func invalid(msg string) error { return &errcode.Error{Code: errcode.Validation, Message: msg} }

// MarshalIntID writes an id as a string of digits, as gqlgen does.
func MarshalIntID(id int) graphql.Marshaler { return graphql.MarshalIntID(id) }

const badID = "must be an id this server handed out, such as \"42\""

// UnmarshalIntID reads an id given as a string of digits or as an integer. Exponents, signs,
// spaces and values beyond int64 are refused, not reinterpreted.
func UnmarshalIntID(v any) (int, error) {
	var s string
	switch t := v.(type) {
	case string:
		s = t
	case json.Number:
		s = string(t)
	case int:
		return t, nil
	case int64:
		return int(t), nil
	default:
		return 0, invalid(badID)
	}
	if s == "" || len(s) > 19 {
		return 0, invalid(badID)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, invalid(badID)
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, invalid(badID)
	}
	return int(n), nil
}

// MarshalTime writes an instant in RFC 3339, as gqlgen does.
func MarshalTime(t time.Time) graphql.Marshaler { return graphql.MarshalTime(t) }

// UnmarshalTime reads what gqlgen's Time reads (RFC 3339, with or without fractions of a
// second), with a typed error for anything else.
func UnmarshalTime(v any) (time.Time, error) {
	t, err := graphql.UnmarshalTime(v)
	if err != nil {
		return time.Time{}, invalid("must be a time in RFC 3339 form such as 2026-12-05T00:00:00Z")
	}
	return t, nil
}

// MarshalCursor writes an entgql cursor.
func MarshalCursor(c entgql.Cursor[int]) graphql.Marshaler { return c }

// UnmarshalCursor reads a cursor that a connection handed out (its edges' cursor, or pageInfo's
// startCursor and endCursor).
func UnmarshalCursor(v any) (entgql.Cursor[int], error) {
	var c entgql.Cursor[int]
	if err := c.UnmarshalGQL(v); err != nil {
		return c, invalid("must be a cursor from this connection's edges or pageInfo")
	}
	return c, nil
}
