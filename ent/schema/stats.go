package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// StatsClickRollup counts an offer's clicks in one 15-minute bucket (UTC), with a HyperLogLog
// sketch of the members who clicked. The stats aggregator (package stats) writes each bucket
// once, from the immutable click rows, when the bucket falls behind the watermark.
type StatsClickRollup struct{ ent.Schema }

// Annotations of the StatsClickRollup.
func (StatsClickRollup) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.Skip(entgql.SkipAll),
		entsql.Annotation{Table: "stats_click_rollups"},
		schema.Comment("Clicks of an offer in one 15-minute bucket, for reports (see package stats)."),
	}
}

// Mixin of the StatsClickRollup.
func (StatsClickRollup) Mixin() []ent.Mixin { return []ent.Mixin{TenantMixin{}} }

// Fields of the StatsClickRollup.
func (StatsClickRollup) Fields() []ent.Field {
	return []ent.Field{
		field.Int("offer_id").Immutable().Comment("The clicked offer."),
		field.Time("bucket").Immutable().Comment("Start of the 15-minute bucket, UTC."),
		field.Int64("clicks").Default(0).Comment("Clicks in the bucket."),
		field.Bytes("members").Optional().
			Comment("HyperLogLog sketch of the pub_member_ids that clicked in the bucket (binary, axiomhq/hyperloglog)."),
	}
}

// Indexes of the StatsClickRollup.
func (StatsClickRollup) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("account_id", "offer_id", "bucket").Unique(),
		index.Fields("account_id", "bucket"),
	}
}

// StatsConversionRollup nets the status changes of an event's conversions by the 15-minute
// bucket (UTC) in which the conversions were created: for each status, changes into it minus
// changes out of it, and the spend they moved. History rows are immutable, so the aggregator
// only ever adds to these rows.
type StatsConversionRollup struct{ ent.Schema }

// Annotations of the StatsConversionRollup.
func (StatsConversionRollup) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.Skip(entgql.SkipAll),
		entsql.Annotation{Table: "stats_conversion_rollups"},
		schema.Comment("Conversions of an offer event by creation bucket and current status, for reports (see package stats)."),
	}
}

// Mixin of the StatsConversionRollup.
func (StatsConversionRollup) Mixin() []ent.Mixin { return []ent.Mixin{TenantMixin{}} }

// Fields of the StatsConversionRollup.
func (StatsConversionRollup) Fields() []ent.Field {
	return []ent.Field{
		field.Int("offer_id").Immutable().Comment("The converted offer."),
		field.Int("offer_event_id").Immutable().Comment("The converted event."),
		field.Time("bucket").Immutable().Comment("Start of the 15-minute bucket in which the conversions were created, UTC."),
		field.Int64("conversions").Default(0).Comment("Conversions created in the bucket (first reports)."),
		field.Int64("pending").Default(0).Comment("Of them, now PENDING."),
		field.Int64("approved").Default(0).Comment("Of them, now APPROVED."),
		field.Int64("reversed").Default(0).Comment("Of them, now REVERSED."),
		field.Int64("rejected").Default(0).Comment("Of them, now REJECTED."),
		field.Int64("spend").Default(0).Comment("Micro-units of payout of those now spending (PENDING, APPROVED)."),
	}
}

// Indexes of the StatsConversionRollup.
func (StatsConversionRollup) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("account_id", "offer_id", "bucket", "offer_event_id").Unique(),
		index.Fields("account_id", "bucket"),
	}
}

// StatsWatermark is the one row that says up to when the rollups hold the raw rows: every
// click and status change created before rolled_up_to is in the rollups, none after it.
type StatsWatermark struct{ ent.Schema }

// Annotations of the StatsWatermark.
func (StatsWatermark) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.Skip(entgql.SkipAll),
		entsql.Annotation{Table: "stats_watermark"},
		schema.Comment("How far the report rollups reach (see package stats)."),
	}
}

// Fields of the StatsWatermark.
func (StatsWatermark) Fields() []ent.Field {
	return []ent.Field{
		field.Time("rolled_up_to").Comment("Raw rows created before this instant are in the rollups; a multiple of 15 minutes."),
		field.Int64("version").Default(0).Comment("Bumped by every roll-up and rebuild, so readers can tell that the rollups moved under them."),
	}
}
