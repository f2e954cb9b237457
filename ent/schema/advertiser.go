package schema

import (
	"context"
	"strings"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Advertiser is a brand whose offers an account publishes.
type Advertiser struct{ ent.Schema }

// Annotations of the Advertiser.
func (Advertiser) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.QueryField(),
		entgql.RelayConnection(),
		schema.Comment("A brand (advertiser) whose offers the account publishes."),
	}
}

// Mixin of the Advertiser.
func (Advertiser) Mixin() []ent.Mixin { return []ent.Mixin{TenantMixin{}, TimeMixin{}} }

// Fields of the Advertiser.
func (Advertiser) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").NotEmpty().MaxLen(200).Comment("The brand's name.").
			Annotations(entgql.OrderField("NAME")),
		field.String("website").Optional().MaxLen(2048).Comment("The brand's website."),
		field.String("contact_name").Optional().MaxLen(200).Comment("Who to talk to at the brand."),
		field.String("contact_email").Optional().MaxLen(320).Comment("That person's email address."),
		field.Text("notes").Optional().Comment("Free-form notes for the account's team."),
		field.String("name_key").Default("").
			Comment("The name folded for comparison (trimmed, lower case): unique among the account's unarchived advertisers.").
			Annotations(entgql.Skip()),
		field.Time("archived_at").Optional().Nillable().
			Comment("When the brand was archived: hidden from `advertisers` unless its `where` asks about archivedAt; kept for history."),
	}
}

// AdvertiserNameKey folds a brand's name so that "Acme", "ACME" and " acme " are one name.
func AdvertiserNameKey(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

// Hooks of the Advertiser keep name_key in step with name, in every writer.
func (Advertiser) Hooks() []ent.Hook {
	return []ent.Hook{
		func(next ent.Mutator) ent.Mutator {
			return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
				if name, ok := m.Field("name"); ok {
					if err := m.SetField("name_key", AdvertiserNameKey(name.(string))); err != nil {
						return nil, err
					}
				}
				return next.Mutate(ctx, m)
			})
		},
	}
}

// Edges of the Advertiser.
func (Advertiser) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("offers", Offer.Type).Comment("The brand's offers.").
			Annotations(entgql.RelayConnection()),
	}
}

// Indexes of the Advertiser.
func (Advertiser) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("account_id", "name"),
		// Names are unique per account, ignoring case, among brands not archived; the index and
		// not a lookup enforces it, so two concurrent creates cannot both win.
		index.Fields("account_id", "name_key").Unique().
			Annotations(entsql.IndexWhere("archived_at IS NULL")).StorageKey("advertisers_account_name_key"),
	}
}
