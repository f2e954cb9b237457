package storage

import (
	"context"
	"fmt"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/hook"
)

// routeOffers writes each new offer's ent.OfferRoute in the offer's own transaction (or
// statement), whoever creates the offer, so that a click on it can find its account by the
// offer id alone.
func routeOffers(next ent.Mutator) ent.Mutator {
	return hook.OfferFunc(func(ctx context.Context, m *ent.OfferMutation) (ent.Value, error) {
		v, err := next.Mutate(ctx, m)
		if err != nil {
			return v, err
		}
		id, hasID := m.ID()
		accountID, hasAccount := m.AccountID()
		if !hasID || !hasAccount {
			return nil, fmt.Errorf("route new offer: id or account unknown after the insert")
		}
		if err := m.Client().OfferRoute.Create().SetID(id).SetAccountID(accountID).Exec(ctx); err != nil {
			return nil, fmt.Errorf("route offer %d: %w", id, err)
		}
		return v, nil
	})
}
