package wizard

import (
	"context"
	"fmt"
	"time"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/offer"
	"github.com/gokart/gokart/internal/errcode"
)

// Missing lists the wizard steps an offer has not completed, each as an error on publishing
// the offer's id with the GraphQL step (mutation) name in Step; an offer can be published
// when it is empty.
func Missing(ctx context.Context, o *ent.Offer) ([]*errcode.Error, error) {
	var missing []*errcode.Error
	add := func(step, msg string) {
		missing = append(missing, &errcode.Error{Code: errcode.Validation, Field: "id", Step: step, Message: msg})
	}
	if o.AdvertiserID == nil || o.TrackingLink == "" || o.ClickURLTemplate == "" {
		add("updateOfferAdvertiserInfo", "advertiser info is incomplete: choose an advertiser and paste the tracking link")
	}
	if o.Headline == "" || o.CallToAction == "" {
		add("updateOfferCreative", "creative is incomplete: a headline and a call to action are required")
	}
	if o.BudgetTotal == nil {
		add("updateOfferBudgetTargeting", "budget and targeting is incomplete: set the currency and the total budget")
	}
	evs, err := o.QueryEvents().All(ctx)
	if err != nil {
		return nil, err
	}
	switch {
	case o.Type == offer.TypeMULTI_EVENT && len(evs) < 2:
		add("setOfferEvents", "events are incomplete: a multi-event offer needs at least two events")
	case o.Type == offer.TypeSINGLE_EVENT && len(evs) != 1:
		add("setOfferEvents", "a single-event offer needs exactly one event")
	}
	return missing, nil
}

// transition moves an offer between statuses with one conditional UPDATE, so two concurrent
// requests cannot both take the same step.
func transition(ctx context.Context, c *ent.Client, id int, to offer.Status, from ...offer.Status) (*ent.Offer, error) {
	o, err := load(ctx, c, id)
	if err != nil {
		return nil, err
	}
	if o.ArchivedAt != nil {
		return nil, &errcode.Error{Code: errcode.Conflict, Field: "id", Message: "the offer is archived and can no longer change"}
	}
	upd := c.Offer.Update().Where(offer.ID(id), offer.StatusIn(from...), offer.ArchivedAtIsNil()).SetStatus(to)
	if to == offer.StatusACTIVE && o.PublishedAt == nil {
		upd.SetPublishedAt(time.Now())
	}
	n, err := upd.Save(ctx)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, &errcode.Error{Code: errcode.Conflict, Field: "id",
			Message: fmt.Sprintf("an offer that is %s cannot become %s", o.Status, to)}
	}
	return c.Offer.Get(ctx, id)
}

// Publish makes a complete DRAFT ACTIVE, or names every step still missing.
func Publish(ctx context.Context, c *ent.Client, id int) (*ent.Offer, error) {
	o, err := load(ctx, c, id)
	if err != nil {
		return nil, err
	}
	if o.Status != offer.StatusDRAFT {
		return nil, &errcode.Error{Code: errcode.Conflict, Field: "id", Message: fmt.Sprintf("only a DRAFT can be published; this offer is %s", o.Status)}
	}
	missing, err := Missing(ctx, o)
	if err != nil {
		return nil, err
	}
	if len(missing) > 0 {
		return nil, errcode.List(missing)
	}
	return transition(ctx, c, id, offer.StatusACTIVE, offer.StatusDRAFT)
}

// Pause stops new clicks of an ACTIVE offer; conversions of earlier clicks still count.
func Pause(ctx context.Context, c *ent.Client, id int) (*ent.Offer, error) {
	return transition(ctx, c, id, offer.StatusPAUSED, offer.StatusACTIVE)
}

// Resume makes a PAUSED offer ACTIVE again.
func Resume(ctx context.Context, c *ent.Client, id int) (*ent.Offer, error) {
	return transition(ctx, c, id, offer.StatusACTIVE, offer.StatusPAUSED)
}

// End closes an offer for good: no clicks, no conversions.
func End(ctx context.Context, c *ent.Client, id int) (*ent.Offer, error) {
	return transition(ctx, c, id, offer.StatusENDED, offer.StatusDRAFT, offer.StatusACTIVE, offer.StatusPAUSED)
}
