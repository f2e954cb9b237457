package schema

import (
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// UnmatchedPostback counts the postbacks that belong to no account (missing or unknown key) by
// source address, reason and hour, with one sample: such requests are visible to no tenant,
// so one row per request would let anyone grow the database without bound.
type UnmatchedPostback struct{ ent.Schema }

// Annotations of the UnmatchedPostback: operators read it with SQL; no tenant sees it.
func (UnmatchedPostback) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.Skip(entgql.SkipAll),
		schema.Comment("Postbacks without an account, counted by source address, reason and hour."),
	}
}

// Fields of the UnmatchedPostback.
func (UnmatchedPostback) Fields() []ent.Field {
	return []ent.Field{
		field.String("source_ip").MaxLen(64).Immutable().Comment("The caller's address (an IPv6 caller's /64)."),
		field.String("reason").MaxLen(100).Immutable().Comment("Why no account: missing key, invalid key, store failure."),
		field.Time("hour").Immutable().Comment("The hour the requests arrived in (UTC, truncated)."),
		field.Int("count").Default(1).Comment("How many arrived."),
		field.Text("sample_query").Immutable().Comment("The first request's query string, key redacted, at most 2 KB."),
		field.Time("last_seen").Default(time.Now).Comment("When the latest one arrived."),
	}
}

// Indexes of the UnmatchedPostback.
func (UnmatchedPostback) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("source_ip", "reason", "hour").Unique(),
		index.Fields("hour"),
	}
}
