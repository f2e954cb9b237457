package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
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
	return []ent.Index{index.Fields("account_id", "name")}
}
