package offerwall

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/offer"
	"github.com/gokart/gokart/ent/offerevent"
	"github.com/gokart/gokart/internal/budget"
	"github.com/gokart/gokart/internal/clicks"
	"github.com/gokart/gokart/internal/inlist"
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
	max   int
	reads *ent.Client // when set, the client of the catalog's statements (NewCatalog)

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
// reads the database). reads, when not nil, is the client the catalog reads and judges its
// pages through instead of the one Feed is given: storage.DB.Generic, since judge's statement
// is of many parts that PostgreSQL would otherwise plan afresh on every page, once its tables
// have statistics (0.6-1 ms of planning for 0.1 ms of work).
func NewCatalog(max int, reads *ent.Client) *Catalog {
	return &Catalog{max: max, reads: reads, entries: map[int]*catalogEntry{}}
}

// Feed is the package's Feed, from the account's catalog when it is kept; see Feed for what it
// returns. A window of the catalog is judged in one statement: the member's completions and
// the offers' limits, and with the first window the catalog's version, so that a catalog read
// less than catalogMaxAge ago costs no statement of its own. When the version has moved, the
// catalog is read again and the page judged anew.
func (c *Catalog) Feed(ctx context.Context, db *ent.Client, dialectName string, accountID int, member Member, after, first int, now time.Time) (cards []*ent.Offer, more bool, next int, err error) {
	if c == nil || c.max < 1 {
		return Feed(ctx, db, dialectName, accountID, member, after, first, now)
	}
	// The catalog's statements go through reads; Feed's (a page with a LIMIT of its own, whose
	// plan depends on it) through db.
	reads := db
	if c.reads != nil {
		reads = c.reads
	}
	e, verify, version := c.recent(accountID), true, ""
	for {
		if e == nil {
			if e, err = c.entry(ctx, reads, accountID, version); err != nil {
				return nil, false, 0, err
			}
			verify = false // entry has just read the version
		}
		if e.tooLarge {
			return Feed(ctx, db, dialectName, accountID, member, after, first, now)
		}
		if cards, more, next, version, err = page(ctx, reads, dialectName, accountID, e, verify, member, after, first, now); version == "" {
			return cards, more, next, err
		}
		e = nil
	}
}

// page is Feed from the catalog entry e; with verify, moved is the account's version when it
// is no longer e's (and nothing else is returned), "" when it is.
func page(ctx context.Context, db *ent.Client, dialectName string, accountID int, e *catalogEntry, verify bool, member Member, after, first int, now time.Time) (cards []*ent.Offer, more bool, next int, moved string, err error) {
	offers := e.offers
	i := sort.Search(len(offers), func(i int) bool { return offers[i].ID > after })
	chunk := first + 1 + spare(first)
	for range maxChunks {
		var window []*ent.Offer
		for ; i < len(offers) && len(window) < chunk; i++ {
			if o := offers[i]; shown(o, member, now) {
				window = append(window, o)
			}
		}
		j, err := judge(ctx, db, dialectName, accountID, member.ID, window, verify, now)
		if err != nil {
			return nil, false, 0, "", err
		}
		if verify && j.version != e.version {
			return nil, false, 0, j.version, nil
		}
		verify = false
		var full bool
		if cards, full = takeClickable(cards, j.window, j.avail, first); full {
			return cards, true, lastID(cards), "", nil
		}
		if i == len(offers) {
			return cards, false, 0, "", nil
		}
	}
	return cards, true, offers[i-1].ID, "", nil
}

// judged is a window of the catalog as judge left it: without the offers the member has
// completed, with the availability of the others, and the catalog's version when asked.
type judged struct {
	window  []*ent.Offer
	avail   map[int]clicks.Availability
	version string
}

// judge reads, in one statement, what a window needs from the database: the catalog's version
// (with version), the member's completions of the window's one-completion offers, and the
// limits of the offers whose own rules let a click through (clicks.AvailabilityCheck). The
// limits of an offer the member has completed are read too, and not used.
func judge(ctx context.Context, db *ent.Client, dialectName string, accountID int, member string, window []*ent.Offer, version bool, now time.Time) (judged, error) {
	ac := clicks.NewAvailabilityCheck(window, now)
	query, args := judgeSQL(dialectName, accountID, member, window, version, ac.Limits())
	j := judged{window: window}
	completed := map[int]bool{}
	if query != "" {
		rows, err := db.QueryContext(ctx, query, args...)
		if err != nil {
			return j, fmt.Errorf("read the offerwall's completions and limits: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var (
				kind, key string
				id        int
				value     int64
			)
			if err := rows.Scan(&kind, &id, &key, &value); err != nil {
				return j, fmt.Errorf("read the offerwall's completions and limits: %w", err)
			}
			switch kind {
			case "v":
				j.version = key
			case "c":
				completed[id] = true
			default:
				ac.Limits().Add(id, key, value)
			}
		}
		if err := rows.Err(); err != nil {
			return j, fmt.Errorf("read the offerwall's completions and limits: %w", err)
		}
	}
	if len(completed) > 0 {
		j.window = window[:0:0]
		for _, o := range window {
			if !o.OneCompletionPerMember || slices.ContainsFunc(o.Edges.Events, func(e *ent.OfferEvent) bool { return !completed[e.ID] }) {
				j.window = append(j.window, o)
			}
		}
	}
	j.avail = ac.Judge()
	return j, nil
}

// judgeSQL is judge's statement, "" when it has nothing to read.
func judgeSQL(dialectName string, accountID int, member string, window []*ent.Offer, version bool, limits *budget.LimitCheck) (string, []any) {
	args := []any{accountID}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	var selects []string
	if version {
		selects = append(selects, `SELECT 'v', 0, `+versionSQL+`, 0`)
	}
	var events []int64
	for _, o := range window {
		if o.OneCompletionPerMember {
			for _, e := range o.Edges.Events {
				events = append(events, int64(e.ID))
			}
		}
	}
	if len(events) > 0 {
		selects = append(selects, `SELECT 'c', offer_event_id, '', 0 FROM member_completions
WHERE account_id = $1 AND pub_member_id = `+arg(member)+` AND `+inlist.Ints(dialectName, "offer_event_id", arg, events))
	}
	for _, l := range limits.Selects(dialectName, "$1", arg) {
		selects = append(selects, `SELECT 'l', l.* FROM (`+l+`) l`)
	}
	return strings.Join(selects, "\nUNION ALL "), args
}

// shown is what the catalog decides in memory: schedule and targeting.
func shown(o *ent.Offer, m Member, now time.Time) bool {
	if (o.StartsAt != nil && now.Before(*o.StartsAt)) || (o.EndsAt != nil && !now.Before(*o.EndsAt)) {
		return false
	}
	return targeting.Miss(o.Countries, o.Platforms, m.Country, m.Platform) == ""
}

// recent is the account's catalog when one was read less than catalogMaxAge ago, nil when none
// is (or its read is still under way); its version is not checked.
func (c *Catalog) recent(accountID int) *catalogEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[accountID]
	if e == nil || !e.isReady() || e.err != nil || time.Since(e.read) >= catalogMaxAge {
		return nil
	}
	c.tick++
	e.used = c.tick
	return e
}

// entry returns the account's catalog as of its current version, reading it when that
// changed; known is that version when the caller has just read it ("" when not).
func (c *Catalog) entry(ctx context.Context, db *ent.Client, accountID int, known string) (*catalogEntry, error) {
	for {
		version := known
		known = ""
		if version == "" {
			var err error
			if version, err = catalogVersion(ctx, db, accountID); err != nil {
				return nil, err
			}
		}
		c.mu.Lock()
		e := c.entries[accountID]
		if e != nil && e.version == version && time.Since(e.read) < catalogMaxAge {
			c.tick++
			e.used = c.tick
			c.mu.Unlock()
			<-e.ready
			if e.err != nil {
				return nil, e.err
			}
			return e, nil
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
					return nil, ctx.Err()
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
		if e.err != nil {
			return nil, e.err
		}
		return e, nil
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

// versionSQL is the catalog's version: the latest change to the account's offers and events
// ($1), as text.
const versionSQL = `COALESCE(CAST((SELECT MAX(updated_at) FROM offers WHERE account_id = $1) AS TEXT), '') || '|' ||
	COALESCE(CAST((SELECT MAX(updated_at) FROM offer_events WHERE account_id = $1) AS TEXT), '')`

// catalogVersion reads the account's catalog version (versionSQL).
func catalogVersion(ctx context.Context, db *ent.Client, accountID int) (string, error) {
	rows, err := db.QueryContext(ctx, `SELECT `+versionSQL, accountID)
	if err != nil {
		return "", fmt.Errorf("read the offerwall catalog's version: %w", err)
	}
	defer rows.Close()
	var version string
	if rows.Next() {
		if err := rows.Scan(&version); err != nil {
			return "", fmt.Errorf("read the offerwall catalog's version: %w", err)
		}
	}
	return version, rows.Err()
}
