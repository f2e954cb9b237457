package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/gokart/gokart/internal/catalogue"
	"github.com/gokart/gokart/internal/money"
	"github.com/gokart/gokart/internal/targeting"
)

// Offer is what members see as an offer card: a brand's action, tracked through one network.
type Offer struct{ ent.Schema }

// Annotations of the Offer.
func (Offer) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.QueryField(),
		entgql.RelayConnection(),
		schema.Comment("An offer: a brand's action that members complete, tracked through an integration system (affiliate network)."),
	}
}

// Mixin of the Offer.
func (Offer) Mixin() []ent.Mixin { return []ent.Mixin{TenantMixin{}, TimeMixin{}} }

// moneyField is an amount in micro-units, a Decimal string in GraphQL; zero by default.
func moneyField(name, comment string) ent.Field {
	return field.Int64(name).GoType(money.Micros(0)).Default(0).Comment(comment).
		Annotations(entgql.Type("Decimal"))
}

// optionalMoney is an amount that may be absent (null means "no limit" or "not reported").
func optionalMoney(name, comment string, ants ...schema.Annotation) ent.Field {
	return field.Int64(name).GoType(money.Micros(0)).Optional().Nillable().Comment(comment).
		Annotations(append([]schema.Annotation{entgql.Type("Decimal")}, ants...)...)
}

func optionalInt(name, comment string) ent.Field {
	return field.Int(name).Optional().Nillable().Positive().Comment(comment)
}

// Fields of the Offer.
func (Offer) Fields() []ent.Field {
	return []ent.Field{
		field.Int("advertiser_id").Optional().Nillable().
			Comment("The brand; set by the wizard's advertiser step."),
		field.String("name").NotEmpty().MaxLen(200).Comment("The offer's internal name.").
			Annotations(entgql.OrderField("NAME")),
		field.Enum("type").Values("SINGLE_EVENT", "MULTI_EVENT").
			Comment("Whether the offer tracks one event or several.").
			Annotations(entgql.Type("OfferType")),
		field.Enum("integration_system").GoType(catalogue.Code("")).
			Comment("The affiliate network that tracks the offer and sends postbacks.").
			Annotations(entgql.Type("IntegrationSystem")),
		field.Enum("status").Values("DRAFT", "ACTIVE", "PAUSED", "ENDED").Default("DRAFT").
			Comment("Lifecycle: DRAFT until published, then ACTIVE, PAUSED or ENDED (final).").
			Annotations(entgql.OrderField("STATUS"), entgql.Type("OfferStatus")),
		field.String("tracking_link").Optional().MaxLen(2048).
			Comment("The network's tracking link as pasted by the brand manager."),
		field.String("click_url_template").Optional().
			Comment("The tracking link with the network's click-id parameter and the `{gk_click_id}` macro appended."),
		field.String("custom_click_id_param").Optional().MaxLen(64).
			Comment("For the CUSTOM integration system: the parameter that carries our click id.").
			Annotations(entgql.MapsTo("customClickIDParameter"), entgql.Skip(entgql.SkipWhereInput)),
		field.JSON("custom_macros", map[string]string{}).Optional().
			Comment("For the CUSTOM integration system: the network's macro for each postback parameter.").
			Annotations(entgql.Skip()),
		// Creative.
		field.String("headline").Optional().MaxLen(200).Comment("The card's headline."),
		field.Text("description").Optional().Comment("The card's body text."),
		field.String("call_to_action").Optional().MaxLen(100).Comment("The card's button label."),
		field.Strings("image_urls").Optional().Comment("Image URLs of the card, first is the main image.").
			Annotations(entgql.MapsTo("imageURLs")),
		field.Text("terms").Optional().Comment("Terms and conditions shown with the offer."),
		// Budget.
		field.String("currency").Default("USD").MinLen(3).MaxLen(3).
			Comment("ISO 4217 currency of budgets and payouts."),
		// GraphQL names them as the wizard's input does (totalBudget, dailyBudget): one spelling
		// per idea. Their where-filters would keep Ent's spelling, so there are none.
		optionalMoney("budget_total", "Total budget for all conversions; null means unlimited.",
			entgql.MapsTo("totalBudget"), entgql.Skip(entgql.SkipWhereInput)),
		optionalMoney("budget_daily", "Budget per day; null means unlimited.",
			entgql.MapsTo("dailyBudget"), entgql.Skip(entgql.SkipWhereInput)),
		moneyField("budget_spent", "Payouts committed so far (pending and approved conversions)."),
		field.Bool("one_completion_per_member").Default(true).
			Comment("Whether a member may complete each event of the offer only once."),
		optionalInt("cap_daily", "Most conversions per day."),
		optionalInt("cap_weekly", "Most conversions per week."),
		optionalInt("cap_monthly", "Most conversions per month."),
		optionalInt("cap_total", "Most conversions in all."),
		// Targeting.
		field.Strings("countries").Optional().Comment("ISO 3166-1 alpha-2 country codes; empty means everywhere."),
		field.JSON("platforms", []targeting.Platform{}).Optional().
			Comment("Platforms the offer is shown on; empty means all.").
			Annotations(entgql.Type("[Platform!]")),
		field.Time("starts_at").Optional().Nillable().Comment("When the offer starts taking clicks."),
		field.Time("ends_at").Optional().Nillable().Comment("When the offer stops taking clicks."),
		field.String("time_zone").Default("UTC").Comment("IANA time zone of the schedule and of daily caps and budgets."),
		field.String("fallback_url").Optional().MaxLen(2048).
			Comment("Where a refused click (not targeted, not active, ended, out of budget or cap) sends the member, with reason=<rule>; empty uses the account's fallbackURL, and with neither the click answers 410.").
			Annotations(entgql.MapsTo("fallbackURL"), entgql.Skip(entgql.SkipWhereInput)),
		autoApproveAfter("How long a PENDING conversion of this offer waits before gokart approves it (maturing, history source AUTO); null uses the account's autoApproveAfter."),
		field.Time("published_at").Optional().Nillable().Comment("When the offer was first published."),
		field.Time("archived_at").Optional().Nillable().
			Comment("When the offer was archived (a draft or an ended offer put away): hidden from `offers` unless its `where` asks about archivedAt; kept for history."),
	}
}

// Edges of the Offer.
func (Offer) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("advertiser", Advertiser.Type).Ref("offers").Field("advertiser_id").Unique().
			Comment("The brand behind the offer."),
		edge.To("events", OfferEvent.Type).Comment("The offer's events in card order."),
		edge.To("clicks", Click.Type).Comment("Clicks on the offer.").
			Annotations(entgql.RelayConnection()),
		edge.To("conversions", Conversion.Type).Comment("Conversions of the offer.").
			Annotations(entgql.RelayConnection()),
	}
}

// Indexes of the Offer.
func (Offer) Indexes() []ent.Index {
	return []ent.Index{
		// With id last, the offerwall walks an account's active offers in id order from a cursor.
		index.Fields("account_id", "status", "id"),
		index.Fields("account_id", "advertiser_id"),
		// The offerwall catalog's version: the account's latest change, one index probe.
		index.Fields("account_id", "updated_at"),
	}
}
