package graph

import (
	"context"
	"net/url"
	"strings"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/offerevent"
	"github.com/gokart/gokart/ent/schema"
	"github.com/gokart/gokart/graph/model"
	"github.com/gokart/gokart/internal/clicks"
	"github.com/gokart/gokart/internal/errcode"
)

// createTestClick stores a click marked test on the offer, whatever its status (the click
// route's rules are what a live offer needs; a test checks the integration before that).
func (r *Resolver) createTestClick(ctx context.Context, accountID, offerID int, pubMemberID *string) (*model.TestClick, error) {
	member := "test-member"
	if pubMemberID != nil {
		member = strings.TrimSpace(*pubMemberID)
		if member == "" || len(member) > schema.MaxIDLength {
			return nil, errcode.Invalid("pubMemberID", "must be 1 to %d characters", schema.MaxIDLength)
		}
	}
	c := r.db(ctx)
	o, err := c.Offer.Get(ctx, offerID)
	if ent.IsNotFound(err) {
		e := errcode.New(errcode.NotFound, "offer not found")
		e.Field = "offerID"
		return nil, e
	}
	if err != nil {
		return nil, err
	}
	ev, err := c.OfferEvent.Query().Where(offerevent.OfferID(o.ID)).Order(offerevent.ByPosition()).First(ctx)
	if ent.IsNotFound(err) {
		e := errcode.New(errcode.Conflict, "the offer has no events yet: set them (setOfferEvents or the payout) first")
		e.Field = "offerID"
		return nil, e
	}
	if err != nil {
		return nil, err
	}
	acc, err := r.viewerAccount(ctx)
	if err != nil {
		return nil, err
	}
	gk := clicks.NewID()
	cl, err := c.Click.Create().SetAccountID(accountID).SetOfferID(o.ID).SetGkClickID(gk).
		SetPubMemberID(member).SetTest(true).Save(ctx)
	if err != nil {
		return nil, err
	}
	q := url.Values{"key": {acc.PostbackKey}, "gk_click_id": {gk}, "cnv_event_id": {ev.EventID},
		"cnv_conversion_id": {"test-" + gk}}
	return &model.TestClick{Click: cl, GkClickID: gk, PostbackURL: r.baseURL + "/postback?" + q.Encode()}, nil
}
