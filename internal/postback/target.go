package postback

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/conversion"
	"github.com/gokart/gokart/ent/offer"
	"github.com/gokart/gokart/ent/offerevent"
	"github.com/gokart/gokart/ent/schema"
	"github.com/gokart/gokart/internal/budget"
	"github.com/gokart/gokart/internal/catalogue"
	"github.com/gokart/gokart/internal/lifecycle"
	"github.com/gokart/gokart/internal/money"
)

// target is what a postback is about, read in one statement: the account of its key, the
// click in that account, the click's offer and the event the postback names. Every path
// (postback, manual review) fills every field before a rule reads it.
type target struct {
	accountID int
	key       string
	allowlist []string
	// clickID is 0 when the click id is unknown in the account.
	clickID  int
	member   string
	offerID  int
	system   catalogue.Code
	currency string
	// terms.EventID is 0 until the event is resolved.
	terms  budget.Terms
	payout money.Micros
	// allowRepeats is the event's: a click converts on it once per network conversion id.
	allowRepeats bool
	// percent is a revenue-share event's share of the sale amount (nil: a fixed payout), at
	// most payoutCap per conversion (nil: no cap).
	percent, payoutCap *money.Micros
	// test is a test click's (createTestClick): its conversions are marked test and never
	// charged (chargeable).
	test bool
}

// payoutFor is what a conversion of the target's event pays for a sale amount; was is what it
// paid so far (a fixed payout is not repriced when the event's payout is edited later).
func (t target) payoutFor(amount *money.Micros, was money.Micros) money.Micros {
	if t.percent == nil {
		return was
	}
	if amount == nil {
		return 0
	}
	p := money.Percent(*amount, *t.percent)
	if t.payoutCap != nil && p > *t.payoutCap {
		p = *t.payoutCap
	}
	return p
}

// repeatKey is the part of a new conversion's identity beside its click and event: empty on
// an event without repeats (one conversion per click), else the network's conversion id.
func (t target) repeatKey(ncid string) string {
	if t.allowRepeats {
		return ncid
	}
	return ""
}

// lookupSQL reads everything a postback needs before it writes, for the common case in one
// statement, inside the account its key resolved to ($4, see keyAccounts): every tenant table is
// read by account_id equal to that one value, so on Citus the statement goes to the account's
// shard alone. Outer joins tell which part is missing. It runs in the postback's transaction, so
// the offer's status and limits are the committed ones (never a cache): an ENDED offer refuses
// at once.
const lookupSQL = `SELECT a.id, a.postback_key, a.postback_allowlist,
 c.id, c.pub_member_id, c.test,
 o.id, o.integration_system, o.status, o.currency, o.budget_total, o.budget_daily, o.one_completion_per_member,
 o.cap_daily, o.cap_weekly, o.cap_monthly, o.cap_total, o.time_zone,
 e.id, e.payout, e.cap_daily, e.cap_weekly, e.cap_monthly, e.cap_total, e.allow_repeats,
 e.payout_type = 'PERCENT', e.payout_percent, e.payout_cap
FROM accounts a
LEFT JOIN clicks c ON c.account_id = $4 AND c.gk_click_id = $2
LEFT JOIN offers o ON o.account_id = $4 AND o.id = c.offer_id
LEFT JOIN offer_events e ON e.account_id = $4 AND e.offer_id = o.id AND e.event_id = $3
WHERE a.postback_key = $1 AND a.id = $4`

// accountOfKeySQL resolves a postback key to its account (accounts is a reference table on
// Citus: read on the coordinator).
const accountOfKeySQL = `SELECT id FROM accounts WHERE postback_key = $1`

// keyAccounts remembers the account of each postback key seen to name one, so that a postback
// costs one lookup statement. A key rotated away stops matching lookupSQL (which checks the key
// again), is forgotten and resolved afresh. Keys that name no account are never kept.
type keyAccounts struct {
	mu sync.Mutex
	m  map[string]int
}

// keyAccountsMax bounds the map; past it the map starts over.
const keyAccountsMax = 10_000

func (k *keyAccounts) get(key string) (int, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	id, ok := k.m[key]
	return id, ok
}

func (k *keyAccounts) put(key string, id int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.m == nil || len(k.m) >= keyAccountsMax {
		k.m = map[string]int{}
	}
	k.m[key] = id
}

func (k *keyAccounts) forget(key string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.m, key)
}

type rowQuerier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// lookup reads the target of a postback; found is false when the key names no account.
func lookup(ctx context.Context, q rowQuerier, keys *keyAccounts, key, clickID, eventID string) (t target, found bool, err error) {
	for attempt := 0; attempt < 2 && !found; attempt++ {
		accountID, known := keys.get(key)
		if !known {
			if accountID, found, err = accountOfKey(ctx, q, key); err != nil || !found {
				return target{}, false, err
			}
			keys.put(key, accountID)
		}
		t, found, err = lookupIn(ctx, q, accountID, key, clickID, eventID)
		if err != nil {
			return target{}, false, err
		}
		if !found {
			keys.forget(key) // rotated since: resolve it again
		}
	}
	return t, found, nil
}

// queryRow runs a query that yields at most one row and scans it into dest; found is false when
// it yields none.
func queryRow(ctx context.Context, q rowQuerier, query string, args []any, dest ...any) (found bool, err error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return false, err
	}
	if rows.Next() {
		found = true
		err = rows.Scan(dest...)
	}
	if err == nil {
		err = rows.Err()
	}
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	return found, err
}

// accountOfKey resolves a postback key.
func accountOfKey(ctx context.Context, q rowQuerier, key string) (id int, found bool, err error) {
	found, err = queryRow(ctx, q, accountOfKeySQL, []any{key}, &id)
	if err != nil {
		return 0, false, fmt.Errorf("resolve postback key: %w", err)
	}
	return id, found, nil
}

// lookupIn reads the target of a postback inside the account its key resolved to.
func lookupIn(ctx context.Context, q rowQuerier, accountID int, key, clickID, eventID string) (t target, found bool, err error) {
	var (
		allowlist, member, system, status, currency, tz sql.NullString
		payoutPercent, payoutCap                        sql.NullInt64
		clID, offerID, evID, evPayout                   sql.NullInt64
		budgetTotal, budgetDaily                        sql.NullInt64
		oneCompletion, allowRepeats, share, test        sql.NullBool
		oCaps, eCaps                                    [4]sql.NullInt64
	)
	found, err = queryRow(ctx, q, lookupSQL, []any{key, clickID, eventID, accountID},
		&t.accountID, &t.key, &allowlist, &clID, &member, &test,
		&offerID, &system, &status, &currency, &budgetTotal, &budgetDaily, &oneCompletion,
		&oCaps[0], &oCaps[1], &oCaps[2], &oCaps[3], &tz,
		&evID, &evPayout, &eCaps[0], &eCaps[1], &eCaps[2], &eCaps[3], &allowRepeats,
		&share, &payoutPercent, &payoutCap)
	if err != nil {
		return target{}, false, fmt.Errorf("look up postback: %w", err)
	}
	if !found {
		return target{}, false, nil
	}
	if allowlist.Valid && allowlist.String != "" && allowlist.String != "null" {
		if err := json.Unmarshal([]byte(allowlist.String), &t.allowlist); err != nil {
			// An unreadable allowlist admits nobody rather than everybody.
			t.allowlist = []string{"invalid allowlist"}
		}
	}
	if !clID.Valid || !offerID.Valid {
		return t, true, nil
	}
	t.clickID, t.member, t.test = int(clID.Int64), member.String, test.Bool
	t.offerID, t.system, t.currency = int(offerID.Int64), catalogue.Code(system.String), currency.String
	t.terms = budget.Terms{
		OfferID: t.offerID, Status: offer.Status(status.String), TimeZone: tz.String,
		BudgetTotal: microsOrNil(budgetTotal), BudgetDaily: microsOrNil(budgetDaily),
		OneCompletionPerMember: oneCompletion.Bool,
		OfferCaps:              budget.Caps{intOrNil(oCaps[0]), intOrNil(oCaps[1]), intOrNil(oCaps[2]), intOrNil(oCaps[3])},
	}
	if evID.Valid {
		t.terms.EventID, t.payout = int(evID.Int64), money.Micros(evPayout.Int64)
		t.terms.EventCaps = budget.Caps{intOrNil(eCaps[0]), intOrNil(eCaps[1]), intOrNil(eCaps[2]), intOrNil(eCaps[3])}
		t.allowRepeats = allowRepeats.Bool
		if share.Bool {
			t.percent, t.payoutCap = microsOrNil(payoutPercent), microsOrNil(payoutCap)
			if t.percent == nil {
				t.percent = new(money.Micros) // a share of nothing rather than a fixed payout
			}
		}
	}
	return t, true, nil
}

// withEvent sets the target's event.
func (t *target) withEvent(ev *ent.OfferEvent) {
	t.terms.EventID, t.payout = ev.ID, ev.Payout
	t.terms.EventCaps = budget.Caps{ev.CapDaily, ev.CapWeekly, ev.CapMonthly, ev.CapTotal}
	t.allowRepeats = ev.AllowRepeats
	t.percent, t.payoutCap = nil, nil
	if ev.PayoutType == offerevent.PayoutTypePERCENT {
		t.percent, t.payoutCap = ev.PayoutPercent, ev.PayoutCap
		if t.percent == nil {
			t.percent = new(money.Micros)
		}
	}
}

// targetOf is the target of a known conversion, for manual review.
func targetOf(o *ent.Offer, ev *ent.OfferEvent, conv *ent.Conversion) target {
	t := target{accountID: conv.AccountID, clickID: conv.ClickID, member: conv.PubMemberID, test: conv.Test,
		offerID: o.ID, system: o.IntegrationSystem, currency: o.Currency, terms: budget.TermsOf(o, nil)}
	t.withEvent(ev)
	return t
}

// eventColumns are the columns of an event that withEvent reads: the postback path reads no more.
var eventColumns = []string{offerevent.FieldID, offerevent.FieldPayout, offerevent.FieldCapDaily, offerevent.FieldCapWeekly,
	offerevent.FieldCapMonthly, offerevent.FieldCapTotal, offerevent.FieldAllowRepeats, offerevent.FieldPayoutType,
	offerevent.FieldPayoutPercent, offerevent.FieldPayoutCap}

// resolveEvent finds the event when the postback's cnv_event_id is not an exact event id: a
// single-event offer's only event when the postback names none, else the tolerant match key
// (catalogue.EventMatchKey). missing says why there is none.
func resolveEvent(ctx context.Context, c *ent.Client, t *target, eventID string) (missing string, err error) {
	if eventID == "" {
		evs, err := c.OfferEvent.Query().Where(offerevent.OfferID(t.offerID)).Limit(2).Select(eventColumns...).All(ctx)
		if err != nil {
			return "", fmt.Errorf("load events of offer %d: %w", t.offerID, err)
		}
		if len(evs) != 1 {
			return "cnv_event_id is required for this offer", nil
		}
		t.withEvent(evs[0])
		return "", nil
	}
	ev, err := c.OfferEvent.Query().Where(offerevent.OfferID(t.offerID), offerevent.MatchKey(catalogue.EventMatchKey(eventID))).
		Select(eventColumns...).Only(ctx)
	if ent.IsNotFound(err) {
		return "unknown event", nil
	}
	if err != nil {
		return "", fmt.Errorf("find event of offer %d: %w", t.offerID, err)
	}
	t.withEvent(ev)
	return "", nil
}

// conv is the part of a conversion the postback rules read.
type conv struct {
	id, accountID, clickID, eventID int
	status                          lifecycle.Status
	reason                          string
	payout                          money.Micros
	amount                          *money.Micros
	extras                          map[string]string
	member                          string
	networkConversionID             *string
	// repeatKey is the conversion's (see Conversion.repeat_key): on an event without repeats
	// it is non-empty only for a refused repeat kept REJECTED (refuseRepeat).
	repeatKey string
	createdAt time.Time
	charge    budget.Charge
	// mod is the network's modification that a status change carries, for its history step.
	mod *modification
}

func convOf(c *ent.Conversion) *conv {
	return &conv{id: c.ID, accountID: c.AccountID, clickID: c.ClickID, eventID: c.OfferEventID, status: c.Status,
		reason: c.Reason, payout: c.Payout, amount: c.Amount, extras: c.Extras, member: c.PubMemberID, networkConversionID: c.NetworkConversionID,
		repeatKey: c.RepeatKey, createdAt: c.CreatedAt, charge: budget.Charge{Shard: c.BudgetShard, Counters: c.ChargedCounters}}
}

func (cv *conv) subject(t target) budget.Subject {
	return budget.Subject{AccountID: cv.accountID, Terms: t.terms, Payout: cv.payout, Member: cv.member,
		At: cv.createdAt, ConversionID: cv.id}
}

// insertConversionSQL inserts a conversion unless one with its identity exists (its network
// conversion id, or its click, event and repeat key): of concurrent copies, and of concurrent
// repeats on an event without allowRepeats, exactly one inserts, and the others (which wait
// for it to commit) insert nothing.
const insertConversionSQL = `INSERT INTO conversions (created_at, updated_at, integration_system, network_conversion_id,
 status, payout, amount, currency, pub_member_id, extras, click_id, account_id, offer_id, offer_event_id, reported_currency, repeat_key, test, reason)
VALUES ($1, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
ON CONFLICT DO NOTHING RETURNING id`

// insertConversion inserts the conversion; nil without an error means one with its network
// conversion id, or its click, event and repeat key, exists already (committed: the insert
// waited). A new conversion's reason is empty (NULL) unless it is kept REJECTED at once.
// conversionArgs are insertConversionSQL's arguments, and the extras they store.
func conversionArgs(t target, p Params, to lifecycle.Status, reason, repeatKey string, now time.Time) ([]any, map[string]string, error) {
	extras := map[string]string{}
	for k, v := range p.Extras {
		extras[k] = v
	}
	if p.Payout != nil {
		extras["cnv_payout"] = p.Payout.String()
	}
	if p.Currency != "" {
		extras["cnv_currency"] = p.Currency
	}
	var extrasArg, ncidArg, amountArg any
	if len(extras) > 0 {
		b, err := json.Marshal(extras)
		if err != nil {
			return nil, nil, fmt.Errorf("insert conversion: %w", err)
		}
		extrasArg = string(b)
	}
	if p.ConversionID != "" {
		ncidArg = p.ConversionID
	}
	if p.Amount != nil {
		amountArg = int64(*p.Amount)
	}
	var reportedArg, reasonArg any
	if p.Currency != "" && p.Currency != t.currency {
		reportedArg = p.Currency
	}
	if reason != "" {
		reasonArg = truncate(reason, schema.MaxReasonLength)
	}
	return []any{now, string(t.system), ncidArg,
		string(to), int64(t.payout), amountArg, t.currency, t.member, extrasArg,
		t.clickID, t.accountID, t.offerID, t.terms.EventID, reportedArg, repeatKey, t.test, reasonArg}, extras, nil
}

func insertConversion(ctx context.Context, q rowQuerier, t target, p Params, to lifecycle.Status, reason, repeatKey string, now time.Time) (*conv, error) {
	args, extras, err := conversionArgs(t, p, to, reason, repeatKey, now)
	if err != nil {
		return nil, err
	}
	id := 0
	inserted, err := queryRow(ctx, q, insertConversionSQL, args, &id)
	if err != nil {
		return nil, fmt.Errorf("insert conversion: %w", err)
	}
	if !inserted {
		return nil, nil
	}
	cv := &conv{id: id, accountID: t.accountID, clickID: t.clickID, eventID: t.terms.EventID, status: to, reason: reason,
		repeatKey: repeatKey, payout: t.payout, amount: p.Amount, extras: extras, member: t.member, createdAt: now}
	if p.ConversionID != "" {
		ncid := p.ConversionID
		cv.networkConversionID = &ncid
	}
	return cv, nil
}

// findConversion finds (and on PostgreSQL locks) the conversion the postback is about: by the
// network's conversion id, or else by click, event and repeat key; a different network
// conversion of the same click and event is returned too (the caller refuses it as a repeat).
func findConversion(ctx context.Context, c *ent.Client, postgres bool, t target, ncid string) (*conv, error) {
	lock := func(q *ent.ConversionQuery) *ent.ConversionQuery {
		if postgres {
			return q.ForUpdate()
		}
		return q
	}
	if ncid != "" {
		found, err := lock(c.Conversion.Query().Where(conversion.IntegrationSystemEQ(t.system),
			conversion.NetworkConversionID(ncid))).Only(ctx)
		if err == nil {
			return convOf(found), nil
		}
		if !ent.IsNotFound(err) {
			return nil, fmt.Errorf("find conversion: %w", err)
		}
	}
	found, err := lock(c.Conversion.Query().Where(conversion.ClickID(t.clickID), conversion.OfferEventID(t.terms.EventID),
		conversion.RepeatKey(t.repeatKey(ncid)))).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find conversion: %w", err)
	}
	return convOf(found), nil
}

func microsOrNil(v sql.NullInt64) *money.Micros {
	if !v.Valid {
		return nil
	}
	m := money.Micros(v.Int64)
	return &m
}

func intOrNil(v sql.NullInt64) *int {
	if !v.Valid {
		return nil
	}
	n := int(v.Int64)
	return &n
}
