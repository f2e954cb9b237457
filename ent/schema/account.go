package schema

import (
	"context"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/sql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"

	"github.com/gokart/gokart/ent/intercept"
	"github.com/gokart/gokart/internal/lifecycle"
	"github.com/gokart/gokart/internal/viewer"
)

// Account is the tenant: a company using gokart. Everything else belongs to one account.
type Account struct{ ent.Schema }

// Annotations of the Account.
func (Account) Annotations() []schema.Annotation {
	return []schema.Annotation{
		schema.Comment("An account (tenant) of gokart: a company that publishes offers. The `viewer` is the account of the API key in use."),
	}
}

// Mixin of the Account.
func (Account) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Fields of the Account.
func (Account) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").NotEmpty().MaxLen(200).Comment("The account's display name."),
		field.String("postback_key").NotEmpty().Unique().Sensitive().
			Comment("Secret that networks send as `key` on every postback; rotatable."),
		field.String("time_zone").Default("UTC").
			Comment("IANA time zone in which reports draw day boundaries, e.g. `Europe/Berlin`."),
		field.Strings("postback_allowlist").Optional().
			Comment("CIDR ranges allowed to send postbacks; empty allows any address.").
			Annotations(entgql.Skip(entgql.SkipWhereInput)),
		field.String("fallback_url").Optional().MaxLen(2048).
			Comment("Where members are sent when a click is refused (offer paused, ended or out of budget); empty shows the refusal instead.").
			Annotations(entgql.MapsTo("fallbackURL"), entgql.Skip(entgql.SkipWhereInput)),
		autoApproveAfter("How long a PENDING conversion waits before gokart approves it (maturing, history source AUTO), for networks such as Impact that never send an approval; an offer's own period wins. Null: never."),
	}
}

// autoApproveAfter is a maturing period (lifecycle.Period, whole seconds; "30d" in GraphQL).
func autoApproveAfter(comment string) ent.Field {
	return field.Int64("auto_approve_after").GoType(lifecycle.Period(0)).Optional().Nillable().
		Comment(comment).Annotations(entgql.Type("Duration"), entgql.Skip(entgql.SkipWhereInput))
}

// Interceptors of the Account: an account sees only itself, so `node(id:)` with another
// account's id reads as not found.
func (Account) Interceptors() []ent.Interceptor {
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
				return err
			}
			wq.WhereP(sql.FieldEQ("id", v.AccountID))
			return nil
		}),
	}
}

// Hooks of the Account: accounts are made by the system (CLI); an account may change only itself.
func (Account) Hooks() []ent.Hook {
	return []ent.Hook{
		func(next ent.Mutator) ent.Mutator {
			return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
				v, ok := viewer.FromContext(ctx)
				if !ok || !v.System && m.Op().Is(ent.OpCreate) {
					return nil, ErrNoViewer
				}
				if !v.System {
					m.(interface{ WhereP(...func(*sql.Selector)) }).WhereP(sql.FieldEQ("id", v.AccountID))
				}
				return next.Mutate(ctx, m)
			})
		},
	}
}

// Edges of the Account.
func (Account) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("api_keys", APIKey.Type).Annotations(entgql.Skip()).
			Comment("The API keys that authenticate as this account."),
	}
}
