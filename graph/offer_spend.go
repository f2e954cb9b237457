package graph

import (
	"context"
	"fmt"
	"sync"

	"github.com/99designs/gqlgen/graphql"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/budgetshard"
	"github.com/gokart/gokart/money"
)

// budgetSpent answers Offer.budgetSpent (ent.resolvers.go): the offer's exact spend, the sum of
// its budget shards, which every charge and release moves in its own transaction.
// offers.budget_spent is only a copy, refreshed off the postback's path (budget.Refresher), so
// it is not what this field answers.
//
// A list of offers costs one query: the first offer of a list to ask sums the shards of every
// offer in that list (found through the field's ancestors), and the rest read the result.
func (r *offerResolver) budgetSpent(ctx context.Context, obj *ent.Offer) (money.Micros, error) {
	b := spendBatchOf(ctx)
	b.mu.Lock()
	defer b.mu.Unlock()
	if v, ok := b.spent[obj.ID]; ok {
		return v, nil
	}
	ids := []int{obj.ID}
	for _, o := range siblingOffers(ctx) {
		if _, ok := b.spent[o.ID]; !ok && o.ID != obj.ID {
			ids = append(ids, o.ID)
		}
	}
	sums, err := sumShards(ctx, r.db(ctx), ids)
	if err != nil {
		return 0, err
	}
	for _, id := range ids {
		b.spent[id] = sums[id]
	}
	return b.spent[obj.ID], nil
}

// sumShards returns the spend of each offer, one GROUP BY for all of them (the tenant filter
// keeps it in the viewer's account).
func sumShards(ctx context.Context, c *ent.Client, ids []int) (map[int]money.Micros, error) {
	var rows []struct {
		OfferID int   `json:"offer_id"`
		Sum     int64 `json:"sum"`
	}
	err := c.BudgetShard.Query().Where(budgetshard.OfferIDIn(ids...)).
		GroupBy(budgetshard.FieldOfferID).Aggregate(ent.Sum(budgetshard.FieldSpent)).Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("spend of offers: %w", err)
	}
	out := make(map[int]money.Micros, len(ids))
	for _, r := range rows {
		out[r.OfferID] = money.Micros(r.Sum)
	}
	return out, nil
}

// siblingOffers finds the list the offer is part of: the nearest ancestor field whose result
// holds offers (a connection, its edges or a list), up to a few levels up.
func siblingOffers(ctx context.Context) []*ent.Offer {
	fc := graphql.GetFieldContext(ctx)
	for level := 0; fc != nil && level < 6; level, fc = level+1, fc.Parent {
		var out []*ent.Offer
		switch v := fc.Result.(type) {
		case *ent.OfferConnection:
			if v != nil {
				for _, e := range v.Edges {
					if e != nil && e.Node != nil {
						out = append(out, e.Node)
					}
				}
			}
		case []*ent.OfferEdge:
			for _, e := range v {
				if e != nil && e.Node != nil {
					out = append(out, e.Node)
				}
			}
		case []*ent.Offer:
			out = v
		case []ent.Noder:
			for _, n := range v {
				if o, ok := n.(*ent.Offer); ok && o != nil {
					out = append(out, o)
				}
			}
		}
		if len(out) > 1 {
			return out
		}
	}
	return nil
}

// spendBatch holds the sums read for one root field of one operation: within a root field the
// spend does not change (mutations run one root field at a time, and each gets a batch).
type spendBatch struct {
	mu    sync.Mutex
	spent map[int]money.Micros
}

func spendBatchOf(ctx context.Context) *spendBatch {
	root := graphql.GetFieldContext(ctx)
	for root != nil && root.Parent != nil {
		root = root.Parent
	}
	cache := opCacheOf(ctx)
	cache.spendMu.Lock()
	defer cache.spendMu.Unlock()
	b := cache.spend[root]
	if b == nil {
		b = &spendBatch{spent: map[int]money.Micros{}}
		cache.spend[root] = b
	}
	return b
}
