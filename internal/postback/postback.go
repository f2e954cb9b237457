// Package postback receives a network's conversion postback (GET /postback): it authenticates
// the account's key, validates the parameters, attributes the conversion to a click, offer and
// event, records it exactly once, moves spend and caps (package budget), and logs the request.
// The HTTP handler is a thin shell around Service.Handle.
//
// # Answers
//
//	200 accepted   a new conversion (pending, approved, or reported reversed straight away)
//	200 duplicate  the same conversion and status again, or a stale update: nothing changed
//	200 updated    a status change of a known conversion (approved, reversed, restored)
//	400            malformed: missing or bad gk_click_id, bad number, currency or status word
//	403            missing or unknown key, or a source address outside the account's allowlist
//	404            unknown click id (in the key's account), or no such event on the offer
//	409            refused by a rule; the body names it (offer_ended, one_completion_per_member,
//	               event_cap_daily, offer_cap_total, budget_daily, budget_total, ...), and the
//	               conversion is kept as REJECTED with that reason
//	503            the database failed; nothing was written, and the network's retry lands later
//
// Every request lands in the postback log, in the same transaction as its effects.
//
// # Identity and idempotency
//
// A conversion is the network's cnv_conversion_id within the account and integration system;
// without one, the click and event. Both are unique indexes, so of concurrent copies exactly
// one inserts and the others find it. A second network conversion id for a click and event
// that already converted is a duplicate too: a member completes an event once per click.
//
// # Payout
//
// The offer event's configured payout is what a conversion costs and what is charged to the
// budget and caps: the account set it, and budgets are in the offer's currency. The network's
// own cnv_payout and cnv_currency are kept in the conversion's extras, cnv_amount in amount.
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
//     answered 409 with its rule); manual review (ChangeStatus) may.
package postback

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/account"
	"github.com/gokart/gokart/ent/click"
	"github.com/gokart/gokart/ent/conversion"
	"github.com/gokart/gokart/ent/conversionstatuschange"
	"github.com/gokart/gokart/ent/offerevent"
	"github.com/gokart/gokart/ent/postbacklog"
	"github.com/gokart/gokart/internal/budget"
	"github.com/gokart/gokart/internal/callbacks"
	"github.com/gokart/gokart/internal/catalogue"
	"github.com/gokart/gokart/internal/lifecycle"
	"github.com/gokart/gokart/internal/viewer"
)

// Response bodies of successful postbacks.
const (
	BodyAccepted  = "accepted"
	BodyDuplicate = "duplicate"
	BodyUpdated   = "updated"
)

// Timeout bounds one postback's work. The work does not stop when the caller hangs up: a
// half-done postback is rolled back either way, and finishing it spares the retry.
const Timeout = 15 * time.Second

// Service handles postbacks over one database.
type Service struct {
	Client  *ent.Client
	Dialect string
	Log     *slog.Logger

	refresher   budget.Refresher
	refreshInit sync.Once
}

// Request is one postback as received.
type Request struct {
	RawQuery string
	SourceIP string
	Now      time.Time
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
}

func answer(status int, log postbacklog.Outcome, body, reason string) outcome {
	return outcome{status: status, body: body, log: log, reason: reason}
}

var errStore = errors.New("store failure")

// Handle processes one postback. It never panics on input and never returns a partial write.
func (s *Service) Handle(ctx context.Context, req Request) Response {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), Timeout)
	defer cancel()
	ctx = budget.WithDialect(ctx, s.Dialect)
	if req.Now.IsZero() {
		req.Now = time.Now()
	}
	out, accountID, err := s.process(ctx, req)
	if err != nil {
		s.logger().ErrorContext(ctx, "postback not stored", "err", err)
		// Best effort: the database may be back already; if not, the retry gets logged.
		rec := answer(503, postbacklog.OutcomeERROR, "temporarily unavailable, retry later", "store failure")
		_ = s.writeLog(ctx, s.Client, accountID, req, rec)
		return Response{Status: 503, Body: rec.body}
	}
	if out.syncOffer != 0 {
		// offers.budget_spent is a copy for filters; the spend GraphQL answers is read from
		// the shards (budget.Spent), so the copy is refreshed off the request path.
		s.refreshInit.Do(func() {
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

// process authenticates and attributes; it returns the account (0 when unknown) for the log.
func (s *Service) process(ctx context.Context, req Request) (outcome, int, error) {
	key := KeyOf(req.RawQuery)
	if key == "" {
		out := answer(403, postbacklog.OutcomeUNAUTHORIZED, "missing key", "missing key")
		return out, 0, s.writeLog(ctx, s.Client, 0, req, out)
	}
	if p, err := Parse(req.RawQuery); err == nil {
		if out, accountID, ok, err := s.fast(ctx, key, p, req); ok || err != nil {
			return out, accountID, err
		}
	}
	acc, err := s.Client.Account.Query().Where(account.PostbackKey(key)).Only(viewer.AsSystem(ctx))
	if err != nil && !ent.IsNotFound(err) {
		return outcome{}, 0, fmt.Errorf("look up postback key: %w", err)
	}
	if acc == nil || subtle.ConstantTimeCompare([]byte(acc.PostbackKey), []byte(key)) != 1 {
		out := answer(403, postbacklog.OutcomeUNAUTHORIZED, "invalid key", "invalid key")
		return out, 0, s.writeLog(ctx, s.Client, 0, req, out)
	}
	if !allowed(acc.PostbackAllowlist, req.SourceIP) {
		out := answer(403, postbacklog.OutcomeUNAUTHORIZED, "source address not allowed", "source address "+req.SourceIP+" not in the allowlist")
		return out, acc.ID, s.writeLog(ctx, s.Client, acc.ID, req, out)
	}
	p, err := Parse(req.RawQuery)
	if err != nil {
		out := answer(400, postbacklog.OutcomeMALFORMED, "malformed: "+err.Error(), err.Error())
		return out, acc.ID, s.writeLog(ctx, s.Client, acc.ID, req, out)
	}
	out, err := s.attribute(viewer.ForAccount(ctx, acc.ID), acc.ID, p, req)
	return out, acc.ID, err
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

// attribute runs the postback's effects and its log row in one transaction.
func (s *Service) attribute(ctx context.Context, accountID int, p Params, req Request) (outcome, error) {
	tx, err := s.Client.Tx(ctx)
	if err != nil {
		return outcome{}, fmt.Errorf("begin: %w", err)
	}
	c := tx.Client()
	out, err := decide(ctx, c, s.Dialect, accountID, p, req.Now)
	if err == nil {
		err = s.writeLog(ctx, c, accountID, req, out)
	}
	if err != nil {
		_ = tx.Rollback()
		return outcome{}, err
	}
	if err := tx.Commit(); err != nil {
		return outcome{}, fmt.Errorf("commit: %w", err)
	}
	return out, nil
}

func (s *Service) writeLog(ctx context.Context, c *ent.Client, accountID int, req Request, out outcome) error {
	lc := viewer.AsSystem(ctx)
	create := c.PostbackLog.Create().
		SetRawQuery(Redact(req.RawQuery)).SetSourceIP(truncate(req.SourceIP, 64)).
		SetOutcome(out.log).SetHTTPStatus(out.status).SetReason(truncate(out.reason, 500)).
		SetNillableConversionID(out.conversionID).SetNillableOfferID(out.offerID).
		SetCreatedAt(req.Now)
	if accountID != 0 {
		create.SetAccountID(accountID)
	}
	if err := create.Exec(lc); err != nil {
		return fmt.Errorf("write postback log: %w", err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	return strings.ToValidUTF8(s, "")
}

// decide attributes the postback and applies it; an error is a store failure.
func decide(ctx context.Context, c *ent.Client, dialectName string, accountID int, p Params, now time.Time) (outcome, error) {
	cl, err := c.Click.Query().Where(click.GkClickID(p.ClickID)).Only(ctx)
	if ent.IsNotFound(err) {
		return answer(404, postbacklog.OutcomeNOT_FOUND, "unknown click id", "unknown gk_click_id"), nil
	}
	if err != nil {
		return outcome{}, fmt.Errorf("look up click: %w", err)
	}
	o, err := c.Offer.Get(ctx, cl.OfferID)
	if err != nil {
		return outcome{}, fmt.Errorf("load offer %d: %w", cl.OfferID, err)
	}
	offerID := o.ID
	withOffer := func(out outcome) outcome { out.offerID = &offerID; return out }

	to := lifecycle.Pending
	if p.Status != "" {
		st, ok := MapStatus(o.IntegrationSystem, p.Status)
		if !ok {
			msg := fmt.Sprintf("unknown cnv_status %q", p.Status)
			return withOffer(answer(400, postbacklog.OutcomeMALFORMED, "malformed: "+msg, msg)), nil
		}
		to = st
	}
	ev, missing, err := resolveEvent(ctx, c, o, p.EventID)
	if err != nil {
		return outcome{}, err
	}
	if missing != "" {
		status, log := 404, postbacklog.OutcomeNOT_FOUND
		if p.EventID == "" {
			status, log = 400, postbacklog.OutcomeMALFORMED
		}
		return withOffer(answer(status, log, missing, missing)), nil
	}

	return apply(ctx, c, dialectName, p, now, cl, o, ev, to)
}

// apply records the postback's conversion, or applies it to the known one: a new conversion
// is inserted first (ON CONFLICT DO NOTHING), and only when one exists is it found and locked.
func apply(ctx context.Context, c *ent.Client, dialectName string, p Params, now time.Time, cl *ent.Click, o *ent.Offer, ev *ent.OfferEvent, to lifecycle.Status) (outcome, error) {
	offerID := o.ID
	withOffer := func(out outcome) outcome { out.offerID = &offerID; return out }
	conv, err := insertConversion(ctx, c, o, ev, cl, p, to, now)
	if err != nil {
		return outcome{}, err
	}
	if conv != nil {
		out, err := accept(ctx, c, o, ev, conv, now)
		return withOffer(out), err
	}
	// It exists (a concurrent copy's insert waited for it to commit): find and lock it.
	if conv, err = findConversion(ctx, c, dialectName, o, cl.ID, ev.ID, p.ConversionID); err != nil {
		return outcome{}, err
	}
	if conv == nil {
		return outcome{}, fmt.Errorf("conversion vanished after a unique conflict")
	}
	convID := conv.ID
	out, err := update(ctx, c, o, ev, conv, cl.ID, p.ConversionID, to)
	out.conversionID = &convID
	return withOffer(out), err
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

// resolveEvent finds the event: a single-event offer's only event when the postback names
// none; otherwise the exact event id, then the tolerant match key. missing says why none.
func resolveEvent(ctx context.Context, c *ent.Client, o *ent.Offer, eventID string) (*ent.OfferEvent, string, error) {
	if eventID == "" {
		evs, err := c.OfferEvent.Query().Where(offerevent.OfferID(o.ID)).Limit(2).All(ctx)
		if err != nil {
			return nil, "", fmt.Errorf("load events of offer %d: %w", o.ID, err)
		}
		if len(evs) != 1 {
			return nil, "cnv_event_id is required for this offer", nil
		}
		return evs[0], "", nil
	}
	ev, err := c.OfferEvent.Query().Where(offerevent.OfferID(o.ID), offerevent.EventID(eventID)).Only(ctx)
	if ent.IsNotFound(err) {
		ev, err = c.OfferEvent.Query().Where(offerevent.OfferID(o.ID), offerevent.MatchKey(catalogue.EventMatchKey(eventID))).Only(ctx)
	}
	if ent.IsNotFound(err) {
		return nil, "unknown event", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("find event of offer %d: %w", o.ID, err)
	}
	return ev, "", nil
}

// findConversion finds (and on PostgreSQL locks) the conversion the postback is about: by the
// network's conversion id, or else by click and event; a different network conversion of the
// same click and event is returned too (the caller answers it as a duplicate).
func findConversion(ctx context.Context, c *ent.Client, dialectName string, o *ent.Offer, clickID, eventID int, ncid string) (*ent.Conversion, error) {
	lock := func(q *ent.ConversionQuery) *ent.ConversionQuery {
		if dialectName == "postgres" {
			return q.ForUpdate()
		}
		return q
	}
	if ncid != "" {
		conv, err := lock(c.Conversion.Query().Where(conversion.IntegrationSystemEQ(o.IntegrationSystem),
			conversion.NetworkConversionID(ncid))).Only(ctx)
		if err == nil {
			return conv, nil
		}
		if !ent.IsNotFound(err) {
			return nil, fmt.Errorf("find conversion: %w", err)
		}
	}
	conv, err := lock(c.Conversion.Query().Where(conversion.ClickID(clickID), conversion.OfferEventID(eventID))).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find conversion: %w", err)
	}
	return conv, nil
}

// accept charges a new conversion (when its status spends) and records its first history step.
func accept(ctx context.Context, c *ent.Client, o *ent.Offer, ev *ent.OfferEvent, conv *ent.Conversion, now time.Time) (outcome, error) {
	convID := conv.ID
	out := answer(200, postbacklog.OutcomeACCEPTED, BodyAccepted, "new conversion, "+strings.ToLower(string(conv.Status)))
	out.conversionID = &convID
	status, reason := conv.Status, ""
	if conv.Status.Spends() {
		ch, err := budget.ChargeConversion(ctx, c, subjectOf(o, ev, conv))
		if r, ok := budget.IsRefusal(err); ok {
			status, reason = lifecycle.Rejected, r.Rule
			if err := c.Conversion.UpdateOneID(conv.ID).SetStatus(status).SetReason(reason).Exec(ctx); err != nil {
				return outcome{}, fmt.Errorf("reject conversion: %w", err)
			}
			out = answer(409, postbacklog.OutcomeREJECTED, r.Rule, r.Rule)
			out.conversionID = &convID
		} else if err != nil {
			return outcome{}, err
		} else {
			out.syncOffer = o.ID
			if d, ok := ctx.Value(deferKey{}).(*deferred); ok {
				// Written with the postback log, in one statement (see fast).
				*d = deferred{set: true, convID: conv.ID, accountID: conv.AccountID, shard: ch.Shard,
					counters: ch.Counters, now: now, status: status, at: conv.CreatedAt}
				return out, callbacks.Enqueue(ctx, c, callbacks.Change{AccountID: conv.AccountID, ConversionID: conv.ID,
					OfferID: o.ID, OfferEventID: ev.ID, To: status, At: conv.CreatedAt})
			}
			if err := recordCharge(ctx, c, conv.ID, ch.Shard, ch.Counters, now); err != nil {
				return outcome{}, fmt.Errorf("record charge: %w", err)
			}
		}
	}
	if err := recordHistory(ctx, c, conv.AccountID, conv.ID, nil, status, reason, string(conversionstatuschange.SourcePOSTBACK), conv.CreatedAt); err != nil {
		return outcome{}, fmt.Errorf("record history: %w", err)
	}
	return out, callbacks.Enqueue(ctx, c, callbacks.Change{AccountID: conv.AccountID, ConversionID: conv.ID,
		OfferID: o.ID, OfferEventID: ev.ID, To: status, At: conv.CreatedAt})
}

// update applies a postback to a known (locked) conversion.
func update(ctx context.Context, c *ent.Client, o *ent.Offer, ev *ent.OfferEvent, conv *ent.Conversion, clickID int, ncid string, to lifecycle.Status) (outcome, error) {
	// The first report came without the network's conversion id and this one names it: it is
	// the same conversion (one per click and event), so it takes the id and the update applies.
	// Answering "duplicate" here would drop a reversal the network will never resend.
	if ncid != "" && conv.NetworkConversionID == nil && conv.OfferEventID == ev.ID && conv.ClickID == clickID {
		if _, err := c.ExecContext(ctx, `UPDATE conversions SET network_conversion_id = $1 WHERE id = $2 AND network_conversion_id IS NULL`,
			ncid, conv.ID); err != nil {
			return outcome{}, fmt.Errorf("adopt network conversion id: %w", err)
		}
		conv.NetworkConversionID = &ncid
	}
	// Another network conversion of the same click and event: the member completed it already.
	if conv.OfferEventID != ev.ID || conv.ClickID != clickID ||
		ncid != "" && (conv.NetworkConversionID == nil || *conv.NetworkConversionID != ncid) {
		return answer(200, postbacklog.OutcomeDUPLICATE, BodyDuplicate,
			fmt.Sprintf("click already converted on this event as conversion %d", conv.ID)), nil
	}
	switch {
	case conv.Status == lifecycle.Rejected:
		return answer(409, postbacklog.OutcomeREJECTED, conv.Reason, "conversion was rejected: "+conv.Reason), nil
	case conv.Status == to:
		return answer(200, postbacklog.OutcomeDUPLICATE, BodyDuplicate, "same conversion and status again"), nil
	case to == lifecycle.Pending:
		return answer(200, postbacklog.OutcomeDUPLICATE, BodyDuplicate,
			"stale pending after "+strings.ToLower(string(conv.Status))+": ignored"), nil
	}
	from := conv.Status
	res, err := transition(ctx, c, o, ev, conv, to, "reported "+strings.ToLower(string(to))+" by the network", conversionstatuschange.SourcePOSTBACK, true)
	if err != nil {
		return outcome{}, err
	}
	if res.refusal != nil {
		out := answer(409, postbacklog.OutcomeREJECTED, res.refusal.Rule, res.refusal.Rule)
		return out, nil
	}
	out := answer(200, postbacklog.OutcomeSTATUS_UPDATED, BodyUpdated,
		strings.ToLower(string(from))+" to "+strings.ToLower(string(to)))
	if res.spendMoved {
		out.syncOffer = o.ID
	}
	return out, nil
}

func subjectOf(o *ent.Offer, ev *ent.OfferEvent, conv *ent.Conversion) budget.Subject {
	return budget.Subject{
		AccountID: conv.AccountID, Offer: o, Event: ev, Payout: conv.Payout,
		Member: conv.PubMemberID, At: conv.CreatedAt, ConversionID: conv.ID,
	}
}

type transitionResult struct {
	conv       *ent.Conversion
	refusal    *budget.Refusal
	spendMoved bool
}

// transition moves a locked conversion to another status: it releases or charges spend as the
// statuses require and appends a history step. When a rule refuses the charge and rejectOnRefusal
// is set, the conversion becomes REJECTED with the rule as its reason; otherwise nothing changes.
func transition(ctx context.Context, c *ent.Client, o *ent.Offer, ev *ent.OfferEvent, conv *ent.Conversion, to lifecycle.Status, reason string, source conversionstatuschange.Source, rejectOnRefusal bool) (transitionResult, error) {
	from := conv.Status
	subj := subjectOf(o, ev, conv)
	upd := c.Conversion.UpdateOneID(conv.ID).SetStatus(to).SetReason(truncate(reason, 500))
	var res transitionResult
	switch {
	case from.Spends() && !to.Spends():
		ch := budget.Charge{Shard: conv.BudgetShard, Counters: conv.ChargedCounters}
		if err := budget.Release(ctx, c, subj, ch); err != nil {
			return res, err
		}
		upd.ClearBudgetShard().ClearChargedCounters()
		res.spendMoved = true
	case !from.Spends() && to.Spends():
		ch, err := budget.ChargeConversion(ctx, c, subj)
		if r, ok := budget.IsRefusal(err); ok {
			res.refusal = r
			if !rejectOnRefusal || from == lifecycle.Rejected {
				return res, nil
			}
			to, reason = lifecycle.Rejected, r.Rule
			upd.SetStatus(to).SetReason(reason)
		} else if err != nil {
			return res, err
		} else {
			upd.SetNillableBudgetShard(ch.Shard).SetChargedCounters(ch.Counters)
			res.spendMoved = true
		}
	}
	updated, err := upd.Save(ctx)
	if err != nil {
		return res, fmt.Errorf("update conversion %d: %w", conv.ID, err)
	}
	res.conv = updated
	if err := c.ConversionStatusChange.Create().SetConversionID(conv.ID).SetFromStatus(from).SetToStatus(to).
		SetReason(truncate(reason, 500)).SetSource(source).Exec(ctx); err != nil {
		return res, fmt.Errorf("record history: %w", err)
	}
	return res, callbacks.Enqueue(ctx, c, callbacks.Change{AccountID: conv.AccountID, ConversionID: conv.ID,
		OfferID: o.ID, OfferEventID: ev.ID, From: &from, To: to})
}
