// Package postback receives a network's conversion postback (GET /postback): it authenticates
// the account's key, validates the parameters, attributes the conversion to a click, offer and
// event, records it exactly once, moves spend and caps (package budget), and logs the request.
// The HTTP handler is a thin shell around Service.Handle.
//
// # Answers
//
//	200 accepted   a new conversion (pending, approved, or reported reversed straight away)
//	200 duplicate  the same conversion and status again, or a stale update: nothing changed
//	200 updated    a status change of a known conversion (approved, reversed, restored), or a
//	               modified action: the same conversion with another cnv_amount or cnv_payout
//	               (modify.go: new amounts, spend moved by the difference, a MODIFIED step)
//	400            malformed: missing or bad gk_click_id, bad number, currency or status word
//	422            amount_required: a revenue-share event's new conversion without a sale amount,
//	               kept REJECTED with that reason until a report with the amount counts it;
//	               amount_currency: one with the amount in another currency (not recorded)
//	403            missing or unknown key, or a source address outside the account's allowlist
//	404            unknown click id (in the key's account), or no such event on the offer
//	409            refused by a rule; the body names it (offer_ended, one_completion_per_member,
//	               event_cap_daily, offer_cap_total, budget_daily, budget_total, ...), and the
//	               conversion is kept as REJECTED with that reason; or repeat_conversion: a new
//	               network conversion id on a click and event that converted already, on an event
//	               without allowRepeats (kept REJECTED with that reason, never charged; a copy
//	               of it is 200 duplicate)
//	503            the database failed; nothing was written, and the network's retry lands later
//
// Every request lands in the postback log, atomically with its effects (in their transaction,
// or in the one statement that writes them both: fast.go); one that
// names no account (missing or unknown key) is counted instead (package unmatched).
//
// # Identity and idempotency
//
// A conversion is the network's cnv_conversion_id within the account and integration system;
// and the click, event and repeat key: the key is empty unless the event allows repeats
// (allowRepeats), when it is the network's conversion id. Both are unique indexes, so of
// concurrent copies exactly one inserts and the others find it. On an event without repeats a
// second network conversion id for a click that already converted there is refused
// (409 repeat_conversion, logged REPEAT_REFUSED, kept as a REJECTED conversion whose repeat key
// is its network id: refuseRepeat); with repeats it is a new
// conversion, charged and capped like any. A true copy (the same id) is a duplicate.
//
// # Payout
//
// The offer event's configured payout is what a conversion costs and what is charged to the
// budget and caps: the account set it, and budgets are in the offer's currency. The network's
// own cnv_payout and cnv_currency are kept in the conversion's extras, cnv_amount in amount.
// A revenue-share event (payoutType PERCENT) pays its payoutPercent of cnv_amount, exactly
// (money.Percent, rounded down to the micro-unit) and at most its payoutCap; a new conversion
// of one without cnv_amount is kept REJECTED (422 amount_required) and counted by the report
// with the amount (completeShare); one with a cnv_currency other than the offer's is answered
// 422 amount_currency and not recorded.
//
// # Lifecycle and out-of-order updates
//
// Networks send pending, then approved or reversed, and may restore a reversed conversion.
// Postbacks can arrive out of order, and an update can arrive before the first report. The rule:
//
//   - The first postback for a conversion creates it in the status it reports: an approval or
//     reversal that overtook its pending report is taken as it stands.
//   - A pending report never moves a conversion back: pending after approved or reversed is
//     stale and answered as a duplicate.
//   - Between approved and reversed the latest arrival wins (networks give us no timestamps to
//     order them by), so reversed then approved is a restore.
//   - Entering a status that spends (pending, approved) from one that does not applies every
//     rule again and charges budget and caps; leaving it gives them back, exactly what was
//     charged. Spend moves in the transaction that changes the status.
//   - REJECTED is ours, not the network's: postbacks never move a rejected conversion (they are
//     answered 409 with its rule, a refused repeat 200 duplicate); manual review (ChangeStatus)
//     may. The exception: a revenue share kept REJECTED for want of an amount is counted by a
//     report that carries it.
//   - Maturing (Mature) approves a conversion left PENDING longer than its offer's or account's
//     autoApproveAfter, for networks that never send an approval (Impact); see mature.go.
package postback

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"entgo.io/ent/dialect"
	"github.com/lib/pq"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/conversionstatuschange"
	"github.com/gokart/gokart/ent/postbacklog"
	"github.com/gokart/gokart/ent/schema"
	"github.com/gokart/gokart/internal/budget"
	"github.com/gokart/gokart/internal/catalogue"
	"github.com/gokart/gokart/internal/errcode"
	"github.com/gokart/gokart/internal/lifecycle"
	"github.com/gokart/gokart/internal/viewer"
)

// Response bodies of successful postbacks.
const (
	BodyAccepted  = "accepted"
	BodyDuplicate = "duplicate"
	BodyUpdated   = "updated"
)

// RuleRepeatConversion answers a new network conversion id on a click and event that
// converted already, when the event does not allow repeats.
const RuleRepeatConversion = "repeat_conversion"

// RuleAmountRequired answers a new conversion of a revenue-share event without cnv_amount, and
// RuleAmountCurrency one whose cnv_currency is not the offer's: the share cannot be computed.
const (
	RuleAmountRequired = "amount_required"
	RuleAmountCurrency = "amount_currency"
)

func strOr(s *string, or string) string {
	if s == nil {
		return or
	}
	return *s
}

// Timeout bounds one postback's work. The work does not stop when the caller hangs up: a
// half-done postback is rolled back either way, and finishing it spares the retry.
const Timeout = 15 * time.Second

// Service handles postbacks over one database.
type Service struct {
	Client *ent.Client
	// Dialect is the database's (entgo.io/ent/dialect names), from the storage layer.
	Dialect string
	Log     *slog.Logger

	refresher   budget.Refresher
	refreshInit sync.Once
	// keys are the accounts of the postback keys seen (lookup).
	keys keyAccounts
	// oneStatement says whether accepted postbacks may take acceptInOne: 0 not known yet,
	// oneStatementOn, or oneStatementOff (a Citus coordinator, or a database that refused the
	// statement as unsupported), when every postback takes the general path.
	oneStatement atomic.Int32
}

// Request is one postback as received.
type Request struct {
	RawQuery string
	SourceIP string
	Now      time.Time
	// Import marks a line of the CSV conversion import: its caller is the account's API key,
	// not a network, so the source allowlist does not apply, and cnv_status is one of our
	// statuses (PENDING, APPROVED, REVERSED) rather than the network's word.
	Import bool
}

// Response is what to answer: an HTTP status and a one-line text body.
type Response struct {
	Status int
	Body   string
}

// outcome is a decided postback: its answer and its log row.
type outcome struct {
	status       int
	body         string
	log          postbacklog.Outcome
	reason       string
	conversionID *int
	offerID      *int
	// syncOffer is the offer whose spend changed, to refresh after commit.
	syncOffer int
	// test marks the log row of a test click's postback (test traffic).
	test bool
	// written says the log row is written already, with the postback's effects (acceptInOne).
	written bool
}

func answer(status int, log postbacklog.Outcome, body, reason string) outcome {
	return outcome{status: status, body: body, log: log, reason: reason}
}

// Handle processes one postback. It never panics on input and never returns a partial write.
func (s *Service) Handle(ctx context.Context, req Request) Response {
	// A caller that hangs up does not stop the work (a half-done postback rolls back either
	// way, and finishing spares the retry), but the request's deadline does.
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(Timeout)
	}
	ctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
	defer cancel()
	if req.Now.IsZero() {
		req.Now = time.Now()
	}
	req.Now = req.Now.UTC()
	out, accountID, err := s.process(ctx, req)
	if err != nil {
		s.logger().ErrorContext(ctx, "postback not stored", "err", err)
		// Best effort: the database may be back already; if not, the retry gets logged.
		rec := answer(http.StatusServiceUnavailable, postbacklog.OutcomeERROR, "temporarily unavailable, retry later", "store failure")
		var b batch
		b.postbackLog(accountID, req, rec)
		_ = b.flush(ctx, s.Client, false)
		return Response{Status: http.StatusServiceUnavailable, Body: rec.body}
	}
	if out.syncOffer != 0 {
		// offers.budget_spent is a copy for filters; the spend GraphQL answers is read from
		// the shards (budget.Spent), so the copy is refreshed off the request path.
		s.refreshInit.Do(func() {
			s.refresher.Dialect = s.Dialect
			s.refresher.OnError = func(err error) { s.logger().Warn("refresh offers.budget_spent", "err", err) }
		})
		s.refresher.Mark(s.Client, accountID, out.syncOffer)
	}
	return Response{Status: out.status, Body: out.body}
}

func (s *Service) logger() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

func (s *Service) postgres() bool { return s.Dialect == dialect.Postgres }

// work is one postback's database work. On PostgreSQL its reads (the look-up, the event) come
// first, outside a transaction, and the first write that needs one opens it (begin); on SQLite,
// one writer, the transaction is opened first, as it always was. A postback that writes in one
// statement (acceptInOne, or a refusal whose only write is its log row, which flush writes as
// one statement on PostgreSQL) never opens one: BEGIN and COMMIT were two of an accepted
// postback's six round trips.
type work struct {
	s  *Service
	tx *ent.Tx
}

// client is the transaction's client once it is open, else the service's.
func (w *work) client() *ent.Client {
	if w.tx != nil {
		return w.tx.Client()
	}
	return w.s.Client
}

// begin opens the transaction (once) and returns its client.
func (w *work) begin(ctx context.Context) (*ent.Client, error) {
	if w.tx == nil {
		tx, err := w.s.Client.Tx(ctx)
		if err != nil {
			return nil, fmt.Errorf("begin: %w", err)
		}
		w.tx = tx
	}
	return w.tx.Client(), nil
}

// process decides the postback and writes its effects and its log row atomically: in one
// transaction, or in one statement; it returns the account (0 when unknown) for the log of a
// failure.
func (s *Service) process(ctx context.Context, req Request) (outcome, int, error) {
	w := &work{s: s}
	if !s.postgres() {
		// SQLite has one writer: the reads take its lock too (BEGIN IMMEDIATE), as before.
		if _, err := w.begin(ctx); err != nil {
			return outcome{}, 0, err
		}
	}
	var b batch
	p, perr := Parse(req.RawQuery)
	out, accountID, err := s.decide(ctx, w, &b, req, p, perr)
	if err == nil && !out.written {
		if len(p.Notes) > 0 {
			out.reason += "; " + strings.Join(p.Notes, "; ")
		}
		b.postbackLog(accountID, req, out)
		err = b.flush(ctx, w.client(), s.postgres())
	}
	if w.tx == nil {
		return out, accountID, err
	}
	if err != nil {
		_ = w.tx.Rollback()
		return outcome{}, accountID, err
	}
	if err := w.tx.Commit(); err != nil {
		return outcome{}, accountID, fmt.Errorf("commit: %w", err)
	}
	return out, accountID, nil
}

// decide authenticates and attributes the postback and applies it to the conversion; an error
// is a store failure.
func (s *Service) decide(ctx context.Context, w *work, b *batch, req Request, p Params, perr error) (outcome, int, error) {
	key := KeyOf(req.RawQuery)
	if key == "" {
		return answer(http.StatusForbidden, postbacklog.OutcomeUNAUTHORIZED, "missing key", "missing key"), 0, nil
	}
	t, found, err := lookup(ctx, w.client(), &s.keys, key, p.ClickID, p.EventID)
	if err != nil {
		return outcome{}, 0, err
	}
	if !found || subtle.ConstantTimeCompare([]byte(t.key), []byte(key)) != 1 {
		return answer(http.StatusForbidden, postbacklog.OutcomeUNAUTHORIZED, "invalid key", "invalid key"), 0, nil
	}
	if !req.Import && !allowed(t.allowlist, req.SourceIP) {
		return answer(http.StatusForbidden, postbacklog.OutcomeUNAUTHORIZED, "source address not allowed", "source address "+req.SourceIP+" not in the allowlist"), t.accountID, nil
	}
	if perr != nil {
		return answer(http.StatusBadRequest, postbacklog.OutcomeMALFORMED, "malformed: "+perr.Error(), perr.Error()), t.accountID, nil
	}
	if t.clickID == 0 {
		return answer(http.StatusNotFound, postbacklog.OutcomeNOT_FOUND, "unknown click id", "unknown gk_click_id"), t.accountID, nil
	}
	offerID := t.offerID
	withOffer := func(out outcome) outcome { out.offerID, out.test = &offerID, t.test; return out }
	to := lifecycle.Pending
	if p.Status != "" {
		st, ok := MapStatus(t.system, p.Status)
		if req.Import {
			st = lifecycle.Status(strings.ToUpper(strings.TrimSpace(p.Status)))
			ok = st == lifecycle.Pending || st == lifecycle.Approved || st == lifecycle.Reversed
		}
		if !ok {
			msg := fmt.Sprintf("unknown cnv_status %q", p.Status)
			return withOffer(answer(http.StatusBadRequest, postbacklog.OutcomeMALFORMED, "malformed: "+msg, msg)), t.accountID, nil
		}
		to = st
	}
	actx := viewer.ForAccount(ctx, t.accountID)
	if t.terms.EventID == 0 {
		missing, err := resolveEvent(actx, w.client(), &t, p.EventID)
		if err != nil {
			return outcome{}, t.accountID, err
		}
		if missing != "" {
			status, log := http.StatusNotFound, postbacklog.OutcomeNOT_FOUND
			if p.EventID == "" {
				status, log = http.StatusBadRequest, postbacklog.OutcomeMALFORMED
			}
			return withOffer(answer(status, log, missing, missing)), t.accountID, nil
		}
	}
	out, err := s.apply(actx, w, b, req, p, t, to)
	return withOffer(out), t.accountID, err
}

// allowed reports whether ip may send postbacks: any address when the list is empty.
func allowed(cidrs []string, ip string) bool {
	if len(cidrs) == 0 {
		return true
	}
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	addr = addr.Unmap()
	for _, c := range cidrs {
		if pfx, err := netip.ParsePrefix(strings.TrimSpace(c)); err == nil && pfx.Contains(addr) {
			return true
		}
		if a, err := netip.ParseAddr(strings.TrimSpace(c)); err == nil && a.Unmap() == addr {
			return true
		}
	}
	return false
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	return strings.ToValidUTF8(s, "")
}

// apply records the postback's conversion, or applies it to the known one: a new conversion
// is inserted first (ON CONFLICT DO NOTHING), and only when one exists is it found and locked.
func (s *Service) apply(ctx context.Context, w *work, b *batch, req Request, p Params, t target, to lifecycle.Status) (outcome, error) {
	var cv *conv
	now := req.Now
	if t.percent != nil {
		// A revenue share pays by the sale amount: a new conversion needs one, in the offer's
		// currency (updates of a known conversion do not). Not the common path: its extra
		// look-up costs nothing on fixed payouts.
		if p.Amount == nil || p.Currency != "" && p.Currency != t.currency {
			c, err := w.begin(ctx)
			if err != nil {
				return outcome{}, err
			}
			return s.shareWithoutAmount(ctx, c, b, p, now, t, to)
		}
		t.payout = t.payoutFor(p.Amount, 0)
	}
	if s.postgres() && !req.Import && s.oneStatementOn(ctx) {
		out, done, err := acceptInOne(ctx, w.client(), req, p, t, to)
		switch {
		case unsupported(err):
			// Nothing was written (one statement): the general path records the postback.
			s.oneStatement.Store(oneStatementOff)
			s.logger().WarnContext(ctx, "the database refused the one-statement postback; every postback takes the general path", "err", err)
		case conflicted(err):
			// Chosen as a deadlock's victim: its shard lock is taken before its insert, which
			// may wait for a copy of the same conversion whose transaction waits for that shard
			// (rebalance locks them all). It wrote nothing; the general path takes it from here.
		case err != nil || done:
			return out, err
		}
	}
	c, err := w.begin(ctx)
	if err != nil {
		return outcome{}, err
	}
	if cv, err = insertConversion(ctx, c, t, p, to, "", t.repeatKey(p.ConversionID), now); err != nil {
		return outcome{}, err
	}
	if cv != nil {
		out, err := accept(ctx, c, s.Dialect, b, t, cv, now)
		out.reason += currencyNote(p, t)
		return out, err
	}
	// It exists (a concurrent copy's insert waited for it to commit): find and lock it.
	if cv, err = findConversion(ctx, c, s.postgres(), t, p.ConversionID); err != nil {
		return outcome{}, err
	}
	if cv == nil {
		return outcome{}, fmt.Errorf("conversion vanished after a unique conflict")
	}
	out, err := update(ctx, c, s.Dialect, b, t, cv, p, to, now)
	if out.conversionID == nil {
		convID := cv.id
		out.conversionID = &convID
	}
	return out, err
}

const (
	oneStatementOn  = 1
	oneStatementOff = 2
)

// oneStatementOn says whether accepted postbacks may take acceptInOne. Not on a Citus
// coordinator: Citus takes the statement but runs each of its queries as a subplan of its own
// through the coordinator (checked on a 3-node cluster: eight single-shard tasks, the inserts
// pulled to the coordinator), where the general path's statements are each one router query.
// Asked once; a failed question is asked again on the next postback (the general path is right
// meanwhile).
func (s *Service) oneStatementOn(ctx context.Context) bool {
	if st := s.oneStatement.Load(); st != 0 {
		return st == oneStatementOn
	}
	citus := false
	if _, err := queryRow(ctx, s.Client, `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')`, nil, &citus); err != nil {
		return false
	}
	if citus {
		s.oneStatement.CompareAndSwap(0, oneStatementOff)
	} else {
		s.oneStatement.CompareAndSwap(0, oneStatementOn)
	}
	return s.oneStatement.Load() == oneStatementOn
}

// conflicted says whether err is a deadlock (40P01) or serialization failure (40001): the
// statement was rolled back for another transaction's sake.
func conflicted(err error) bool {
	var pqErr *pq.Error
	return errors.As(err, &pqErr) && (pqErr.Code == "40P01" || pqErr.Code == "40001")
}

// unsupported says whether err is PostgreSQL's feature_not_supported (0A000).
func unsupported(err error) bool {
	var pqErr *pq.Error
	return errors.As(err, &pqErr) && pqErr.Code == "0A000"
}

// currencyNote is what an accepted conversion's log says of a cnv_currency other than the offer's.
func currencyNote(p Params, t target) string {
	if p.Currency == "" || p.Currency == t.currency {
		return ""
	}
	return fmt.Sprintf("; cnv_currency %s differs from the offer's %s: kept as reportedCurrency, amount not converted", p.Currency, t.currency)
}

// shareWithoutAmount applies a revenue-share postback that has no usable sale amount: to its
// conversion when it exists. A new one without cnv_amount is kept REJECTED with reason
// amount_required, paying and charging nothing, and answered 422 amount_required: 422, not the
// 409 of the other rules, because it is not final: the network's report of the same conversion
// with the amount still counts (completeShare). One with an amount in another currency than the
// offer's is refused 422 amount_currency, with nothing recorded but the log row.
func (s *Service) shareWithoutAmount(ctx context.Context, c *ent.Client, b *batch, p Params, now time.Time, t target, to lifecycle.Status) (outcome, error) {
	cv, err := findConversion(ctx, c, s.postgres(), t, p.ConversionID)
	if err != nil {
		return outcome{}, err
	}
	if cv == nil && p.Amount == nil {
		t.payout = 0
		if cv, err = insertConversion(ctx, c, t, p, lifecycle.Rejected, RuleAmountRequired, t.repeatKey(p.ConversionID), now); err != nil {
			return outcome{}, err
		}
		if cv != nil {
			b.statusChange(cv.accountID, cv.id, t.offerID, cv.eventID, nil, lifecycle.Rejected, RuleAmountRequired,
				conversionstatuschange.SourcePOSTBACK, now, nil)
			out := answer(http.StatusUnprocessableEntity, postbacklog.OutcomeREJECTED, RuleAmountRequired,
				RuleAmountRequired+": the event pays a percentage of cnv_amount, and the postback has none; kept REJECTED until a report with it")
			id := cv.id
			out.conversionID = &id
			return out, nil
		}
		// A concurrent copy kept it (and committed: the insert waited).
		if cv, err = findConversion(ctx, c, s.postgres(), t, p.ConversionID); err != nil {
			return outcome{}, err
		}
	}
	if cv == nil {
		return answer(http.StatusUnprocessableEntity, postbacklog.OutcomeMALFORMED, RuleAmountCurrency,
			fmt.Sprintf("%s: the event pays a percentage of cnv_amount, which is in %s, not the offer's %s", RuleAmountCurrency, p.Currency, t.currency)), nil
	}
	if awaitsAmount(cv) && sameConversion(cv, t, p.ConversionID) {
		// Still no usable amount for the conversion that waits for one.
		rule, why := RuleAmountRequired, "the postback has none"
		if p.Amount != nil {
			rule, why = RuleAmountCurrency, fmt.Sprintf("the postback's is in %s, not the offer's %s", p.Currency, t.currency)
		}
		out := answer(http.StatusUnprocessableEntity, postbacklog.OutcomeREJECTED, rule,
			fmt.Sprintf("%s: conversion %d (REJECTED amount_required) waits for cnv_amount, and %s", rule, cv.id, why))
		id := cv.id
		out.conversionID = &id
		return out, nil
	}
	if p.Amount != nil {
		// Another currency's amount never reprices the share.
		p.Amount = nil
	}
	out, err := update(ctx, c, s.Dialect, b, t, cv, p, to, now)
	if out.conversionID == nil {
		convID := cv.id
		out.conversionID = &convID
	}
	return out, err
}

// refuseRepeat keeps a refused repeat (a new network conversion id on a click and event that
// converted already, on an event without allowRepeats; counted is that conversion) as a
// REJECTED conversion with reason repeat_conversion, never charged, and answers 409.
//
// Its repeat key is its network conversion id: on an event without repeats every counted
// conversion has the empty key, so the refused one stays out of that one-per-click identity,
// while (click, event, id) and the network id index still make it unique: of concurrent copies
// one inserts, and a copy that finds it is a duplicate. It is the identity the conversion would
// have had on an event with repeats, so review can count it once the event allows them.
func refuseRepeat(ctx context.Context, c *ent.Client, b *batch, t target, counted *conv, p Params, now time.Time) (outcome, error) {
	reason := fmt.Sprintf("repeat_conversion: click already converted on this event as conversion %d (cnv_conversion_id %s), and the event does not allow repeats",
		counted.id, strOr(counted.networkConversionID, "none"))
	cv, err := insertConversion(ctx, c, t, p, lifecycle.Rejected, RuleRepeatConversion, p.ConversionID, now)
	if err != nil {
		return outcome{}, err
	}
	if cv == nil {
		// A concurrent copy kept it (and committed: the insert waited).
		return answer(http.StatusOK, postbacklog.OutcomeDUPLICATE, BodyDuplicate, "cnv_conversion_id already refused as a repeat"), nil
	}
	b.statusChange(cv.accountID, cv.id, t.offerID, cv.eventID, nil, lifecycle.Rejected, RuleRepeatConversion,
		conversionstatuschange.SourcePOSTBACK, now, nil)
	out := answer(http.StatusConflict, postbacklog.OutcomeREPEAT_REFUSED, RuleRepeatConversion, reason)
	id := cv.id
	out.conversionID = &id
	return out, nil
}

// awaitsAmount says whether the conversion is a revenue share kept REJECTED for want of an amount.
func awaitsAmount(cv *conv) bool {
	return cv.status == lifecycle.Rejected && cv.reason == RuleAmountRequired
}

// sameConversion says whether the postback is about the conversion itself: its network id (or
// none) on its click and event, not a repeat or another click's report of the id.
func sameConversion(cv *conv, t target, ncid string) bool {
	return cv.clickID == t.clickID && cv.eventID == t.terms.EventID &&
		(ncid == "" || cv.networkConversionID != nil && *cv.networkConversionID == ncid)
}

// completeShare counts a revenue-share conversion kept REJECTED for want of an amount
// (awaitsAmount) now that a report carries it: like a rejected conversion restored, it takes
// the amount and the payout computed from it, moves to the reported status and is charged with
// every rule applied. A rule that refuses the charge keeps it REJECTED with that rule instead.
func completeShare(ctx context.Context, c *ent.Client, dialectName string, b *batch, t target, cv *conv, p Params, to lifecycle.Status, now time.Time) (outcome, error) {
	payout := t.payoutFor(p.Amount, 0)
	cv.payout, cv.amount = payout, p.Amount
	change := conversionChange{accountID: cv.accountID, id: cv.id, amount: p.Amount, payout: &payout, at: now}
	note := fmt.Sprintf("cnv_amount %s pays %s", p.Amount.String(), payout.String())
	res, err := transition(ctx, c, dialectName, b, t, cv, to, "reported "+strings.ToLower(string(to))+" with its amount; "+note,
		conversionstatuschange.SourcePOSTBACK, false, now)
	if err != nil {
		return outcome{}, err
	}
	if r := res.refusal; r != nil {
		// Still not counted, now for the rule's sake: its reason says so.
		reason := r.Rule
		change.reason = &reason
		b.changeConversion(change)
		return answer(http.StatusConflict, postbacklog.OutcomeREJECTED, r.Rule, r.Rule+": the amount came ("+note+"), the rule refuses it"), nil
	}
	b.changeConversion(change)
	out := answer(http.StatusOK, postbacklog.OutcomeSTATUS_UPDATED, BodyUpdated, "rejected (amount_required) to "+strings.ToLower(string(to))+"; "+note)
	if res.spendMoved {
		out.syncOffer = t.offerID
	}
	return out, nil
}

// refusedRepeat says whether the conversion is a refused repeat kept REJECTED.
func refusedRepeat(cv *conv) bool {
	return cv.status == lifecycle.Rejected && cv.reason == RuleRepeatConversion && cv.repeatKey != ""
}

// MapStatus translates the network's status word through the offer's integration system. A
// system without status words of its own (no status macro) understands ours.
func MapStatus(code catalogue.Code, word string) (lifecycle.Status, bool) {
	sys, ok := catalogue.Lookup(code)
	if !ok {
		return "", false
	}
	if st, ok := sys.MapStatus(word); ok {
		return lifecycle.Status(st), true
	}
	if len(sys.StatusWords) == 0 {
		switch strings.ToLower(strings.TrimSpace(word)) {
		case "pending":
			return lifecycle.Pending, true
		case "approved":
			return lifecycle.Approved, true
		case "reversed":
			return lifecycle.Reversed, true
		}
	}
	return "", false
}

// accept charges a new conversion (when its status spends) and records its first history step.
func accept(ctx context.Context, c *ent.Client, dialectName string, b *batch, t target, cv *conv, now time.Time) (outcome, error) {
	convID := cv.id
	out := answer(http.StatusOK, postbacklog.OutcomeACCEPTED, BodyAccepted, "new conversion, "+strings.ToLower(string(cv.status)))
	out.conversionID = &convID
	status, reason := cv.status, ""
	if cv.status.Spends() && chargeable(t) {
		ch, err := budget.ChargeConversion(ctx, c, dialectName, cv.subject(t))
		if r, ok := errcode.AsRefusal(err); ok {
			status, reason = lifecycle.Rejected, r.Rule
			b.changeConversion(conversionChange{accountID: cv.accountID, id: cv.id, status: &status, reason: &reason, at: now})
			out = answer(http.StatusConflict, postbacklog.OutcomeREJECTED, r.Rule, r.Rule)
			out.conversionID = &convID
		} else if err != nil {
			return outcome{}, err
		} else {
			out.syncOffer = t.offerID
			b.changeConversion(conversionChange{accountID: cv.accountID, id: cv.id, charge: &ch, at: now})
		}
	}
	b.statusChange(cv.accountID, cv.id, t.offerID, cv.eventID, nil, status, reason, conversionstatuschange.SourcePOSTBACK, cv.createdAt, nil)
	return out, nil
}

// update applies a postback to a known (locked) conversion.
func update(ctx context.Context, c *ent.Client, dialectName string, b *batch, t target, cv *conv, p Params, to lifecycle.Status, now time.Time) (outcome, error) {
	ncid := p.ConversionID
	// The first report came without the network's conversion id and this one names it: it is
	// the same conversion (one per click and event), so it takes the id and the update applies.
	// Answering "duplicate" here would drop a reversal the network will never resend.
	if ncid != "" && cv.networkConversionID == nil && cv.eventID == t.terms.EventID && cv.clickID == t.clickID {
		b.changeConversion(conversionChange{accountID: cv.accountID, id: cv.id, networkConversionID: &ncid, at: now})
		cv.networkConversionID = &ncid
	}
	// The network's id was reported before for another click or event: the first attribution stands.
	if cv.eventID != t.terms.EventID || cv.clickID != t.clickID {
		return answer(http.StatusOK, postbacklog.OutcomeDUPLICATE, BodyDuplicate,
			fmt.Sprintf("cnv_conversion_id already reported as conversion %d, of another click or event", cv.id)), nil
	}
	// Another network conversion of the same click and event, which does not allow repeats.
	if ncid != "" && (cv.networkConversionID == nil || *cv.networkConversionID != ncid) {
		return refuseRepeat(ctx, c, b, t, cv, p, now)
	}
	// A refused repeat is kept REJECTED and never counts: any report of it again is a copy.
	if refusedRepeat(cv) {
		return answer(http.StatusOK, postbacklog.OutcomeDUPLICATE, BodyDuplicate,
			fmt.Sprintf("cnv_conversion_id already refused as a repeat (conversion %d, REJECTED)", cv.id)), nil
	}
	if awaitsAmount(cv) && t.percent != nil && p.Amount != nil {
		return completeShare(ctx, c, dialectName, b, t, cv, p, to, now)
	}
	report := lifecycle.OnReport(cv.status, to)
	if report == lifecycle.Refused {
		return answer(http.StatusConflict, postbacklog.OutcomeREJECTED, cv.reason, "conversion was rejected: "+cv.reason), nil
	}
	// A modified action: the same conversion with another amount or payout.
	mod := modificationOf(t, cv, p)
	switch {
	case report == lifecycle.Same && mod == nil:
		return answer(http.StatusOK, postbacklog.OutcomeDUPLICATE, BodyDuplicate, "same conversion and status again"), nil
	case report == lifecycle.Stale && mod == nil:
		return answer(http.StatusOK, postbacklog.OutcomeDUPLICATE, BodyDuplicate,
			"stale pending after "+strings.ToLower(string(cv.status))+": ignored"), nil
	case report != lifecycle.Move:
		// The status stays (a stale pending keeps it too: Impact sends no status with a modification).
		return modify(ctx, c, dialectName, b, t, cv, mod, now)
	}
	from := cv.status
	reason := "reported " + strings.ToLower(string(to)) + " by the network"
	spendMoved := false
	if mod != nil {
		// Both statuses spend: the charge moves by the difference first. Entering one charges
		// the new payout; leaving one releases what was charged, the old payout.
		switch lifecycle.SpendOf(from, to) {
		case lifecycle.Keep:
			moved, refusal, err := moveSpend(ctx, c, dialectName, b, t, cv, mod, now)
			if err != nil {
				return outcome{}, err
			}
			if refusal != nil {
				return answer(http.StatusConflict, postbacklog.OutcomeREJECTED, refusal.Rule,
					refusal.Rule+": the modified payout does not fit; nothing changed ("+mod.note+")"), nil
			}
			spendMoved = moved
		case lifecycle.Charge:
			cv.payout = mod.newPayout
		}
		change := conversionChange{accountID: cv.accountID, id: cv.id, at: now}
		if err := mod.columns(&change); err != nil {
			return outcome{}, fmt.Errorf("modify conversion %d: %w", cv.id, err)
		}
		b.changeConversion(change)
		cv.mod = mod
		reason += "; " + mod.note
	}
	res, err := transition(ctx, c, dialectName, b, t, cv, to, reason, conversionstatuschange.SourcePOSTBACK, true, now)
	if err != nil {
		return outcome{}, err
	}
	if res.refusal != nil {
		return answer(http.StatusConflict, postbacklog.OutcomeREJECTED, res.refusal.Rule, res.refusal.Rule), nil
	}
	out := answer(http.StatusOK, postbacklog.OutcomeSTATUS_UPDATED, BodyUpdated,
		strings.ToLower(string(from))+" to "+strings.ToLower(string(to)))
	if mod != nil {
		out.log, out.reason = postbacklog.OutcomeMODIFIED, out.reason+"; "+mod.note
	}
	if res.spendMoved || spendMoved {
		out.syncOffer = t.offerID
	}
	return out, nil
}

type transitionResult struct {
	refusal    *errcode.Refusal
	spendMoved bool
}

// transition moves a locked conversion to another status: it releases or charges spend as the
// statuses require and appends a history step. When a rule refuses the charge and rejectOnRefusal
// is set, the conversion becomes REJECTED with the rule as its reason; otherwise nothing changes.
func transition(ctx context.Context, c *ent.Client, dialectName string, b *batch, t target, cv *conv, to lifecycle.Status, reason string, source conversionstatuschange.Source, rejectOnRefusal bool, now time.Time) (transitionResult, error) {
	from := cv.status
	subj := cv.subject(t)
	change := conversionChange{accountID: cv.accountID, id: cv.id, at: now}
	var res transitionResult
	switch spendOf(t, from, to) {
	case lifecycle.Release:
		if err := budget.Release(ctx, c, subj, cv.charge); err != nil {
			return res, err
		}
		change.charge = &budget.Charge{}
		res.spendMoved = true
	case lifecycle.Charge:
		ch, err := budget.ChargeConversion(ctx, c, dialectName, subj)
		if r, ok := errcode.AsRefusal(err); ok {
			res.refusal = r
			if !rejectOnRefusal || from == lifecycle.Rejected {
				return res, nil
			}
			to, reason = lifecycle.Rejected, r.Rule
		} else if err != nil {
			return res, err
		} else {
			change.charge = &ch
			res.spendMoved = true
		}
	}
	reason = truncate(reason, schema.MaxReasonLength)
	change.status, change.reason = &to, &reason
	b.changeConversion(change)
	b.statusChange(cv.accountID, cv.id, t.offerID, cv.eventID, &from, to, reason, source, now, cv.mod)
	return res, nil
}
