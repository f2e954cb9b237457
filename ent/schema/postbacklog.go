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

// PostbackLog keeps every postback request, whatever its outcome, so a failed integration can
// be debugged from the dashboard.
type PostbackLog struct{ ent.Schema }

// Annotations of the PostbackLog.
func (PostbackLog) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.QueryField(),
		entgql.RelayConnection(),
		schema.Comment("A postback request as received, with its outcome: the place to look when a network's test postback fails."),
	}
}

// Mixin of the PostbackLog: a request with a bad key belongs to no account.
func (PostbackLog) Mixin() []ent.Mixin { return []ent.Mixin{TenantMixin{}} }

// Fields of the PostbackLog.
func (PostbackLog) Fields() []ent.Field {
	return []ent.Field{
		field.Text("raw_query").Immutable().Comment("The query string as received, with the key redacted."),
		field.String("source_ip").Optional().Immutable().MaxLen(MaxSourceIPLength).Comment("The caller's IP address."),
		field.Enum("outcome").Values("ACCEPTED", "DUPLICATE", "STATUS_UPDATED", "REJECTED", "MALFORMED", "UNAUTHORIZED", "NOT_FOUND", "ERROR", "REPEAT_REFUSED", "MODIFIED").Immutable().
			Comment("What became of the request. REPEAT_REFUSED is a warning: a new network conversion id on a click and event that converted already, on an event without allowRepeats (answered 409 `repeat_conversion`, kept as a REJECTED conversion with that reason).").
			Annotations(entgql.OrderField("OUTCOME"), entgql.Type("PostbackOutcome")),
		field.Int("http_status").Immutable().Comment("The HTTP status we answered."),
		field.String("reason").Optional().Immutable().MaxLen(MaxReasonLength).Comment("Why, in a few words."),
		field.Int("conversion_id").Optional().Nillable().Immutable().Comment("The conversion it created or touched."),
		field.Int("offer_id").Optional().Nillable().Immutable().Comment("The offer it was attributed to."),
		field.Bool("test").Default(false).Immutable().
			Comment("A postback of a test click (createTestClick): test traffic, whose conversion is never charged or counted."),
		field.Time("created_at").Default(time.Now).Immutable().Comment("When it arrived.").
			Annotations(entgql.OrderField("CREATED_AT")),
	}
}

// Edges of the PostbackLog.
func (PostbackLog) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("conversion", Conversion.Type).Ref("postback_logs").Field("conversion_id").Unique().Immutable().
			Comment("The conversion it created or touched."),
	}
}

// Indexes of the PostbackLog.
func (PostbackLog) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("account_id", "created_at"),
		index.Fields("account_id", "outcome", "created_at"),
		index.Fields("account_id", "conversion_id"),
	}
}
