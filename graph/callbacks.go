package graph

import (
	"entgo.io/contrib/entgql"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/graph/generated"
	"github.com/gokart/gokart/graph/model"
	"github.com/gokart/gokart/internal/callbacks"
)

// withCallbackComplexity prices the callback connections by their page size and a delivery's
// attempt log by the most attempts a delivery makes.
func withCallbackComplexity(c generated.ComplexityRoot) generated.ComplexityRoot {
	type cur = *entgql.Cursor[int]
	c.Query.CallbackEndpoints = func(ch int, _ cur, f *int, _ cur, l *int, _ *ent.CallbackEndpointOrder, _ *ent.CallbackEndpointWhereInput) int {
		return pageCost(ch, f, l)
	}
	c.Query.CallbackDeliveries = func(ch int, f *int, _ cur, _ *model.CallbackDeliveryWhereInput) int {
		return pageCost(ch, f, nil)
	}
	c.CallbackDelivery.AttemptLog = func(ch int) int { return 1 + ch*callbacks.MaxAttempts }
	return c
}
