package schema

import (
	"context"
	"fmt"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/sql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/gokart/gokart/ent/intercept"
	"github.com/gokart/gokart/internal/catalogue"
	"github.com/gokart/gokart/internal/money"
)

// OfferEvent is one trackable action of an offer ("Sign Up", "First Purchase").
type OfferEvent struct{ ent.Schema }

// Annotations of the OfferEvent.
func (OfferEvent) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(),
		entgql.QueryField(),
		schema.Comment("An event of an offer: the action a member completes, identified in postbacks by `cnv_event_id`."),
	}
}

// Mixin of the OfferEvent.
func (OfferEvent) Mixin() []ent.Mixin { return []ent.Mixin{TenantMixin{}, TimeMixin{}} }

// Fields of the OfferEvent.
func (OfferEvent) Fields() []ent.Field {
	return []ent.Field{
		field.Int("offer_id").Immutable().Comment("The offer the event belongs to."),
		field.String("name").NotEmpty().MaxLen(200).Comment("The name shown on the offer card.").
			Annotations(entgql.OrderField("NAME")),
		field.String("event_id").NotEmpty().MaxLen(MaxIDLength).
			Comment("The value expected in the postback's `cnv_event_id` (for Impact, the Action Tracker name)."),
		field.String("match_key").NotEmpty().MaxLen(MaxIDLength).
			Comment("The event id folded for tolerant matching: trimmed, lower case, `+` and `%20` as spaces.").
			Annotations(entgql.Skip()),
		field.Int("position").Default(0).Comment("Place of the event on the card, from 0.").
			Annotations(entgql.OrderField("POSITION")),
		moneyField("payout", "What a conversion of this event pays, in the offer's currency."),
		optionalInt("cap_daily", "Most conversions of this event per day."),
		optionalInt("cap_weekly", "Most conversions of this event per week."),
		optionalInt("cap_monthly", "Most conversions of this event per month."),
		optionalInt("cap_total", "Most conversions of this event in all."),
		field.Enum("payout_type").Values("FIXED", "PERCENT").Default("FIXED").
			Comment("FIXED pays `payout`; PERCENT pays `payoutPercent` of the postback's sale amount (`cnv_amount`), at most `payoutCap`.").
			Annotations(entgql.Type("PayoutType")),
		field.Int64("payout_percent").GoType(money.Micros(0)).Optional().Nillable().
			Comment("PERCENT: the share of the sale amount paid, in percent (e.g. `12.5`); null for FIXED.").
			Annotations(entgql.Type("Decimal")),
		field.Int64("payout_cap").GoType(money.Micros(0)).Optional().Nillable().
			Comment("PERCENT: the most one conversion pays, in the offer's currency; null for no cap.").
			Annotations(entgql.Type("Decimal")),
		field.Bool("allow_repeats").Default(false).
			Comment("Whether a click may convert on this event more than once: each new network conversion id (`cnv_conversion_id`) is then a new conversion, charged and capped like any. " +
				"Off, a new id on a click that already converted here is refused (409 `repeat_conversion`)."),
	}
}

// Interceptors of the OfferEvent return events in card order wherever they are read (the
// Offer.events list, eager loads); connections' own orderBy still comes first.
func (OfferEvent) Interceptors() []ent.Interceptor {
	return []ent.Interceptor{
		ent.TraverseFunc(func(ctx context.Context, q ent.Query) error {
			iq, err := intercept.NewQuery(q)
			if err != nil {
				return err
			}
			iq.Order(sql.OrderByField("position").ToFunc(), sql.OrderByField("id").ToFunc())
			return nil
		}),
	}
}

// Hooks of the OfferEvent keep match_key derived from event_id, whoever writes the event.
func (OfferEvent) Hooks() []ent.Hook {
	return []ent.Hook{
		func(next ent.Mutator) ent.Mutator {
			return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
				em, ok := m.(interface {
					EventID() (string, bool)
					SetMatchKey(string)
				})
				if !ok {
					return nil, fmt.Errorf("offer event hook: unexpected mutation %T", m)
				}
				if id, set := em.EventID(); set {
					em.SetMatchKey(catalogue.EventMatchKey(id))
				}
				return next.Mutate(ctx, m)
			})
		},
	}
}

// Edges of the OfferEvent.
func (OfferEvent) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("offer", Offer.Type).Ref("events").Field("offer_id").Unique().Required().Immutable().
			Comment("The offer the event belongs to."),
		edge.To("conversions", Conversion.Type).Comment("Conversions of this event.").
			Annotations(entgql.RelayConnection()),
	}
}

// Indexes of the OfferEvent: an event id is unique within its offer, exactly and tolerantly.
func (OfferEvent) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("account_id", "offer_id", "event_id").Unique(),
		index.Fields("account_id", "offer_id", "match_key").Unique(),
		index.Fields("account_id", "offer_id", "position"),
		// The offerwall catalog's version: the account's latest change, one index probe.
		index.Fields("account_id", "updated_at"),
	}
}
