package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/gokart/gokart/internal/catalogue"
	"github.com/gokart/gokart/internal/lifecycle"
)

// Conversion is one completed event reported by a network, attributed to a click.
type Conversion struct{ ent.Schema }

// Annotations of the Conversion.
func (Conversion) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.QueryField(),
		entgql.RelayConnection(),
		schema.Comment("A conversion: an event completed by a member, reported by the network and attributed to a click, offer and event."),
	}
}

// Mixin of the Conversion.
func (Conversion) Mixin() []ent.Mixin { return []ent.Mixin{TenantMixin{}, TimeMixin{}} }

// Fields of the Conversion.
func (Conversion) Fields() []ent.Field {
	return []ent.Field{
		field.Int("click_id").Immutable().Comment("The attributed click."),
		field.Int("offer_id").Immutable().Comment("The converted offer."),
		field.Int("offer_event_id").Immutable().Comment("The converted event."),
		field.Enum("integration_system").GoType(catalogue.Code("")).Immutable().
			Comment("The network that reported the conversion; part of the idempotency key.").
			Annotations(entgql.Skip()),
		field.String("network_conversion_id").Optional().Nillable().MaxLen(MaxIDLength).
			Comment("The network's id of the action (`cnv_conversion_id`); unique per account and network. " +
				"Set once: a first report without it takes the id of the first update that names it."),
		field.Enum("status").GoType(lifecycle.Status("")).
			Comment("PENDING, APPROVED, REVERSED, or REJECTED by one of our rules.").
			Annotations(entgql.OrderField("STATUS"), entgql.Type("ConversionStatus")),
		field.String("reason").Optional().MaxLen(MaxReasonLength).Comment("Why the status is what it is, e.g. the rule that rejected it."),
		moneyField("payout", "What the conversion pays, in `currency`."),
		optionalMoney("amount", "The sale amount reported by the network, for revenue-share offers."),
		field.String("currency").MinLen(3).MaxLen(3).Comment("ISO 4217 currency of payout and amount."),
		field.String("reported_currency").Optional().Nillable().MaxLen(3).
			Comment("The network's cnv_currency when it differs from the offer's currency: amount is then in this currency, not in `currency`, and is never summed with others unconverted."),
		field.String("pub_member_id").Optional().MaxLen(MaxIDLength).Comment("The member, copied from the click."),
		field.JSON("extras", map[string]string{}).Optional().
			Comment("Optional extras from the postback: cnv_user_id, cnv_email, cnv_conversion_ip_address, cnv_sub_1..5.").
			Annotations(entgql.Skip()),
		field.String("repeat_key").Default("").MaxLen(MaxIDLength).Immutable().
			Comment("The network conversion id when the event allows repeats, else empty: with the click and event, the conversion's identity, " +
				"so that an event without repeats converts once per click (one empty key) and one with repeats once per network id. " +
				"A refused repeat (REJECTED, reason repeat_conversion) keeps its network id here too, out of the one-per-click identity.").
			Annotations(entgql.Skip()),
		field.Int("budget_shard").Optional().Nillable().
			Comment("The budget shard the payout was charged to while the conversion counts; null when nothing is charged.").
			Annotations(entgql.Skip()),
		field.Strings("charged_counters").Optional().
			Comment("The period counters (caps, daily budget) the conversion was charged to, for an exact release.").
			Annotations(entgql.Skip()),
		field.Bool("test").Default(false).Immutable().
			Comment("A conversion of a test click: never charged to budgets or caps, never counted in reports; its callbacks say test."),
	}
}

// Edges of the Conversion.
func (Conversion) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("click", Click.Type).Ref("conversions").Field("click_id").Unique().Required().Immutable().
			Comment("The attributed click."),
		edge.From("offer", Offer.Type).Ref("conversions").Field("offer_id").Unique().Required().Immutable().
			Comment("The converted offer."),
		edge.From("event", OfferEvent.Type).Ref("conversions").Field("offer_event_id").Unique().Required().Immutable().
			Comment("The converted event."),
		edge.To("history", ConversionStatusChange.Type).Comment("Status changes, oldest first."),
		edge.To("postback_logs", PostbackLog.Type).Comment("Postbacks that touched this conversion.").
			Annotations(entgql.Skip()),
	}
}

// Indexes of the Conversion: a network's conversion id, or else the click, event and repeat
// key, make a conversion once.
func (Conversion) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("account_id", "integration_system", "network_conversion_id").Unique(),
		index.Fields("account_id", "click_id", "offer_event_id", "repeat_key").Unique(),
		index.Fields("account_id", "created_at"),
		index.Fields("account_id", "offer_id", "created_at"),
		index.Fields("account_id", "offer_event_id", "created_at"),
		index.Fields("account_id", "offer_id", "pub_member_id"),
		// Maturing finds an offer's PENDING conversions older than its period (postback.Mature).
		index.Fields("account_id", "offer_id", "status", "created_at"),
	}
}
