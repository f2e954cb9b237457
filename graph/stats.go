package graph

import (
	"context"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/offerevent"
	"github.com/gokart/gokart/internal/accounts"
	"github.com/gokart/gokart/internal/stats"
	"github.com/gokart/gokart/internal/viewer"
)

// A page of offers asks for the stats of each offer (and event) in its own resolver. So that the
// page costs one batch of queries rather than one per offer, the first resolver of a list loads
// the reports of every offer of that list (found by walking up the field contexts to the
// nearest list of offers), and the others read them from a cache that lives as long as the
// operation.

// statsBatch is the reports of the offers of one list, for one set of arguments.
type statsBatch struct {
	once    sync.Once
	reports *stats.Reports
	err     error
}

type statsBatchKey struct {
	scope    any // the list's *graphql.FieldContext, or an offer id when there is no list
	from, to int64
	gran     stats.Granularity
	members  bool
}

// opStats is the cache of one operation.
type opStats struct {
	mu      sync.Mutex
	batches map[statsBatchKey]*statsBatch
}

func operationStats(ctx context.Context) *opStats { return &opCacheOf(ctx).stats }

// offerReports returns the reports of offerID's batch.
func (r *Resolver) offerReports(ctx context.Context, offerID int, from, to time.Time, g stats.Granularity) (*stats.Reports, error) {
	v, ok := viewer.FromContext(ctx)
	if !ok || v.System {
		return nil, accounts.ErrUnauthenticated
	}
	acc, err := r.viewerAccount(ctx)
	if err != nil {
		return nil, err
	}
	scope, ids := offerScope(ctx, offerID)
	members := wantsUniqueMembers(ctx)
	key := statsBatchKey{scope: scope, from: from.UnixNano(), to: to.UnixNano(), gran: g, members: members}
	cache := operationStats(ctx)
	cache.mu.Lock()
	b := cache.batches[key]
	if b == nil {
		b = &statsBatch{}
		cache.batches[key] = b
	}
	cache.mu.Unlock()
	b.once.Do(func() {
		b.reports, b.err = stats.Load(ctx, r.db(ctx), stats.Request{
			AccountID: v.AccountID, OfferIDs: ids, From: from, To: to, Granularity: g, TimeZone: acc.TimeZone,
			UniqueMembers: members,
		})
	})
	return b.reports, b.err
}

// eventOfferID is the offer of an event: from the offer above it in the query, from the event
// row, or read now.
func (r *Resolver) eventOfferID(ctx context.Context, ev *ent.OfferEvent) (int, error) {
	for fc := graphql.GetFieldContext(ctx); fc != nil; fc = fc.Parent {
		if o, ok := fc.Result.(*ent.Offer); ok && o != nil {
			return o.ID, nil
		}
	}
	if ev.OfferID != 0 {
		return ev.OfferID, nil
	}
	return r.db(ctx).OfferEvent.Query().Where(offerevent.ID(ev.ID)).QueryOffer().OnlyID(ctx)
}

// wantsUniqueMembers reports whether the stats being resolved select uniqueMembers, in the
// totals or in the series.
func wantsUniqueMembers(ctx context.Context) bool {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || !graphql.HasOperationContext(ctx) {
		return true
	}
	oc := graphql.GetOperationContext(ctx)
	var walk func(sel []graphql.CollectedField) bool
	walk = func(sel []graphql.CollectedField) bool {
		for _, f := range sel {
			if f.Name == "uniqueMembers" {
				return true
			}
			if f.Name == "series" && walk(graphql.CollectFields(oc, f.Selections, nil)) {
				return true
			}
		}
		return false
	}
	return walk(graphql.CollectFields(oc, fc.Field.Selections, nil))
}
