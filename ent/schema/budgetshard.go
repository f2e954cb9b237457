package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// BudgetShard is one slice of an offer's total budget. Conversions charge a random shard with a
// conditional UPDATE, so a hot offer's spend is not serialized behind one row lock; the sum of
// the shards' spent is the offer's spend, and the sum of their allotted is its total budget.
type BudgetShard struct{ ent.Schema }

// Annotations of the BudgetShard.
func (BudgetShard) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.Skip(entgql.SkipAll),
		entsql.Annotation{Table: "offer_budget_shards"},
		schema.Comment("A slice of an offer's budget, charged by conversions (see package budget)."),
	}
}

// Mixin of the BudgetShard.
func (BudgetShard) Mixin() []ent.Mixin { return []ent.Mixin{TenantMixin{}} }

// Fields of the BudgetShard.
func (BudgetShard) Fields() []ent.Field {
	return []ent.Field{
		field.Int("offer_id").Immutable().Comment("The offer whose budget this is a slice of."),
		field.Int("shard").Immutable().NonNegative().Comment("The slice's number, from 0."),
		field.Int64("budget_total").Optional().Nillable().
			Comment("The offer's total budget the allotments were computed from; null for an unlimited budget."),
		field.Int64("allotted").Default(0).Comment("Micro-units of the total this slice may spend."),
		field.Int64("spent").Default(0).Comment("Micro-units spent from this slice."),
	}
}

// Indexes of the BudgetShard.
func (BudgetShard) Indexes() []ent.Index {
	return []ent.Index{index.Fields("account_id", "offer_id", "shard").Unique()}
}
