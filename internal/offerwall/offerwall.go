// Package offerwall builds the feed of offer cards a member may click now: clickable offers
// (clicks.Availabilities, the click route's own rules), targeted to the member, and not yet
// completed by them where an offer allows one completion per member. A page costs a constant
// number of statements while at most half of the offers it reads are left out (see Feed).
package offerwall

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/offer"
	"github.com/gokart/gokart/ent/offerevent"
	"github.com/gokart/gokart/internal/budget"
	"github.com/gokart/gokart/internal/clicks"
	"github.com/gokart/gokart/internal/targeting"
)

type clientKey struct{}

// Client is what the request tells about the member's device: its address (after trusted
// proxies) and User-Agent, the defaults of a member's country and platform.
type Client struct {
	IP, UserAgent string
}

// WithClient returns ctx carrying the request's client.
func WithClient(ctx context.Context, c Client) context.Context {
	return context.WithValue(ctx, clientKey{}, c)
}

// ClientOf returns the request's client, zero when none was recorded.
func ClientOf(ctx context.Context) Client {
	c, _ := ctx.Value(clientKey{}).(Client)
	return c
}

// Member is who the feed is for.
type Member struct {
	ID       string
	Country  string // ISO 3166-1 alpha-2; empty is unknown
	Platform targeting.Platform
}

// MemberOf fills the member's country and platform from the request when not given.
func MemberOf(ctx context.Context, id string, country *string, platform *targeting.Platform) Member {
	m := Member{ID: id}
	c := ClientOf(ctx)
	if country != nil {
		m.Country = *country
	} else {
		m.Country = targeting.CountryOf(c.IP)
	}
	if platform != nil {
		m.Platform = *platform
	} else {
		m.Platform, _ = targeting.PlatformOf(c.UserAgent)
	}
	return m
}

// maxChunks bounds the reads of one page: past it the page ends early (hasNext stays true).
const maxChunks = 8

// Feed returns up to first offers after offer id after (0 for the start), in id order, that
// member may click at now, with their events in card order; more is whether more may follow,
// and next the offer id to continue after (the last card's, or the last offer read when a page
// ends early).
// It reads offers in chunks of twice the page: each chunk costs at most five statements (the
// offers, their events, budget shards, period counters, the member's completions), and a page
// needs a second chunk only when more than half of the first is left out (at most maxChunks).
func Feed(ctx context.Context, c *ent.Client, accountID int, member Member, after, first int, now time.Time) (cards []*ent.Offer, more bool, next int, err error) {
	chunk := 2 * (first + 1)
	for range maxChunks {
		offers, err := c.Offer.Query().Where(
			offer.IDGT(after), offer.StatusEQ(offer.StatusACTIVE), offer.ArchivedAtIsNil(),
			offer.Or(offer.StartsAtIsNil(), offer.StartsAtLTE(now)),
			offer.Or(offer.EndsAtIsNil(), offer.EndsAtGT(now)),
		).Order(offer.ByID()).Limit(chunk).
			WithEvents(func(q *ent.OfferEventQuery) { q.Order(offerevent.ByPosition(), offerevent.ByID()) }).
			All(ctx)
		if err != nil {
			return nil, false, 0, fmt.Errorf("read offers for the offerwall: %w", err)
		}
		var targeted []*ent.Offer
		for _, o := range offers {
			if targeting.Miss(o.Countries, o.Platforms, member.Country, member.Platform) == "" {
				targeted = append(targeted, o)
			}
		}
		avail, err := clicks.Availabilities(ctx, c, accountID, targeted, now)
		if err != nil {
			return nil, false, 0, err
		}
		var ids []int
		for _, o := range targeted {
			if avail[o.ID] == clicks.Clickable && o.OneCompletionPerMember {
				ids = append(ids, o.ID)
			}
		}
		done, err := budget.CompletedEvents(ctx, c, accountID, member.ID, ids)
		if err != nil {
			return nil, false, 0, err
		}
		for _, o := range targeted {
			if avail[o.ID] != clicks.Clickable || completedAll(o, done[o.ID]) {
				continue
			}
			if len(cards) == first {
				return cards, true, cards[len(cards)-1].ID, nil
			}
			cards = append(cards, o)
		}
		if len(offers) < chunk {
			return cards, false, 0, nil
		}
		after = offers[len(offers)-1].ID
	}
	return cards, true, after, nil
}

// completedAll is whether the member has completed every event of an offer that allows one
// completion per member: nothing is left for them to earn.
func completedAll(o *ent.Offer, done map[int]bool) bool {
	if !o.OneCompletionPerMember || len(done) == 0 {
		return false
	}
	return !slices.ContainsFunc(o.Edges.Events, func(e *ent.OfferEvent) bool { return !done[e.ID] })
}
