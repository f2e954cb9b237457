package postback

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"entgo.io/ent/dialect"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/conversionstatuschange"
	"github.com/gokart/gokart/internal/lifecycle"
	"github.com/gokart/gokart/internal/money"
	"github.com/gokart/gokart/internal/viewer"
)

// lookupSQL reads, in one statement, everything a well-formed postback needs before it
// writes: the account of the key, the click in that account, its offer and the event the
// postback names exactly. It reads in the postback's transaction, so the offer's status and
// limits are the committed ones (never a cache): an ENDED offer refuses at once.
const lookupSQL = `SELECT a.id, a.postback_key, a.postback_allowlist,
 c.id, c.pub_member_id,
 o.id, o.integration_system, o.status, o.currency, o.budget_total, o.budget_daily, o.one_completion_per_member,
 o.cap_daily, o.cap_weekly, o.cap_monthly, o.cap_total, o.time_zone,
 e.id, e.payout, e.cap_daily, e.cap_weekly, e.cap_monthly, e.cap_total
FROM accounts a
JOIN clicks c ON c.account_id = a.id AND c.gk_click_id = $2
JOIN offers o ON o.id = c.offer_id AND o.account_id = a.id
LEFT JOIN offer_events e ON e.account_id = a.id AND e.offer_id = o.id AND e.event_id = $3
WHERE a.postback_key = $1`

// fast handles the common postback (a valid key and click, an event named exactly) with one
// read. ok is false when the postback needs the full path (unknown key or click, allowlist,
// unknown or tolerant event, unknown status word): nothing was written then, and the caller
// starts over on the general path, which answers it.
func (s *Service) fast(ctx context.Context, key string, p Params, req Request) (out outcome, accountID int, ok bool, err error) {
	if p.EventID == "" {
		return outcome{}, 0, false, nil
	}
	tx, err := s.Client.Tx(ctx)
	if err != nil {
		return outcome{}, 0, false, fmt.Errorf("begin: %w", err)
	}
	c := tx.Client()
	done := false
	defer func() {
		if !done {
			_ = tx.Rollback()
		}
	}()
	var (
		acctKey   string
		allowlist sql.NullString
		cl        ent.Click
		o         ent.Offer
		ev        ent.OfferEvent
		member    sql.NullString
		evID      sql.NullInt64
		evPayout  sql.NullInt64
		budgetTot sql.NullInt64
		budgetDay sql.NullInt64
		oCaps     [4]sql.NullInt64
		eCaps     [4]sql.NullInt64
		found     bool
	)
	rows, err := c.QueryContext(ctx, lookupSQL, key, p.ClickID, p.EventID)
	if err != nil {
		return outcome{}, 0, false, fmt.Errorf("look up click: %w", err)
	}
	if rows.Next() {
		found = true
		err = rows.Scan(&accountID, &acctKey, &allowlist, &cl.ID, &member,
			&o.ID, &o.IntegrationSystem, &o.Status, &o.Currency, &budgetTot, &budgetDay, &o.OneCompletionPerMember,
			&oCaps[0], &oCaps[1], &oCaps[2], &oCaps[3], &o.TimeZone,
			&evID, &evPayout, &eCaps[0], &eCaps[1], &eCaps[2], &eCaps[3])
	}
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return outcome{}, 0, false, fmt.Errorf("look up click: %w", err)
	}
	if !found || !evID.Valid || subtle.ConstantTimeCompare([]byte(acctKey), []byte(key)) != 1 {
		return outcome{}, 0, false, nil
	}
	if allowlist.Valid && allowlist.String != "" && allowlist.String != "null" {
		var cidrs []string
		if json.Unmarshal([]byte(allowlist.String), &cidrs) != nil || !allowed(cidrs, req.SourceIP) {
			return outcome{}, 0, false, nil
		}
	}
	to := lifecycle.Pending
	if p.Status != "" {
		st, known := MapStatus(o.IntegrationSystem, p.Status)
		if !known {
			return outcome{}, 0, false, nil
		}
		to = st
	}
	cl.AccountID, cl.OfferID, cl.GkClickID, cl.PubMemberID = accountID, o.ID, p.ClickID, member.String
	o.AccountID = accountID
	o.BudgetTotal, o.BudgetDaily = microsOrNil(budgetTot), microsOrNil(budgetDay)
	o.CapDaily, o.CapWeekly, o.CapMonthly, o.CapTotal = intOrNil(oCaps[0]), intOrNil(oCaps[1]), intOrNil(oCaps[2]), intOrNil(oCaps[3])
	ev.ID, ev.AccountID, ev.OfferID, ev.EventID, ev.Payout = int(evID.Int64), accountID, o.ID, p.EventID, money.Micros(evPayout.Int64)
	ev.CapDaily, ev.CapWeekly, ev.CapMonthly, ev.CapTotal = intOrNil(eCaps[0]), intOrNil(eCaps[1]), intOrNil(eCaps[2]), intOrNil(eCaps[3])

	actx := viewer.ForAccount(ctx, accountID)
	var d deferred
	if s.Dialect == dialect.Postgres {
		actx = context.WithValue(actx, deferKey{}, &d)
	}
	out, err = apply(actx, c, s.Dialect, p, req.Now, &cl, &o, &ev, to)
	if err == nil {
		if d.set {
			err = writeAcceptedPostgres(ctx, c, d, req, out)
		} else {
			err = s.writeLog(ctx, c, accountID, req, out)
		}
	}
	if err != nil {
		return outcome{}, accountID, true, err
	}
	done = true
	if err := tx.Commit(); err != nil {
		return outcome{}, accountID, true, fmt.Errorf("commit: %w", err)
	}
	return out, accountID, true, nil
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

// insertConversionSQL inserts a conversion unless one with its identity exists: of concurrent
// copies exactly one inserts, and the others (which wait for it to commit) insert nothing.
const insertConversionSQL = `INSERT INTO conversions (created_at, updated_at, integration_system, network_conversion_id,
 status, payout, amount, currency, pub_member_id, extras, click_id, account_id, offer_id, offer_event_id)
VALUES ($1, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
ON CONFLICT DO NOTHING RETURNING id`

// insertConversion inserts the conversion; nil without an error means one with its network
// conversion id, or its click and event, exists already (committed: the insert waited).
func insertConversion(ctx context.Context, c *ent.Client, o *ent.Offer, ev *ent.OfferEvent, cl *ent.Click, p Params, to lifecycle.Status, now time.Time) (*ent.Conversion, error) {
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
			return nil, fmt.Errorf("insert conversion: %w", err)
		}
		extrasArg = string(b)
	}
	if p.ConversionID != "" {
		ncidArg = p.ConversionID
	}
	if p.Amount != nil {
		amountArg = int64(*p.Amount)
	}
	// Stored as ent stores times (UTC on PostgreSQL's timestamptz either way).
	rows, err := c.QueryContext(ctx, insertConversionSQL, now, string(o.IntegrationSystem), ncidArg,
		string(to), int64(ev.Payout), amountArg, o.Currency, cl.PubMemberID, extrasArg,
		cl.ID, cl.AccountID, o.ID, ev.ID)
	if err != nil {
		return nil, fmt.Errorf("insert conversion: %w", err)
	}
	id, inserted := 0, false
	if rows.Next() {
		inserted = true
		err = rows.Scan(&id)
	}
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("insert conversion: %w", err)
	}
	if !inserted {
		return nil, nil
	}
	conv := &ent.Conversion{
		ID: id, AccountID: cl.AccountID, ClickID: cl.ID, OfferID: o.ID, OfferEventID: ev.ID,
		IntegrationSystem: o.IntegrationSystem, Status: to, Payout: ev.Payout, Amount: p.Amount,
		Currency: o.Currency, PubMemberID: cl.PubMemberID, Extras: extras, CreatedAt: now, UpdatedAt: now,
	}
	if p.ConversionID != "" {
		ncid := p.ConversionID
		conv.NetworkConversionID = &ncid
	}
	return conv, nil
}

// recordCharge stores on a new conversion what it was charged to, for its release.
func recordCharge(ctx context.Context, c *ent.Client, convID int, shard *int, counters []string, now time.Time) error {
	var shardArg, countersArg any
	if shard != nil {
		shardArg = int64(*shard)
	}
	b, err := json.Marshal(counters)
	if err != nil {
		return err
	}
	countersArg = string(b)
	_, err = c.ExecContext(ctx, `UPDATE conversions SET budget_shard = $1, charged_counters = $2, updated_at = $3 WHERE id = $4`,
		shardArg, countersArg, now, convID)
	return err
}

// recordHistory appends a step to a conversion's status history.
func recordHistory(ctx context.Context, c *ent.Client, accountID, convID int, from *lifecycle.Status, to lifecycle.Status, reason, source string, at time.Time) error {
	var fromArg any
	if from != nil {
		fromArg = string(*from)
	}
	_, err := c.ExecContext(ctx, `INSERT INTO conversion_status_changes (from_status, to_status, reason, source, created_at, conversion_id, account_id)
VALUES ($1, $2, $3, $4, $5, $6, $7)`, fromArg, string(to), truncate(reason, 500), source, at, convID, accountID)
	return err
}

// deferred is what accept leaves for the last statement of a new, charged conversion on
// PostgreSQL: the charge record and the first history step, written with the postback log.
type deferred struct {
	set       bool
	convID    int
	accountID int
	shard     *int
	counters  []string
	now       time.Time
	status    lifecycle.Status
	at        time.Time
}

type deferKey struct{}

// acceptedSQL ends a new, charged conversion's postback in one statement: it records what the
// conversion was charged to, appends its first history step and writes the postback log.
const acceptedSQL = `WITH charge AS (
  UPDATE conversions SET budget_shard = $1, charged_counters = $2, updated_at = $3 WHERE id = $4 AND account_id = $9
), history AS (
  INSERT INTO conversion_status_changes (from_status, to_status, reason, source, created_at, conversion_id, account_id)
  VALUES (NULL, $5, '', $6, $7, $4, $9)
)
INSERT INTO postback_logs (raw_query, source_ip, outcome, http_status, reason, offer_id, created_at, conversion_id, account_id)
VALUES ($8, $10, $11, $12, $13, $14, $15, $4, $9)`

func writeAcceptedPostgres(ctx context.Context, c *ent.Client, d deferred, req Request, out outcome) error {
	var shardArg any
	if d.shard != nil {
		shardArg = int64(*d.shard)
	}
	counters, err := json.Marshal(d.counters)
	if err != nil {
		return err
	}
	var offerArg any
	if out.offerID != nil {
		offerArg = int64(*out.offerID)
	}
	if _, err := c.ExecContext(ctx, acceptedSQL, shardArg, string(counters), d.now, d.convID,
		string(d.status), string(conversionstatuschange.SourcePOSTBACK), d.at, Redact(req.RawQuery), d.accountID,
		truncate(req.SourceIP, 64), string(out.log), out.status, truncate(out.reason, 500), offerArg, req.Now); err != nil {
		return fmt.Errorf("write postback log: %w", err)
	}
	return nil
}
