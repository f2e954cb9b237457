package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
)

// OfferRoute names an offer's account by the offer's id alone. A click URL
// (`/click/{offer}`) carries only the offer id, and on Citus the offers are distributed by
// account, so reading an uncached offer by id would ask every shard; this table is a reference
// table there (a copy on every node), written once, in the transaction that creates the offer
// (storage's hook on Offer creates), and read before the offer (clicks.Recorder).
type OfferRoute struct{ ent.Schema }

// Annotations of the OfferRoute: internal routing, never in the API.
func (OfferRoute) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.Skip(entgql.SkipAll),
		schema.Comment("The account of each offer, by offer id: a reference table on Citus."),
	}
}

// Fields of the OfferRoute.
func (OfferRoute) Fields() []ent.Field {
	return []ent.Field{
		field.Int("id").Immutable().Comment("The offer's id."),
		// No foreign key: on Citus a reference table cannot refer to a distributed one.
		field.Int("account_id").Immutable().Comment("The offer's account."),
	}
}
