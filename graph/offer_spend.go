package graph

import (
	"context"
	"sync"

	"github.com/99designs/gqlgen/graphql"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/internal/accounts"
	"github.com/gokart/gokart/internal/budget"
	"github.com/gokart/gokart/internal/money"
	"github.com/gokart/gokart/internal/viewer"
)

// budgetSpent answers Offer.budgetSpent (ent.resolvers.go): the offer's exact spend, the sum of
// its budget shards, which every charge and release moves in its own transaction.
// offers.budget_spent is only a copy, refreshed off the postback's path (budget.Refresher), so
// it is not what this field answers.
//
// A list of offers costs one query: the first offer of a list to ask sums the shards of every
// offer in that list (offerScope), and the rest read the result.
func (r *offerResolver) budgetSpent(ctx context.Context, obj *ent.Offer) (money.Micros, error) {
	b := spendBatchOf(ctx)
	b.mu.Lock()
	defer b.mu.Unlock()
	if v, ok := b.spent[obj.ID]; ok {
		return v, nil
	}
	v, ok := viewer.FromContext(ctx)
	if !ok || v.System {
		return 0, accounts.ErrUnauthenticated
	}
	var ids []int
	_, list := offerScope(ctx, obj.ID)
	for _, id := range list {
		if _, done := b.spent[id]; !done {
			ids = append(ids, id)
		}
	}
	sums, err := budget.SpentByOffer(ctx, r.db(ctx), v.AccountID, ids)
	if err != nil {
		return 0, err
	}
	for _, id := range ids {
		b.spent[id] = sums[id]
	}
	return b.spent[obj.ID], nil
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
