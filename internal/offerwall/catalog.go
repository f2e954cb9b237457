package offerwall

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/membercompletion"
	"github.com/gokart/gokart/ent/offer"
	"github.com/gokart/gokart/ent/offerevent"
	"github.com/gokart/gokart/internal/targeting"
)

// DefaultCatalogOffers is how many offers a Catalog keeps, all accounts together, unless told.
const DefaultCatalogOffers = 100_000

// catalogMaxAge bounds how long a catalog is kept even when its version stays: a change written
// by a replica whose clock lags behind the latest updated_at would not move the version.
const catalogMaxAge = time.Minute

// Catalog keeps each account's offerwall catalog in memory: its active, unarchived, unended
// offers with their events, everything a card and the click rules read from the offer's own
// rows. Those rows change when the account edits an offer, seldom; what changes with every
// click and conversion (spend, caps, the member's completions) and the time (schedule) is
// judged afresh on every page. So a page reads, besides the catalog's version (one index
// probe), only the member's completions and the limits of the offers it shows, however many
// offers the account has and whichever part of the catalog the member is targeted to.
//
// The version is the latest updated_at of the account's offers and events: every change to an
// offer or its events touches the offer's updated_at (the wizard's steps, status changes,
// archiving; events are only removed together with a change to their offer), so a page never
// shows a catalog older than the last committed change it can see. A catalog larger than a
// quarter of the limit is not kept: those accounts' pages read the database (Feed) instead.
type Catalog struct {
	max int

	mu      sync.Mutex
	entries map[int]*catalogEntry
	kept    int    // offers in all entries
	tick    uint64 // for least-recently-used eviction
}

type catalogEntry struct {
	version  string
	read     time.Time
	offers   []*ent.Offer // in id order, read-only once published
	tooLarge bool         // the account's catalog is over the limit: read the database
	used     uint64
	ready    chan struct{} // closed once the entry's read is done
	err      error
}

// NewCatalog returns a catalog keeping at most max offers; max < 1 keeps none (every page
// reads the database).
func NewCatalog(max int) *Catalog {
	return &Catalog{max: max, entries: map[int]*catalogEntry{}}
}

// Feed is the package's Feed, from the account's catalog when it is kept; see Feed for what it
// returns.
func (c *Catalog) Feed(ctx context.Context, db *ent.Client, dialectName string, accountID int, member Member, after, first int, now time.Time) (cards []*ent.Offer, more bool, next int, err error) {
	if c == nil || c.max < 1 {
		return Feed(ctx, db, dialectName, accountID, member, after, first, now)
	}
	offers, ok, err := c.offers(ctx, db, accountID)
	if err != nil {
		return nil, false, 0, err
	}
	if !ok {
		return Feed(ctx, db, dialectName, accountID, member, after, first, now)
	}
	i := sort.Search(len(offers), func(i int) bool { return offers[i].ID > after })
	chunk := first + 1 + spare(first)
	for range maxChunks {
		var window []*ent.Offer
		for ; i < len(offers) && len(window) < chunk; i++ {
			o := offers[i]
			if shown(o, member, now) {
				window = append(window, o)
			}
		}
		window, err = uncompleted(ctx, db, accountID, member.ID, window)
		if err != nil {
			return nil, false, 0, err
		}
		var full bool
		if cards, full, err = take(ctx, db, accountID, cards, window, first, now); err != nil || full {
			return cards, full, lastID(cards), err
		}
		if i == len(offers) {
			return cards, false, 0, nil
		}
	}
	return cards, true, offers[i-1].ID, nil
}

// shown is what the catalog decides in memory: schedule and targeting.
func shown(o *ent.Offer, m Member, now time.Time) bool {
	if (o.StartsAt != nil && now.Before(*o.StartsAt)) || (o.EndsAt != nil && !now.Before(*o.EndsAt)) {
		return false
	}
	return targeting.Miss(o.Countries, o.Platforms, m.Country, m.Platform) == ""
}

// uncompleted leaves out the offers that allow one completion per member of which the member
// has completed every event: one statement for the window, none when no offer of it allows
// only one.
func uncompleted(ctx context.Context, db *ent.Client, accountID int, member string, window []*ent.Offer) ([]*ent.Offer, error) {
	var events []int
	for _, o := range window {
		if o.OneCompletionPerMember {
			for _, e := range o.Edges.Events {
				events = append(events, e.ID)
			}
		}
	}
	if len(events) == 0 {
		return window, nil
	}
	done, err := db.MemberCompletion.Query().
		Where(membercompletion.AccountID(accountID), membercompletion.PubMemberID(member), membercompletion.OfferEventIDIn(events...)).
		Select(membercompletion.FieldOfferEventID).Ints(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the member's completions: %w", err)
	}
	if len(done) == 0 {
		return window, nil
	}
	completed := make(map[int]bool, len(done))
	for _, id := range done {
		completed[id] = true
	}
	out := window[:0:0]
	for _, o := range window {
		if !o.OneCompletionPerMember || slices.ContainsFunc(o.Edges.Events, func(e *ent.OfferEvent) bool { return !completed[e.ID] }) {
			out = append(out, o)
		}
	}
	return out, nil
}

// offers returns the account's catalog as of its current version, reading it when that
// changed; ok is false when the catalog is too large to keep.
func (c *Catalog) offers(ctx context.Context, db *ent.Client, accountID int) ([]*ent.Offer, bool, error) {
	for {
		version, err := catalogVersion(ctx, db, accountID)
		if err != nil {
			return nil, false, err
		}
		c.mu.Lock()
		e := c.entries[accountID]
		if e != nil && e.version == version && time.Since(e.read) < catalogMaxAge {
			c.tick++
			e.used = c.tick
			c.mu.Unlock()
			<-e.ready
			if e.err != nil {
				return nil, false, e.err
			}
			return e.offers, !e.tooLarge, nil
		}
		if e != nil {
			select {
			case <-e.ready:
			default:
				// Another page is reading a version; wait for it, then ask for the version
				// again (the one read may be older or newer than this page's).
				c.mu.Unlock()
				select {
				case <-e.ready:
					continue
				case <-ctx.Done():
					return nil, false, ctx.Err()
				}
			}
			c.kept -= len(e.offers)
		}
		e = &catalogEntry{version: version, read: time.Now(), ready: make(chan struct{})}
		c.tick++
		e.used = c.tick
		c.entries[accountID] = e
		c.mu.Unlock()

		e.offers, e.tooLarge, e.err = c.read(ctx, db, accountID)
		c.mu.Lock()
		if e.err != nil {
			delete(c.entries, accountID)
		} else {
			c.kept += len(e.offers)
			c.evict(accountID)
		}
		close(e.ready)
		c.mu.Unlock()
		return e.offers, e.err == nil && !e.tooLarge, e.err
	}
}

// evict drops the least recently used catalogs (but keep's) until the kept offers fit.
func (c *Catalog) evict(keep int) {
	for c.kept > c.max {
		victim, oldest := 0, ^uint64(0)
		for id, e := range c.entries {
			if id != keep && e.used < oldest && e.isReady() {
				victim, oldest = id, e.used
			}
		}
		if victim == 0 {
			return
		}
		c.kept -= len(c.entries[victim].offers)
		delete(c.entries, victim)
	}
}

func (e *catalogEntry) isReady() bool {
	select {
	case <-e.ready:
		return true
	default:
		return false
	}
}

// read reads the account's catalog: two statements, offers then their events in card order.
func (c *Catalog) read(ctx context.Context, db *ent.Client, accountID int) ([]*ent.Offer, bool, error) {
	limit := max(c.max/4, 1)
	offers, err := db.Offer.Query().
		Where(offer.AccountID(accountID), offer.StatusEQ(offer.StatusACTIVE), offer.ArchivedAtIsNil()).
		Order(offer.ByID()).Limit(limit + 1).
		WithEvents(func(q *ent.OfferEventQuery) {
			q.Where(offerevent.AccountID(accountID)).Order(offerevent.ByPosition(), offerevent.ByID())
		}).All(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("read the offerwall catalog: %w", err)
	}
	if len(offers) > limit {
		return nil, true, nil
	}
	kept := offers[:0]
	for _, o := range offers {
		if len(o.Edges.Events) > 0 {
			kept = append(kept, o)
		}
	}
	return kept, false, nil
}

// catalogVersion is the latest change to the account's offers and events, as text.
func catalogVersion(ctx context.Context, db *ent.Client, accountID int) (string, error) {
	rows, err := db.QueryContext(ctx, `SELECT (SELECT MAX(updated_at) FROM offers WHERE account_id = $1),
	(SELECT MAX(updated_at) FROM offer_events WHERE account_id = $1)`, accountID)
	if err != nil {
		return "", fmt.Errorf("read the offerwall catalog's version: %w", err)
	}
	defer rows.Close()
	var offers, events any
	if rows.Next() {
		if err := rows.Scan(&offers, &events); err != nil {
			return "", fmt.Errorf("read the offerwall catalog's version: %w", err)
		}
	}
	return fmt.Sprint(offers, "|", events), rows.Err()
}
