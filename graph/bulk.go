package graph

import (
	"entgo.io/contrib/entgql"

	"github.com/gokart/gokart/graph/model"
	"github.com/gokart/gokart/internal/bulk"
)

// OwnTransactions is for entgql.Transactioner: a document with these mutations runs outside one
// transaction, because each of them commits item by item (a bulk change's per-item results
// would be undone by a rollback of the whole document, and on SQLite a document's transaction
// holds the only connection the items need).
var OwnTransactions = entgql.SkipIfHasFields("updateConversionStatuses")

func statusesPayload(items []bulk.Item) *model.UpdateConversionStatusesPayload {
	out := &model.UpdateConversionStatusesPayload{Results: make([]*model.ConversionStatusResult, len(items))}
	out.Changed, out.Unchanged, out.Failed = bulk.Counts(items)
	for i, it := range items {
		res := &model.ConversionStatusResult{Conversion: it.Conversion, Outcome: model.ConversionStatusOutcome(it.Outcome)}
		if it.ID != 0 {
			id := it.ID
			res.ID = &id
		}
		if it.NetworkConversionID != "" {
			ncid := it.NetworkConversionID
			res.NetworkConversionID = &ncid
		}
		if it.GkClickID != "" {
			gk := it.GkClickID
			res.GkClickID = &gk
		}
		if it.Err != nil {
			code, msg := string(it.Err.Code), it.Err.Message
			res.Code, res.Message = &code, &msg
		}
		out.Results[i] = res
	}
	return out
}
