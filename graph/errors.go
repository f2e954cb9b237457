package graph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/schema"
	"github.com/gokart/gokart/internal/accounts"
	"github.com/gokart/gokart/internal/errcode"
)

// nodeError turns every way of not finding a node (unknown id range, another account's row,
// a deleted row) into the same NOT_FOUND, so ids reveal nothing about other accounts.
func nodeError(id int, err error) error {
	if err == nil {
		return nil
	}
	// Ent's noder reports an id outside every type's range with an untyped fmt error, so its
	// text is all there is to match; our own errors are typed.
	if ent.IsNotFound(err) || strings.Contains(err.Error(), "noder") || strings.Contains(err.Error(), "invalid ID") {
		return errcode.New(errcode.NotFound, "no node with id %d", id)
	}
	return err
}

// ErrorPresenter puts a machine-readable `extensions.code` on every error and, for validation,
// the field at fault. Anything that is not a known client error is logged and shown as a
// generic INTERNAL error, so internals never leak.
func ErrorPresenter(log *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		gerr := graphql.DefaultErrorPresenter(ctx, err)
		if gerr.Extensions == nil {
			gerr.Extensions = map[string]any{}
		}
		// Errors of the request itself (parse, validation, variable coercion) come from gqlgen
		// with their own codes.
		// The complexity limit's own code becomes VALIDATION too; APQ's PERSISTED_QUERY_NOT_FOUND
		// stays, because Apollo clients retry with the full query only on that code.
		if c, ok := gerr.Extensions["code"].(string); ok && (strings.HasPrefix(c, "GRAPHQL_") || c == "COMPLEXITY_LIMIT_EXCEEDED") {
			gerr.Extensions["code"] = string(errcode.Validation)
			gerr.Extensions["reason"] = c
			return gerr
		}
		var e *errcode.Error
		switch {
		case errors.As(err, &e):
			gerr.Message = e.Message
			gerr.Extensions["code"] = string(e.Code)
			field := e.Field
			if field == "" {
				// A scalar that refused its value (graph/scalars, money.Micros) knows only the
				// value; where it sat is the part of the path below the field being resolved.
				field = argumentPath(ctx, gerr.Path)
			}
			if field != "" {
				gerr.Extensions["field"] = field
			}
			if e.Step != "" {
				gerr.Extensions["step"] = e.Step
			}
			if e.Code == errcode.Validation || e.Code == errcode.NotFound {
				log.InfoContext(ctx, "graphql client error", "code", e.Code, "field", field, "path", gerr.Path.String())
			}
		case ent.IsNotFound(err):
			gerr.Message = "not found"
			gerr.Extensions["code"] = string(errcode.NotFound)
		case ent.IsConstraintError(err):
			gerr.Message = "conflicts with existing data"
			gerr.Extensions["code"] = string(errcode.Conflict)
		case ent.IsValidationError(err):
			var ve *ent.ValidationError
			errors.As(err, &ve)
			gerr.Message = ve.Error()
			gerr.Extensions["code"] = string(errcode.Validation)
			gerr.Extensions["field"] = ve.Name
		case errors.Is(err, accounts.ErrUnauthenticated), errors.Is(err, schema.ErrNoViewer):
			gerr.Message = accounts.ErrUnauthenticated.Error()
			gerr.Extensions["code"] = string(errcode.Unauthenticated)
		case strings.HasSuffix(err.Error(), "introspection disabled"): // gqlgen's errors.New, no sentinel
			gerr.Message = "introspection is turned off on this server (INTROSPECTION=false)"
			gerr.Extensions["code"] = string(errcode.Forbidden)
		case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
			gerr.Message = "request cancelled or timed out"
			gerr.Extensions["code"] = string(errcode.Internal)
		default:
			var inner *gqlerror.Error
			if errors.As(err, &inner) && inner.Extensions["code"] != nil && err == error(inner) {
				return gerr // already shaped by gqlgen (e.g. complexity limit)
			}
			log.ErrorContext(ctx, "graphql resolver failed", "err", err, "path", gerr.Path.String())
			gerr.Message = "internal error"
			gerr.Extensions["code"] = string(errcode.Internal)
		}
		return gerr
	}
}

// Recover turns a panic in a resolver into an INTERNAL error and logs it.
func Recover(log *slog.Logger) graphql.RecoverFunc {
	return func(ctx context.Context, p any) error {
		log.ErrorContext(ctx, "graphql resolver panicked", "panic", p)
		return errcode.New(errcode.Internal, "internal error")
	}
}

// argumentPath is the argument or input path of an error raised while gqlgen read a field's
// arguments: its path minus the field's own, as "where.createdAtGTE" or "input.events[1].payout".
func argumentPath(ctx context.Context, p ast.Path) string {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil {
		return ""
	}
	base := fc.Path()
	if len(p) <= len(base) {
		return ""
	}
	for i := range base {
		if base[i] != p[i] {
			return ""
		}
	}
	var b strings.Builder
	for _, el := range p[len(base):] {
		switch el := el.(type) {
		case ast.PathName:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(string(el))
		case ast.PathIndex:
			fmt.Fprintf(&b, "[%d]", int(el))
		}
	}
	return b.String()
}
