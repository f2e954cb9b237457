// Package clicks records a member's click on an offer and mints the gk_click_id that the
// network echoes back in its postback.
package clicks

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/sync/singleflight"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/account"
	"github.com/gokart/gokart/ent/offer"
	"github.com/gokart/gokart/ent/offerevent"
	"github.com/gokart/gokart/ent/schema"
	"github.com/gokart/gokart/internal/budget"
	"github.com/gokart/gokart/internal/catalogue"
	"github.com/gokart/gokart/internal/errcode"
	"github.com/gokart/gokart/internal/links"
	"github.com/gokart/gokart/internal/money"
	"github.com/gokart/gokart/internal/targeting"
	"github.com/gokart/gokart/internal/viewer"
)

// IDBytes is the randomness of a click id: 128 bits, 22 characters of base64url, which fits
// every network's click-id limit (the shortest, CJ's, is 30).
const IDBytes = 16

// MaxParamLength bounds every pub_* parameter, as the click table does.
const MaxParamLength = schema.MaxIDLength

// NewID returns a fresh, unguessable, URL-safe click id.
func NewID() string {
	b := make([]byte, IDBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

// The rules a click can be refused by, as errcode.Refusal rules (a budget or cap that is full
// is refused with budget's rule: budget_total, offer_cap_daily, …).
const (
	RuleUnknownOffer     = "unknown_offer"
	RuleNotActive        = "offer_not_active"
	RuleNotTargeted      = "not_targeted"
	RuleNotStarted       = "offer_not_started"
	RuleEnded            = "offer_ended"
	RuleNoEvents         = "offer_has_no_events"
	RuleNoTrackingLink   = "offer_has_no_tracking_link"
	RuleBusy             = "offer_changing"
	RuleMemberIDRequired = "pub_member_id_required"
	RuleBadParameter     = "bad_parameter"
)

// ErrUnknownOffer is a malformed or unknown offer id.
var ErrUnknownOffer = errcode.Refuse(http.StatusNotFound, RuleUnknownOffer, "unknown offer")

// Request is one click as it arrives.
type Request struct {
	OfferID   string // the path segment
	Query     url.Values
	IP        string
	UserAgent string
	Now       time.Time
}

// Click is a recorded click and where to send the member.
type Click struct {
	GKID     string
	Location string
}

// CacheTTL is how long a process trusts what it read about an offer for its clicks: its
// schedule, tracking link, events and the settings of its caps. What a click must see as
// committed is not trusted to the cache: the click's INSERT inserts only while the offer is
// ACTIVE and its budget and offer caps have room (read in that statement), so a paused, ended
// or exhausted offer refuses its next click at once, in every process. What may lag by up to
// CacheTTL: an edit of the schedule, tracking link, events or cap settings. A refusal is never
// answered from the cache: the offer is read again first, so a resumed offer takes clicks at once.
var CacheTTL = time.Second

// cacheMax bounds the cache; past it the cache starts over.
const cacheMax = 100_000

type cachedOffer struct {
	o        *ent.Offer
	cheapest money.Micros
	loaded   time.Time
	// fallback is where a refused click goes: the offer's fallback URL, else its account's.
	fallback string
}

// Recorder records clicks on one database, with its own cache of offers. The zero value
// (with Client set) is ready to use.
type Recorder struct {
	Client *ent.Client
	// Dialect is the database's (entgo.io/ent/dialect names), from the storage layer.
	Dialect string

	mu     sync.Mutex
	offers map[int]*cachedOffer
	// accounts is each offer's account (immutable), kept past CacheTTL: only the first read of
	// an offer in a process looks it up by id alone; every reload reads it inside its account
	// (one primary-key probe, one shard on Citus).
	accounts map[int]int
	// loading makes concurrent clicks on an offer that is not cached wait for one read of it,
	// not read it each (a burst on a new offer would otherwise look it up by id alone as many
	// times, on every shard on Citus).
	loading singleflight.Group
	// unrouted is the ids lately found neither in offer_routes nor by id (unknown offers):
	// the read by id alone goes to every shard on Citus, and anyone may ask for any id, so a
	// miss is not read again for unroutedTTL. An offer gokart writes in a transaction has its
	// route from its first commit, so it is never held back by this; one without a route (written
	// outside gokart, or whose route write failed after a one-statement create) is held back for
	// up to unroutedTTL when its id was asked for before it existed.
	unrouted     *lru.Cache[int, time.Time]
	unroutedOnce sync.Once
	batch        *batcher
	batchMu      sync.Once
}

func (r *Recorder) cached(id int) *cachedOffer {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.offers[id]
	if e != nil && time.Since(e.loaded) >= CacheTTL {
		delete(r.offers, id)
		e = nil
	}
	return e
}

func (r *Recorder) forget(id int) {
	r.mu.Lock()
	delete(r.offers, id)
	r.mu.Unlock()
}

// unroutedTTL is how long an unknown offer id is answered without a read by id; maxUnrouted
// bounds how many are kept.
const (
	unroutedTTL = 10 * time.Second
	maxUnrouted = 4096
)

func (r *Recorder) unroutedIDs() *lru.Cache[int, time.Time] {
	r.unroutedOnce.Do(func() { r.unrouted, _ = lru.New[int, time.Time](maxUnrouted) })
	return r.unrouted
}

// missedLately is whether id was found unknown less than unroutedTTL ago.
func (r *Recorder) missedLately(id int) bool {
	at, ok := r.unroutedIDs().Get(id)
	return ok && time.Since(at) < unroutedTTL
}

func (r *Recorder) missed(id int) { r.unroutedIDs().Add(id, time.Now()) }

// load reads the offer and its events' payouts, once for all the clicks that ask meanwhile.
func (r *Recorder) load(ctx context.Context, id int) (*cachedOffer, error) {
	// The read is shared: one caller's going away must not fail the others'.
	e, err, _ := r.loading.Do(strconv.Itoa(id), func() (any, error) { return r.read(context.WithoutCancel(ctx), id) })
	if err != nil {
		return nil, err
	}
	return e.(*cachedOffer), nil
}

// read reads the offer and its events' payouts and caches them.
func (r *Recorder) read(ctx context.Context, id int) (*cachedOffer, error) {
	client := r.Client
	loaded := time.Now()
	r.mu.Lock()
	accountID, known := r.accounts[id]
	r.mu.Unlock()
	if !known {
		// The offer's route names its account (a reference table on Citus), so that the
		// offer is read on its account's shard alone. An offer without one (written by SQL
		// outside gokart) is read by id.
		route, err := client.OfferRoute.Get(ctx, id)
		switch {
		case err == nil:
			accountID, known = route.AccountID, true
		case !ent.IsNotFound(err):
			return nil, fmt.Errorf("load offer %d: its account: %w", id, err)
		case r.missedLately(id):
			return nil, ErrUnknownOffer
		}
	}
	q := client.Offer.Query().Where(offer.ID(id))
	if known {
		// The account's viewer puts account_id on the events' query too (TenantMixin).
		q, ctx = q.Where(offer.AccountID(accountID)), viewer.ForAccount(ctx, accountID)
	} else {
		ctx = viewer.AsSystem(ctx)
	}
	o, err := q.WithEvents(func(q *ent.OfferEventQuery) { q.Select(offerevent.FieldPayout) }).WithAccount(func(q *ent.AccountQuery) { q.Select(account.FieldFallbackURL) }).Only(ctx)
	if ent.IsNotFound(err) {
		if !known {
			r.missed(id)
		}
		return nil, ErrUnknownOffer
	}
	if err != nil {
		return nil, fmt.Errorf("load offer %d: %w", id, err)
	}
	e := &cachedOffer{o: o, loaded: loaded, fallback: o.FallbackURL}
	if e.fallback == "" && o.Edges.Account != nil {
		e.fallback = o.Edges.Account.FallbackURL
	}
	e.cheapest = Cheapest(o.Edges.Events)
	r.mu.Lock()
	if r.offers == nil || len(r.offers) >= cacheMax {
		r.offers = map[int]*cachedOffer{}
	}
	r.offers[id] = e
	if r.accounts == nil || len(r.accounts) >= cacheMax {
		r.accounts = map[int]int{}
	}
	r.accounts[id] = o.AccountID
	r.mu.Unlock()
	return e, nil
}

// Record checks that the offer takes clicks, records the click and returns the redirect. A
// *errcode.Refusal says why not (with Redirect set to the fallback URL, when the offer or its
// account has one and the offer is gone for this member: every 410); any other error is the
// database's.
func (r *Recorder) Record(ctx context.Context, req Request) (*Click, error) {
	c, e, err := r.record(ctx, req)
	if ref, ok := errcode.AsRefusal(err); ok && ref.Status == http.StatusGone && e != nil && e.fallback != "" {
		with := *ref
		with.Redirect = links.WithReason(e.fallback, ref.Rule)
		return nil, &with
	}
	return c, err
}

func (r *Recorder) record(ctx context.Context, req Request) (*Click, *cachedOffer, error) {
	client := r.Client
	id, err := strconv.Atoi(req.OfferID)
	if err != nil || id <= 0 || strconv.Itoa(id) != req.OfferID {
		return nil, nil, ErrUnknownOffer
	}
	now := req.Now
	if now.IsZero() {
		now = time.Now()
	}
	fresh := false
	e := r.cached(id)
	if e == nil {
		if e, err = r.load(ctx, id); err != nil {
			return nil, e, err
		}
		fresh = true
	}
	params, err := readParams(req.Query)
	if err != nil {
		return nil, e, err
	}
	for attempt := 0; ; attempt++ {
		refusal := refuse(e, params, req, now)
		if refusal != nil && !fresh {
			// Never refuse from the cache: read the offer again.
			if e, err = r.load(ctx, id); err != nil {
				return nil, e, err
			}
			fresh = true
			refusal = refuse(e, params, req, now)
		}
		if refusal != nil {
			return nil, e, refusal
		}
		c, ok, err := r.insert(ctx, e, params, req, now)
		if err != nil {
			return nil, e, err
		}
		if ok {
			return c, e, nil
		}
		// The offer is not ACTIVE, or a budget or cap is full: find out which, on a fresh read.
		r.forget(id)
		if e, err = r.load(ctx, id); err != nil {
			return nil, e, err
		}
		fresh = true
		if refusal := refuse(e, params, req, now); refusal != nil {
			return nil, e, refusal
		}
		rule, err := budget.Exhausted(viewer.ForAccount(ctx, e.o.AccountID), client, r.Dialect, e.o, e.cheapest, now)
		if err != nil {
			return nil, e, fmt.Errorf("check limits of offer %d: %w", id, err)
		}
		if rule != "" {
			return nil, e, errcode.Refuse(http.StatusGone, rule, "offer is out of budget or cap (%s)", rule)
		}
		if attempt == 1 {
			// It changed under us twice: let the member retry.
			return nil, e, errcode.Refuse(http.StatusGone, RuleBusy, "offer is not taking clicks right now")
		}
	}
}

// refuse applies the click rules to an offer as read.
func refuse(e *cachedOffer, params map[string]string, req Request, now time.Time) *errcode.Refusal {
	o := e.o
	if refusal := checkOffer(o, now); refusal != nil {
		return refusal
	}
	if o.OneCompletionPerMember && params["pub_member_id"] == "" {
		return errcode.Refuse(http.StatusBadRequest, RuleMemberIDRequired, "pub_member_id is required: the offer allows one completion per member")
	}
	if len(o.Countries) > 0 || len(o.Platforms) > 0 {
		platform, _ := targeting.PlatformOf(req.UserAgent)
		if miss := targeting.Miss(o.Countries, o.Platforms, targeting.CountryOf(req.IP), platform); miss != "" {
			return errcode.Refuse(http.StatusGone, RuleNotTargeted, "not targeted (%s)", miss)
		}
	}
	return nil
}

// insert records the click; ok is false when the offer does not take it (nothing was recorded).
// The statement (see batcher) inserts only while the offer is ACTIVE and can still pay
// (budget.ClickGuard): what Exhausted reads, in the statement that inserts, so it is the
// committed state.
func (r *Recorder) insert(ctx context.Context, e *cachedOffer, params map[string]string, req Request, now time.Time) (*Click, bool, error) {
	o := e.o
	gkID := NewID()
	if sys, ok := catalogue.Lookup(o.IntegrationSystem); ok && len(gkID) > sys.MaxClickIDLength {
		return nil, false, fmt.Errorf("click id of %d characters exceeds %s's limit %d", len(gkID), sys.Code, sys.MaxClickIDLength)
	}
	ua := req.UserAgent
	for len(ua) > schema.MaxUserAgentLength || !utf8.ValidString(ua) {
		ua = strictTruncate(ua, schema.MaxUserAgentLength)
	}
	args := append([]any{gkID, o.ID, o.AccountID,
		params["pub_member_id"], params["pub_click_id"], params["pub_sub_1"], params["pub_sub_2"],
		params["pub_sub_3"], params["pub_sub_4"], params["pub_sub_5"], req.IP, ua, now},
		budget.ClickTerms(o, e.cheapest, now)...)
	r.batchMu.Do(func() { r.batch = newBatcher(r.Client, r.Dialect) })
	err := r.batch.insert(ctx, &row{args: args, gkID: gkID})
	if err == errNotTaken {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("record click on offer %d: %w", o.ID, err)
	}
	return &Click{GKID: gkID, Location: links.FillClickID(o.ClickURLTemplate, gkID)}, true, nil
}

// checkOffer refuses offers that do not take clicks now.
func checkOffer(o *ent.Offer, now time.Time) *errcode.Refusal {
	switch {
	case o.Status != offer.StatusACTIVE:
		return errcode.Refuse(http.StatusGone, RuleNotActive, "offer is not active")
	case o.StartsAt != nil && now.Before(*o.StartsAt):
		return errcode.Refuse(http.StatusGone, RuleNotStarted, "offer has not started yet")
	case o.EndsAt != nil && !now.Before(*o.EndsAt):
		return errcode.Refuse(http.StatusGone, RuleEnded, "offer has ended")
	case len(o.Edges.Events) == 0:
		return errcode.Refuse(http.StatusGone, RuleNoEvents, "offer has no events")
	}
	// Never redirect anywhere but the offer's own tracking link, and only a valid one.
	if links.Validate(o.ClickURLTemplate) != nil {
		return errcode.Refuse(http.StatusGone, RuleNoTrackingLink, "offer has no valid tracking link")
	}
	return nil
}

var paramNames = []string{"pub_member_id", "pub_click_id", "pub_sub_1", "pub_sub_2", "pub_sub_3", "pub_sub_4", "pub_sub_5"}

// readParams takes the publisher's parameters: each at most once, valid UTF-8, bounded.
func readParams(q url.Values) (map[string]string, error) {
	out := make(map[string]string, len(paramNames))
	for _, name := range paramNames {
		vs := q[name]
		if len(vs) == 0 {
			continue
		}
		if len(vs) > 1 && slices.ContainsFunc(vs[1:], func(v string) bool { return v != vs[0] }) {
			return nil, errcode.Refuse(http.StatusBadRequest, RuleBadParameter, "%s is given more than once", name)
		}
		v := vs[0]
		// Control characters are refused: PostgreSQL text takes no NUL, and none belongs in an id.
		if len(v) > MaxParamLength || !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl) {
			return nil, errcode.Refuse(http.StatusBadRequest, RuleBadParameter, "%s must be valid text of at most %d bytes, without control characters", name, MaxParamLength)
		}
		out[name] = v
	}
	return out, nil
}

// strictTruncate cuts s to at most n bytes of valid UTF-8.
func strictTruncate(s string, n int) string {
	s = string([]rune(s)) // replaces invalid bytes
	for len(s) > n {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}
