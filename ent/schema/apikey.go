package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// APIKey authenticates GraphQL requests as its account. Only a hash is stored: the key itself
// is shown once, when it is made.
type APIKey struct{ ent.Schema }

// Annotations of the APIKey.
func (APIKey) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.Skip(entgql.SkipAll),
		schema.Comment("A revocable API key of an account."),
	}
}

// Mixin of the APIKey.
func (APIKey) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Fields of the APIKey.
func (APIKey) Fields() []ent.Field {
	return []ent.Field{
		field.Int("account_id").Immutable().Comment("The account the key authenticates as."),
		field.String("name").Default("default").MaxLen(200).Comment("A label for people."),
		field.String("prefix").Immutable().Comment("The first characters of the key, to tell keys apart."),
		field.Bytes("hash").Immutable().Unique().Sensitive().Comment("SHA-256 of the key."),
		field.Bool("publishable").Default(false).Immutable().
			Comment("A publishable key (gk_pub_…) may only read the offerwall feed."),
		field.Time("last_used_at").Optional().Nillable().
			Comment("When the key last authenticated a request, to the minute (updated at most once a minute)."),
		field.Time("revoked_at").Optional().Nillable().Comment("When the key was revoked."),
	}
}

// Edges of the APIKey.
func (APIKey) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("account", Account.Type).Ref("api_keys").Field("account_id").Unique().Required().Immutable(),
	}
}

// Indexes of the APIKey.
func (APIKey) Indexes() []ent.Index {
	return []ent.Index{index.Fields("account_id")}
}
