package graph

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"entgo.io/contrib/entgql"
	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/offer"
	"github.com/gokart/gokart/ent/offerevent"
	"github.com/gokart/gokart/ent/predicate"
	"github.com/gokart/gokart/graph/model"
	"github.com/gokart/gokart/internal/clicks"
	"github.com/gokart/gokart/internal/errcode"
	"github.com/gokart/gokart/internal/offerwall"
	"github.com/gokart/gokart/internal/targeting"
	"github.com/gokart/gokart/internal/viewer"
)

// PublishableOnly is a root field middleware: a publishable key's viewer may call
// Query.offerwall and nothing else (introspection, node, nodes and every mutation included);
// every other root field answers FORBIDDEN without running.
func PublishableOnly(ctx context.Context, next graphql.RootResolver) graphql.Marshaler {
	if v, ok := viewer.FromContext(ctx); ok && v.Publishable {
		fc := graphql.GetRootFieldContext(ctx)
		op := graphql.GetOperationContext(ctx).Operation
		if fc == nil || op == nil || op.Operation != ast.Query || fc.Field.Name != "offerwall" {
			name := "?"
			if fc != nil {
				name = fc.Field.Name
			}
			graphql.AddError(ctx, errcode.New(errcode.Forbidden, "a publishable key may only call offerwall, not %s", name))
			return graphql.Null
		}
	}
	return next(ctx)
}

// availBatch holds the availabilities judged for one root field of one operation.
type availBatch struct {
	mu    sync.Mutex
	avail map[int]clicks.Availability
}

func availBatchOf(ctx context.Context) *availBatch {
	root := graphql.GetFieldContext(ctx)
	for root != nil && root.Parent != nil {
		root = root.Parent
	}
	cache := opCacheOf(ctx)
	cache.availMu.Lock()
	defer cache.availMu.Unlock()
	b := cache.avail[root]
	if b == nil {
		b = &availBatch{avail: map[int]clicks.Availability{}}
		cache.avail[root] = b
	}
	return b
}

// availability answers Offer.availability. The first offer of a list to ask judges every offer
// of that list (offerScope) in one go: their events' payouts, then budgets and caps, three
// statements for the page.
func (r *offerResolver) availability(ctx context.Context, obj *ent.Offer) (model.OfferAvailability, error) {
	b := availBatchOf(ctx)
	b.mu.Lock()
	defer b.mu.Unlock()
	if a, ok := b.avail[obj.ID]; ok {
		return model.OfferAvailability(a), nil
	}
	accountID, err := viewerID(ctx)
	if err != nil {
		return "", err
	}
	offers := []*ent.Offer{obj}
	if fc, _ := offerScope(ctx, obj.ID); fc != nil {
		if f, ok := fc.(*graphql.FieldContext); ok {
			offers = offersOf(f.Result)
		}
	}
	var todo []*ent.Offer
	for _, o := range offers {
		if _, done := b.avail[o.ID]; !done {
			todo = append(todo, o)
		}
	}
	judged, err := r.judge(ctx, accountID, todo, time.Now())
	if err != nil {
		return "", err
	}
	for id, a := range judged {
		b.avail[id] = a
	}
	return model.OfferAvailability(b.avail[obj.ID]), nil
}

// judge reads the offers' events' payouts (one statement) and judges them; the offers given are
// not changed (they may be shared with other resolvers).
func (r *Resolver) judge(ctx context.Context, accountID int, offers []*ent.Offer, now time.Time) (map[int]clicks.Availability, error) {
	if len(offers) == 0 {
		return map[int]clicks.Availability{}, nil
	}
	ids := make([]int, len(offers))
	for i, o := range offers {
		ids[i] = o.ID
	}
	evs, err := r.db(ctx).OfferEvent.Query().Where(offerevent.OfferIDIn(ids...)).
		Select(offerevent.FieldOfferID, offerevent.FieldPayout).All(ctx)
	if err != nil {
		return nil, err
	}
	byOffer := map[int][]*ent.OfferEvent{}
	for _, e := range evs {
		byOffer[e.OfferID] = append(byOffer[e.OfferID], e)
	}
	copies := make([]*ent.Offer, len(offers))
	for i, o := range offers {
		c := *o
		c.Edges.Events = byOffer[o.ID]
		copies[i] = &c
	}
	return clicks.Availabilities(ctx, r.db(ctx), r.dialect, accountID, copies, now)
}

// availabilityFilter is OfferWhereInput.availability as a predicate. The states an offer's row
// decides (status, schedule) are conditions on it; the others judge the account's active
// offers within their schedule now (their spend and counters read in one statement,
// budget.ExhaustedByOffer), and name the few that are not clickable (so CLICKABLE is "in
// schedule and not one of those", never a list of every offer).
func (r *Resolver) availabilityFilter(ctx context.Context, want []model.OfferAvailability) (predicate.Offer, error) {
	accountID, err := viewerID(ctx)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	started := offer.Or(offer.StartsAtIsNil(), offer.StartsAtLTE(now))
	inWindow := offer.And(offer.StatusEQ(offer.StatusACTIVE), started, offer.Or(offer.EndsAtIsNil(), offer.EndsAtGT(now)))
	judged := map[clicks.Availability][]int{}
	live, err := r.db(ctx).Offer.Query().Where(inWindow).All(ctx)
	if err != nil {
		return nil, err
	}
	avail, err := r.judge(ctx, accountID, live, now)
	if err != nil {
		return nil, err
	}
	var notClickable []int
	for id, a := range avail {
		judged[a] = append(judged[a], id)
		if a != clicks.Clickable {
			notClickable = append(notClickable, id)
		}
	}
	var anyOf []predicate.Offer
	for _, a := range want {
		switch clicks.Availability(a) {
		case clicks.Clickable:
			anyOf = append(anyOf, offer.And(inWindow, offer.IDNotIn(notClickable...)))
		case clicks.Draft:
			anyOf = append(anyOf, offer.StatusEQ(offer.StatusDRAFT), offer.IDIn(judged[clicks.Draft]...))
		case clicks.Paused:
			anyOf = append(anyOf, offer.StatusEQ(offer.StatusPAUSED))
		case clicks.Ended:
			anyOf = append(anyOf, offer.StatusEQ(offer.StatusENDED),
				offer.And(offer.StatusEQ(offer.StatusACTIVE), started, offer.EndsAtLTE(now)))
		case clicks.NotStarted:
			anyOf = append(anyOf, offer.And(offer.StatusEQ(offer.StatusACTIVE), offer.StartsAtGT(now)))
		case clicks.OutOfBudget, clicks.Capped:
			anyOf = append(anyOf, offer.IDIn(judged[clicks.Availability(a)]...))
		}
	}
	if len(anyOf) == 0 {
		return offer.IDIn(), nil // an empty list matches nothing
	}
	return offer.Or(anyOf...), nil
}

// offerwall answers Query.offerwall.
func (r *queryResolver) offerwall(ctx context.Context, in model.OfferwallMember, first *int, after *entgql.Cursor[int]) (*model.OfferCardConnection, error) {
	accountID, err := viewerID(ctx)
	if err != nil {
		return nil, err
	}
	first, _, err = pageSize(first, nil)
	if err != nil {
		return nil, err
	}
	if id := in.PubMemberID; strings.TrimSpace(id) == "" || len(id) > clicks.MaxParamLength || strings.ContainsFunc(id, func(r rune) bool { return r < ' ' }) {
		return nil, errcode.Invalid("member.pubMemberID", "must be non-empty text of at most %d bytes, without control characters", clicks.MaxParamLength)
	}
	if in.Country != nil {
		c := strings.ToUpper(strings.TrimSpace(*in.Country))
		if !targeting.KnownCountry(c) {
			return nil, errcode.Invalid("member.country", "must be an ISO 3166-1 alpha-2 code, e.g. US")
		}
		in.Country = &c
	}
	member := offerwall.MemberOf(ctx, in.PubMemberID, in.Country, in.Platform)
	start := 0
	if after != nil {
		start = after.ID
	}
	offers, more, next, err := r.catalog.Feed(ctx, r.db(ctx), r.dialect, accountID, member, start, *first, time.Now())
	if err != nil {
		return nil, err
	}
	conn := &model.OfferCardConnection{Edges: []*model.OfferCardEdge{}, PageInfo: &entgql.PageInfo[int]{HasNextPage: more, HasPreviousPage: start > 0}}
	query := clickQuery(member.ID)
	for _, o := range offers {
		conn.Edges = append(conn.Edges, &model.OfferCardEdge{Node: r.card(o, query), Cursor: entgql.Cursor[int]{ID: o.ID}})
	}
	if n := len(conn.Edges); n > 0 {
		conn.PageInfo.StartCursor, conn.PageInfo.EndCursor = &conn.Edges[0].Cursor, &conn.Edges[n-1].Cursor
	}
	if more {
		// Where to go on, even when the page ended early with few or no cards.
		conn.PageInfo.EndCursor = &entgql.Cursor[int]{ID: next}
	}
	return conn, nil
}

// clickQuery is the query of a card's click URL for member, the same on every card of a page.
func clickQuery(member string) string {
	return "?" + url.Values{"pub_member_id": {member}}.Encode()
}

// card is what an offerwall shows of an offer; its click URL ends in query (clickQuery), which
// names the member.
func (r *Resolver) card(o *ent.Offer, query string) *model.OfferCard {
	c := &model.OfferCard{
		ID: o.ID, Name: o.Name, Headline: o.Headline, Description: o.Description, CallToAction: o.CallToAction,
		ImageURLs: o.ImageUrls, Terms: o.Terms, Currency: o.Currency, Events: make([]*model.OfferCardEvent, 0, len(o.Edges.Events)),
		ClickURL: r.baseURL + "/click/" + strconv.Itoa(o.ID) + query,
	}
	if c.ImageURLs == nil {
		c.ImageURLs = []string{}
	}
	for _, e := range o.Edges.Events {
		ce := &model.OfferCardEvent{Name: e.Name, Payout: e.Payout}
		if e.PayoutType == offerevent.PayoutTypePERCENT {
			ce.PayoutPercent, ce.PayoutCap = e.PayoutPercent, e.PayoutCap
		}
		c.Events = append(c.Events, ce)
	}
	return c
}
