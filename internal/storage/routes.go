package storage

import (
	"context"
	"fmt"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/hook"
	"github.com/gokart/gokart/ent/offerroute"
)

// routeOffers writes each new offer's ent.OfferRoute, whoever creates the offer, so that a click
// on it can find its account by the offer id alone: in the offer's own transaction when it is
// created in one, else in a statement of its own right after the offer's (should that one
// fail, the offer stands without a route, and clicks read it by id alone). A route already
// there (an upsert of the offer) is left as it is: ids are never reused, so it names the same
// account.
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
		if err := m.Client().OfferRoute.Create().SetID(id).SetAccountID(accountID).
			OnConflictColumns(offerroute.FieldID).DoNothing().Exec(ctx); err != nil {
			return nil, fmt.Errorf("route offer %d: %w", id, err)
		}
		return v, nil
	})
}
