package graph

import (
	"entgo.io/contrib/entgql"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/graph/generated"
)

// pageCost is what a connection costs: its children times the page it may return, so the
// complexity limit sees nested lists of 100 × 100 for what they are.
func pageCost(child int, first, last *int) int {
	n := DefaultPageSize
	switch {
	case first != nil:
		n = *first
	case last != nil:
		n = *last
	}
	return 1 + child*max(n, 1)
}

// listCost is what a plain list (an offer's events) costs: they are few, but not one.
func listCost(child int) int { return 1 + child*5 }

// complexity prices every connection by its page size.
func complexity() generated.ComplexityRoot {
	var c generated.ComplexityRoot
	type cur = *entgql.Cursor[int]
	c.Query.Advertisers = func(ch int, _ cur, f *int, _ cur, l *int, _ *ent.AdvertiserOrder, _ *ent.AdvertiserWhereInput) int {
		return pageCost(ch, f, l)
	}
	c.Query.Offers = func(ch int, _ cur, f *int, _ cur, l *int, _ *ent.OfferOrder, _ *ent.OfferWhereInput) int {
		return pageCost(ch, f, l)
	}
	c.Query.OfferEvents = func(ch int, _ cur, f *int, _ cur, l *int, _ *ent.OfferEventOrder, _ *ent.OfferEventWhereInput) int {
		return pageCost(ch, f, l)
	}
	c.Query.Clicks = func(ch int, _ cur, f *int, _ cur, l *int, _ *ent.ClickOrder, _ *ent.ClickWhereInput) int {
		return pageCost(ch, f, l)
	}
	c.Query.Conversions = func(ch int, _ cur, f *int, _ cur, l *int, _ *ent.ConversionOrder, _ *ent.ConversionWhereInput) int {
		return pageCost(ch, f, l)
	}
	c.Query.PostbackLogs = func(ch int, _ cur, f *int, _ cur, l *int, _ *ent.PostbackLogOrder, _ *ent.PostbackLogWhereInput) int {
		return pageCost(ch, f, l)
	}
	c.Advertiser.Offers = c.Query.Offers
	c.Offer.Clicks = c.Query.Clicks
	c.Offer.Conversions = c.Query.Conversions
	c.OfferEvent.Conversions = c.Query.Conversions
	c.Offer.Events = listCost
	return c
}
