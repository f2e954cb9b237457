package schema

import (
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/gokart/gokart/internal/callbacks/vocab"
	"github.com/gokart/gokart/internal/lifecycle"
)

// CallbackEndpoint is where an account wants to hear about its conversions.
type CallbackEndpoint struct{ ent.Schema }

// Annotations of the CallbackEndpoint.
func (CallbackEndpoint) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(),
		schema.Comment("A URL of the publisher (or a partner) that hears about conversion status changes: account-wide, or for one offer or one event of it."),
	}
}

// Mixin of the CallbackEndpoint.
func (CallbackEndpoint) Mixin() []ent.Mixin { return []ent.Mixin{TenantMixin{}, TimeMixin{}} }

// Fields of the CallbackEndpoint.
func (CallbackEndpoint) Fields() []ent.Field {
	return []ent.Field{
		field.String("url").MaxLen(2048).Comment("The URL called; for GET_TEMPLATE, a template with macros such as {gk_conversion_id}."),
		field.Enum("format").GoType(vocab.Format("")).Default(string(vocab.JSON)).
			Comment("JSON (a signed POST) or GET_TEMPLATE.").Annotations(entgql.Skip()),
		field.JSON("events", []vocab.Event{}).Comment("The status changes the endpoint hears.").
			Annotations(entgql.Skip()),
		field.Int("offer_id").Optional().Nillable().Comment("The offer it is limited to; null for every offer of the account.").
			Annotations(entgql.Type("ID")),
		field.Int("offer_event_id").Optional().Nillable().Comment("The event of that offer it is limited to; null for every event.").
			Annotations(entgql.Type("ID")),
		field.String("header_name").Optional().MaxLen(128).Comment("A header sent with every callback, e.g. an API key of the receiver."),
		field.String("header_value").Optional().Sensitive().MaxLen(1024).Comment("The value of that header (never shown).").
			Annotations(entgql.Skip()),
		field.String("secret").Sensitive().Comment("The signing secret, whsec_ + base64 (shown on create and rotate only).").
			Annotations(entgql.Skip()),
		field.Bool("enabled").Default(true).Comment("Whether callbacks are sent; false after disableCallbackEndpoint or 72 hours of failures."),
		field.String("disabled_reason").Optional().MaxLen(500).Comment("Why the endpoint was disabled."),
		field.Time("failing_since").Optional().Nillable().Comment("When its current run of failed attempts began; null while it answers."),
	}
}

// Edges of the CallbackEndpoint.
func (CallbackEndpoint) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("deliveries", CallbackDelivery.Type).Comment("The callbacks sent to it.").
			Annotations(entgql.Skip()),
	}
}

// Indexes of the CallbackEndpoint: the outbox write reads an account's enabled endpoints.
func (CallbackEndpoint) Indexes() []ent.Index {
	return []ent.Index{index.Fields("account_id", "enabled")}
}

// CallbackDelivery is one callback: one endpoint told about one status change.
type CallbackDelivery struct{ ent.Schema }

// Annotations of the CallbackDelivery.
func (CallbackDelivery) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(),
		entgql.Skip(entgql.SkipWhereInput, entgql.SkipOrderField),
		schema.Comment("One callback to one endpoint about one conversion status change, with every attempt to send it."),
	}
}

// Mixin of the CallbackDelivery.
func (CallbackDelivery) Mixin() []ent.Mixin { return []ent.Mixin{TenantMixin{}} }

// Fields of the CallbackDelivery.
func (CallbackDelivery) Fields() []ent.Field {
	return []ent.Field{
		field.Int("endpoint_id").Immutable().Comment("The endpoint."),
		field.Int("conversion_id").Optional().Nillable().Immutable().Comment("The conversion; null for a test callback.").
			Annotations(entgql.Type("ID")),
		field.Int("sequence").Immutable().Comment("The place of the change in the conversion's history, from 1: deliveries of a conversion go out in this order."),
		field.Enum("event").GoType(vocab.Event("")).Immutable().Comment("The change.").Annotations(entgql.Skip()),
		field.Enum("from_status").GoType(lifecycle.Status("")).Optional().Nillable().Immutable().
			Comment("The status before; null for a new conversion.").Annotations(entgql.Type("ConversionStatus")),
		field.Enum("to_status").GoType(lifecycle.Status("")).Immutable().
			Comment("The status after.").Annotations(entgql.Type("ConversionStatus")),
		field.Enum("status").GoType(vocab.DeliveryStatus("")).Default(string(vocab.Pending)).
			Comment("PENDING, DELIVERED or FAILED.").Annotations(entgql.Skip()),
		field.Int("attempts").Default(0).Comment("How many attempts were made."),
		field.Time("next_attempt_at").Comment("When it is due next (while PENDING)."),
		field.Time("lease_until").Optional().Nillable().Comment("A worker is sending it until then.").Annotations(entgql.Skip()),
		field.String("lease_owner").Optional().Comment("The worker holding the lease.").Annotations(entgql.Skip()),
		field.Time("delivered_at").Optional().Nillable().Comment("When a 2xx answer came."),
		field.String("last_error").Optional().MaxLen(1024).Comment("What went wrong last."),
		field.Time("created_at").Default(time.Now).Immutable().Comment("When the change happened."),
	}
}

// Edges of the CallbackDelivery.
func (CallbackDelivery) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("endpoint", CallbackEndpoint.Type).Ref("deliveries").Field("endpoint_id").Unique().Required().Immutable().
			Comment("The endpoint."),
		edge.To("attempt_log", CallbackAttempt.Type).Comment("Every attempt, oldest first."),
	}
}

// Indexes of the CallbackDelivery.
func (CallbackDelivery) Indexes() []ent.Index {
	// Few indexes: every delivery is written twice on the hot path (queued, then delivered).
	return []ent.Index{
		// One delivery per endpoint and status change; also the workers' check that a
		// conversion's earlier change to the endpoint is no longer pending.
		index.Fields("account_id", "endpoint_id", "conversion_id", "sequence").Unique(),
		// Workers claim due deliveries of every account. (A partial index on PENDING would be
		// smaller, but Atlas compares PostgreSQL's normalized predicate as a change.)
		index.Fields("status", "next_attempt_at"),
	}
}

// CallbackAttempt is one try at sending a callback.
type CallbackAttempt struct{ ent.Schema }

// Annotations of the CallbackAttempt.
func (CallbackAttempt) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.Skip(entgql.SkipWhereInput, entgql.SkipOrderField),
		schema.Comment("One attempt to send a callback: when, the answer's status and first kilobyte, how long it took, or the error."),
	}
}

// Mixin of the CallbackAttempt.
func (CallbackAttempt) Mixin() []ent.Mixin { return []ent.Mixin{TenantMixin{}} }

// Fields of the CallbackAttempt.
func (CallbackAttempt) Fields() []ent.Field {
	return []ent.Field{
		field.Int("delivery_id").Immutable().Comment("The delivery."),
		field.Time("created_at").Immutable().Comment("When the attempt started."),
		field.Int("http_status").Optional().Nillable().Immutable().Comment("The HTTP status of the answer; null when none came."),
		field.Int("duration_ms").Immutable().Comment("How long it took, in milliseconds."),
		field.String("response").Optional().Immutable().Comment("The first kilobyte of the answer's body."),
		field.String("error").Optional().Immutable().Comment("The network error or timeout, if any."),
	}
}

// Edges of the CallbackAttempt.
func (CallbackAttempt) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("delivery", CallbackDelivery.Type).Ref("attempt_log").Field("delivery_id").Unique().Required().Immutable().
			Comment("The delivery."),
	}
}

// Indexes of the CallbackAttempt.
func (CallbackAttempt) Indexes() []ent.Index {
	return []ent.Index{index.Fields("account_id", "delivery_id", "created_at")}
}
