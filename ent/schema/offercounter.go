package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// OfferCounter counts an offer's conversions (or spend) in one period for one limit: a daily
// cap, a monthly event cap, the daily budget. It is charged with a conditional UPDATE that
// refuses to pass the limit, and only exists for limits the offer has set.
type OfferCounter struct{ ent.Schema }

// Annotations of the OfferCounter.
func (OfferCounter) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.Skip(entgql.SkipAll),
		entsql.Annotation{Table: "offer_counters"},
		schema.Comment("A per-period counter behind an offer's caps and daily budget (see package budget)."),
	}
}

// Mixin of the OfferCounter.
func (OfferCounter) Mixin() []ent.Mixin { return []ent.Mixin{TenantMixin{}} }

// Fields of the OfferCounter.
func (OfferCounter) Fields() []ent.Field {
	return []ent.Field{
		field.Int("offer_id").Immutable().Comment("The counted offer."),
		field.String("key").Immutable().MaxLen(128).
			Comment("What and when is counted, e.g. `cap:offer:D:2026-11-25` or `budget:D:2026-11-25`."),
		field.Int64("value").Default(0).Comment("Conversions, or micro-units for budgets."),
	}
}

// Indexes of the OfferCounter.
func (OfferCounter) Indexes() []ent.Index {
	return []ent.Index{index.Fields("account_id", "offer_id", "key").Unique()}
}
