package schema

import (
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Click is a member's click on an offer card, forwarded to the network with a fresh gk_click_id.
type Click struct{ ent.Schema }

// Annotations of the Click.
func (Click) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.QueryField(),
		entgql.RelayConnection(),
		schema.Comment("A member's click on an offer, forwarded to the network's tracking link with a new `gk_click_id`."),
	}
}

// Mixin of the Click.
func (Click) Mixin() []ent.Mixin { return []ent.Mixin{TenantMixin{}} }

func optionalString(name string, max int, comment string) ent.Field {
	return field.String(name).Optional().MaxLen(max).Comment(comment)
}

// Fields of the Click.
func (Click) Fields() []ent.Field {
	return []ent.Field{
		field.String("gk_click_id").NotEmpty().MaxLen(MaxClickIDLength).Immutable().
			Comment("Our click id, sent to the network and echoed back in postbacks; unique in the account.").
			Annotations(entgql.Type("String")),
		field.Int("offer_id").Immutable().Comment("The clicked offer."),
		optionalString("pub_member_id", MaxIDLength, "The publisher's id of the member who clicked."),
		optionalString("pub_click_id", MaxIDLength, "The publisher's own click id."),
		optionalString("pub_sub_1", MaxIDLength, "Publisher sub-parameter 1."),
		optionalString("pub_sub_2", MaxIDLength, "Publisher sub-parameter 2."),
		optionalString("pub_sub_3", MaxIDLength, "Publisher sub-parameter 3."),
		optionalString("pub_sub_4", MaxIDLength, "Publisher sub-parameter 4."),
		optionalString("pub_sub_5", MaxIDLength, "Publisher sub-parameter 5."),
		optionalString("ip", MaxSourceIPLength, "The client's IP address."),
		optionalString("user_agent", MaxUserAgentLength, "The client's User-Agent header."),
		field.Time("created_at").Default(time.Now).Immutable().Comment("When the click happened.").
			Annotations(entgql.OrderField("CREATED_AT")),
	}
}

// Edges of the Click.
func (Click) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("offer", Offer.Type).Ref("clicks").Field("offer_id").Unique().Required().Immutable().
			Comment("The clicked offer."),
		edge.To("conversions", Conversion.Type).Comment("Conversions attributed to this click."),
	}
}

// Indexes of the Click.
func (Click) Indexes() []ent.Index {
	return []ent.Index{
		// A postback finds its click inside the account of its key.
		index.Fields("account_id", "gk_click_id").Unique(),
		index.Fields("account_id", "created_at"),
		index.Fields("account_id", "offer_id", "created_at"),
	}
}
