package schema

import (
	"context"
	"errors"
	"fmt"
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/sql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/mixin"

	"github.com/gokart/gokart/ent/intercept"
	"github.com/gokart/gokart/internal/viewer"
)

// ErrNoViewer is returned when tenant data is touched by a context that carries no viewer:
// failing closed is better than leaking another account's rows.
var ErrNoViewer = errors.New("no viewer in context: tenant data needs an account or the system viewer")

// TimeMixin records when a row was made and last changed.
type TimeMixin struct{ mixin.Schema }

// Fields of the TimeMixin.
func (TimeMixin) Fields() []ent.Field {
	return []ent.Field{
		field.Time("created_at").Default(time.Now).Immutable().
			Comment("When this was created.").
			Annotations(entgql.OrderField("CREATED_AT")),
		field.Time("updated_at").Default(time.Now).UpdateDefault(time.Now).
			Comment("When this was last changed.").
			Annotations(entgql.OrderField("UPDATED_AT")),
	}
}

// TenantMixin puts a row in one account and keeps every query and mutation inside the
// viewer's account, so no resolver can forget the filter. Rows that belong to no account (a
// postback whose key names none) have a table of their own (UnmatchedPostback).
type TenantMixin struct{ mixin.Schema }

// Tenant marks the table of a TenantMixin schema. On PostgreSQL the migration generator
// (migrations/internal/gen) leads the table's primary key, unique keys and foreign keys to
// other tenant tables with account_id, so that the table can be distributed by account
// (Citus) and every lookup by id is a lookup inside one account.
type Tenant struct{}

// Name of the Tenant annotation.
func (Tenant) Name() string { return "Tenant" }

// Annotations of the TenantMixin.
func (TenantMixin) Annotations() []schema.Annotation { return []schema.Annotation{Tenant{}} }

// Fields of the TenantMixin.
func (TenantMixin) Fields() []ent.Field {
	return []ent.Field{field.Int("account_id").Immutable().Comment("The owning account.").
		Annotations(entgql.Skip())}
}

// Edges of the TenantMixin.
func (TenantMixin) Edges() []ent.Edge {
	return []ent.Edge{edge.To("account", Account.Type).Field("account_id").Unique().Required().Immutable().
		Annotations(entgql.Skip())}
}

// Interceptors of the TenantMixin filter every read by the viewer's account.
func (TenantMixin) Interceptors() []ent.Interceptor {
	return []ent.Interceptor{
		ent.TraverseFunc(func(ctx context.Context, q ent.Query) error {
			v, ok := viewer.FromContext(ctx)
			if !ok {
				return ErrNoViewer
			}
			if v.System {
				return nil
			}
			wq, err := intercept.NewQuery(q)
			if err != nil {
				return fmt.Errorf("tenant filter: %w", err)
			}
			wq.WhereP(sql.FieldEQ("account_id", v.AccountID))
			return nil
		}),
	}
}

// tenantMutation is what every generated mutation of a tenant schema offers.
type tenantMutation interface {
	WhereP(...func(*sql.Selector))
	SetAccountID(int)
	AccountID() (int, bool)
}

// Hooks of the TenantMixin stamp new rows with the viewer's account and confine updates and
// deletes to it.
func (TenantMixin) Hooks() []ent.Hook {
	return []ent.Hook{
		func(next ent.Mutator) ent.Mutator {
			return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
				v, ok := viewer.FromContext(ctx)
				if !ok {
					return nil, ErrNoViewer
				}
				tm, ok := m.(tenantMutation)
				if !ok {
					return nil, fmt.Errorf("tenant hook: unexpected mutation type %T", m)
				}
				if v.System {
					return next.Mutate(ctx, m)
				}
				if m.Op().Is(ent.OpCreate) {
					if id, set := tm.AccountID(); set && id != v.AccountID {
						return nil, fmt.Errorf("create %s in account %d: %w", m.Type(), id, ErrNoViewer)
					}
					tm.SetAccountID(v.AccountID)
				} else {
					tm.WhereP(sql.FieldEQ("account_id", v.AccountID))
				}
				return next.Mutate(ctx, m)
			})
		},
	}
}
