package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// MemberCompletion records that a member completed an event of an offer that allows one
// completion per member. Its unique key is the rule: a second completion cannot be inserted.
// The row goes away when its conversion stops counting (reversed or rejected).
type MemberCompletion struct{ ent.Schema }

// Annotations of the MemberCompletion.
func (MemberCompletion) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.Skip(entgql.SkipAll),
		schema.Comment("A member's one counted completion of an offer event."),
	}
}

// Mixin of the MemberCompletion.
func (MemberCompletion) Mixin() []ent.Mixin { return []ent.Mixin{TenantMixin{}} }

// Fields of the MemberCompletion.
func (MemberCompletion) Fields() []ent.Field {
	return []ent.Field{
		field.Int("offer_event_id").Immutable().Comment("The completed event."),
		field.String("pub_member_id").Immutable().NotEmpty().MaxLen(MaxIDLength).Comment("The member."),
		field.Int("conversion_id").Immutable().Comment("The conversion that counts as the completion."),
	}
}

// Indexes of the MemberCompletion.
func (MemberCompletion) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("account_id", "offer_event_id", "pub_member_id").Unique(),
		index.Fields("account_id", "conversion_id"),
		// A member's completions, for the offerwall's "not yet completed by this member".
		index.Fields("account_id", "pub_member_id", "offer_event_id"),
	}
}
