package schema

import (
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/gokart/gokart/internal/lifecycle"
)

// ConversionStatusChange is one step of a conversion's history.
type ConversionStatusChange struct{ ent.Schema }

// Annotations of the ConversionStatusChange.
func (ConversionStatusChange) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.Skip(entgql.SkipWhereInput),
		schema.Comment("One change of a conversion's status, by a postback or by manual review."),
	}
}

// Mixin of the ConversionStatusChange.
func (ConversionStatusChange) Mixin() []ent.Mixin { return []ent.Mixin{TenantMixin{}} }

// Fields of the ConversionStatusChange.
func (ConversionStatusChange) Fields() []ent.Field {
	return []ent.Field{
		field.Int("conversion_id").Immutable().Comment("The conversion that changed."),
		field.Enum("from_status").GoType(lifecycle.Status("")).Optional().Nillable().Immutable().
			Comment("The status before; null for the first report.").
			Annotations(entgql.Type("ConversionStatus")),
		field.Enum("to_status").GoType(lifecycle.Status("")).Immutable().
			Comment("The status after.").
			Annotations(entgql.Type("ConversionStatus")),
		field.String("reason").Optional().MaxLen(MaxReasonLength).Immutable().Comment("Why it changed."),
		field.Enum("source").Values("POSTBACK", "MANUAL", "AUTO").Immutable().
			Comment("Whether a network's postback, a person (manual review) or gokart itself (maturing: autoApproveAfter) made the change.").
			Annotations(entgql.Type("StatusChangeSource")),
		field.Time("created_at").Default(time.Now).Immutable().Comment("When it changed."),
	}
}

// Edges of the ConversionStatusChange.
func (ConversionStatusChange) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("conversion", Conversion.Type).Ref("history").Field("conversion_id").Unique().Required().Immutable().
			Comment("The conversion that changed."),
	}
}

// Indexes of the ConversionStatusChange.
func (ConversionStatusChange) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("account_id", "conversion_id", "created_at"),
		// The stats aggregator and the report's raw tail read the changes since the watermark.
		index.Fields("account_id", "created_at"),
	}
}
