// Package budget charges and releases a conversion's spend against its offer's limits, exactly,
// with the database as the only arbiter so that any number of server processes can share one
// PostgreSQL:
//
//   - Total budget: the offer's budget is split into Shards allotments (offer_budget_shards:
//     allotted, spent; the sum of allotted is the offer's budget_total). On PostgreSQL a
//     conversion charges, in one statement, the first shard (from a random one) that has room
//     and that no other transaction holds (FOR UPDATE SKIP LOCKED), so conversions on one hot
//     offer do not queue behind each other; then (and on SQLite) it tries a few random shards
//     with a conditional UPDATE (spent + payout <= allotted), and only when none has room locks
//     every shard of the offer in shard order, recomputes the true remainder and re-allots it,
//     or refuses when the remainder is smaller than the payout.
//   - Daily budget, caps (offer and event; day, week, month, all time) and one completion per
//     member: a counter row per limit and period (offer_counters) bumped by a conditional
//     UPDATE, and a unique member_completions row. Only limits the offer has set are touched.
//   - The exact spend is the sum of the shards (Spent; GraphQL's budgetSpent reads it).
//     Offer.budget_spent is a copy for filters, refreshed off the request path by Refresher
//     (a fraction of a second behind) or by Sync/SyncInTx, under the offer's row lock so the
//     last refresh wins with the newest sum.
//
// Periods are calendar periods in the offer's time zone at the conversion's time: the day, the
// ISO week (from Monday) and the month. A charge records the counters and shard it touched on
// the conversion, and a release gives back exactly those.
package budget

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"entgo.io/ent/dialect"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/offer"
	"github.com/gokart/gokart/internal/errcode"
	"github.com/gokart/gokart/internal/inlist"
	"github.com/gokart/gokart/internal/money"
)

// Shards is the number of allotments an offer's budget is split into.
const Shards = 64

// fastTries is how many random shards a charge tries before taking the slow path.
const fastTries = 3

// Rule names, as answered in a 409 body and stored as a rejected conversion's reason.
const (
	RuleOfferEnded         = "offer_ended"
	RuleOfferNotLive       = "offer_not_live"
	RuleOneCompletion      = "one_completion_per_member"
	RuleBudgetTotal        = "budget_total"
	RuleBudgetDaily        = "budget_daily"
	completionMarker       = "completion"
	counterPrefixBudget    = "budget:"
	counterPrefixCap       = "cap:"
	offerCapRulePrefix     = "offer_cap_"
	eventCapRulePrefix     = "event_cap_"
	periodDay, periodWeek  = "D", "W"
	periodMonth, periodAll = "M", "T"
)

// Charge is what a conversion was charged to, kept on the conversion for its release.
type Charge struct {
	// Shard is the budget shard holding the payout; nil when nothing was charged to shards.
	Shard *int
	// Counters are the period counters charged, plus the completion marker.
	Counters []string
}

// Caps are conversion caps by period: daily, weekly, monthly and total; nil is no cap.
type Caps [4]*int

// Terms are what the rules need of an offer and one of its events: a narrow copy, so that a
// caller that reads them in one statement of its own fills every field the rules read.
type Terms struct {
	OfferID                int
	Status                 offer.Status
	TimeZone               string
	BudgetTotal            *money.Micros
	BudgetDaily            *money.Micros
	OneCompletionPerMember bool
	OfferCaps              Caps
	EventID                int
	EventCaps              Caps
}

// TermsOf copies the terms of an offer and its event.
func TermsOf(o *ent.Offer, e *ent.OfferEvent) Terms {
	t := Terms{
		OfferID: o.ID, Status: o.Status, TimeZone: o.TimeZone, BudgetTotal: o.BudgetTotal, BudgetDaily: o.BudgetDaily,
		OneCompletionPerMember: o.OneCompletionPerMember, OfferCaps: Caps{o.CapDaily, o.CapWeekly, o.CapMonthly, o.CapTotal},
	}
	if e != nil {
		t.EventID, t.EventCaps = e.ID, Caps{e.CapDaily, e.CapWeekly, e.CapMonthly, e.CapTotal}
	}
	return t
}

// Subject is what a charge is about.
type Subject struct {
	AccountID int
	Terms     Terms
	Payout    money.Micros
	Member    string
	// At is when the conversion happened; it picks the periods of caps and daily budget.
	At time.Time
	// ConversionID owns the member completion.
	ConversionID int
}

// CheckLive refuses conversions for offers that do not take them: ACTIVE and PAUSED offers do
// (a paused offer still pays for clicks made while it was active), ENDED and DRAFT do not.
func CheckLive(status offer.Status) error {
	switch status {
	case offer.StatusACTIVE, offer.StatusPAUSED:
		return nil
	case offer.StatusENDED:
		return errcode.RefuseRule(RuleOfferEnded)
	default:
		return errcode.RefuseRule(RuleOfferNotLive)
	}
}

// ChargeConversion applies every rule and charges the spend, in one order for every caller (so
// concurrent transactions take row locks in one order): completion, event caps, offer caps,
// daily budget, total budget. It must run inside a transaction (c is its client). On refusal it
// gives back what it charged, and returns an *errcode.Refusal.
func ChargeConversion(ctx context.Context, c *ent.Client, dialectName string, s Subject) (Charge, error) {
	if err := CheckLive(s.Terms.Status); err != nil {
		return Charge{}, err
	}
	var ch Charge
	undo := func(err error) (Charge, error) {
		if rerr := release(ctx, c, s, ch); rerr != nil {
			return Charge{}, rerr
		}
		return Charge{}, err
	}
	if s.Terms.OneCompletionPerMember && s.Member != "" {
		res, err := c.ExecContext(ctx, `INSERT INTO member_completions (account_id, offer_event_id, pub_member_id, conversion_id)
VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, s.AccountID, s.Terms.EventID, s.Member, s.ConversionID)
		if err != nil {
			return Charge{}, fmt.Errorf("record completion: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return Charge{}, err
		} else if n == 0 {
			return Charge{}, errcode.RefuseRule(RuleOneCompletion)
		}
		ch.Counters = append(ch.Counters, completionMarker)
	}
	for _, l := range limitsOf(s) {
		ok, err := bumpCounter(ctx, c, s.AccountID, s.Terms.OfferID, l.key, l.delta, l.max)
		if err != nil {
			return undo(err)
		}
		if !ok {
			return undo(errcode.RefuseRule(l.rule))
		}
		ch.Counters = append(ch.Counters, l.key)
	}
	if s.Payout > 0 || s.Terms.BudgetTotal != nil {
		shard, err := chargeShards(ctx, c, dialectName == dialect.Postgres, s.AccountID, s.Terms.OfferID, s.Terms.BudgetTotal, int64(s.Payout))
		if err != nil {
			return undo(err)
		}
		ch.Shard = &shard
	}
	return ch, nil
}

// Release gives back exactly what ch charged for the subject's conversion.
func Release(ctx context.Context, c *ent.Client, s Subject, ch Charge) error {
	return release(ctx, c, s, ch)
}

func release(ctx context.Context, c *ent.Client, s Subject, ch Charge) error {
	for _, key := range ch.Counters {
		if key == completionMarker {
			if _, err := c.ExecContext(ctx, `DELETE FROM member_completions WHERE account_id = $1 AND conversion_id = $2`,
				s.AccountID, s.ConversionID); err != nil {
				return fmt.Errorf("release completion: %w", err)
			}
			continue
		}
		delta := int64(1)
		if strings.HasPrefix(key, counterPrefixBudget) {
			delta = int64(s.Payout)
		}
		if _, err := c.ExecContext(ctx, `UPDATE offer_counters SET "value" = "value" - CAST($1 AS BIGINT)
WHERE account_id = $2 AND offer_id = $3 AND "key" = $4`, delta, s.AccountID, s.Terms.OfferID, key); err != nil {
			return fmt.Errorf("release counter %s: %w", key, err)
		}
	}
	// The shard last, in the order ChargeConversion takes its locks (completion, counters,
	// shards): the opposite order deadlocked a release against a charge near exhaustion.
	if ch.Shard != nil {
		if _, err := c.ExecContext(ctx, `UPDATE offer_budget_shards SET spent = spent - CAST($1 AS BIGINT)
WHERE account_id = $2 AND offer_id = $3 AND shard = $4`, int64(s.Payout), s.AccountID, s.Terms.OfferID, *ch.Shard); err != nil {
			return fmt.Errorf("release budget shard: %w", err)
		}
	}
	return nil
}

type limit struct {
	key   string
	delta int64
	max   int64
	rule  string
}

// limitsOf lists the counters the subject's offer and event ask for, in charging order.
func limitsOf(s Subject) []limit {
	t := s.Terms
	if t.OfferCaps == (Caps{}) && t.EventCaps == (Caps{}) && (t.BudgetDaily == nil || s.Payout <= 0) {
		return nil // most offers: no period to name (an offerwall page judges dozens of them)
	}
	periods := PeriodKeys(s.At, s.Terms.TimeZone)
	var ls []limit
	caps := func(scope, rulePrefix string, caps Caps) {
		for i, p := range []string{periodDay, periodWeek, periodMonth, periodAll} {
			if caps[i] != nil {
				ls = append(ls, limit{key: counterPrefixCap + scope + ":" + p + ":" + periods[p], delta: 1,
					max: int64(*caps[i]), rule: rulePrefix + periodNames[p]})
			}
		}
	}
	caps("event:"+strconv.Itoa(t.EventID), eventCapRulePrefix, t.EventCaps)
	caps("offer", offerCapRulePrefix, t.OfferCaps)
	if t.BudgetDaily != nil && s.Payout > 0 {
		ls = append(ls, limit{key: counterPrefixBudget + periodDay + ":" + periods[periodDay], delta: int64(s.Payout),
			max: int64(*t.BudgetDaily), rule: RuleBudgetDaily})
	}
	return ls
}

var periodNames = map[string]string{periodDay: "daily", periodWeek: "weekly", periodMonth: "monthly", periodAll: "total"}

var (
	zonesMu sync.Mutex
	zones   = map[string]*time.Location{}
)

func location(name string) *time.Location {
	zonesMu.Lock()
	defer zonesMu.Unlock()
	if loc, ok := zones[name]; ok {
		return loc
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		loc = time.UTC
	}
	zones[name] = loc
	return loc
}

// PeriodKeys names the day, ISO week (its Monday), month and all-time periods that t falls in,
// in the time zone tz (UTC when unknown).
func PeriodKeys(t time.Time, tz string) map[string]string {
	lt := t.In(location(tz))
	monday := lt.AddDate(0, 0, -((int(lt.Weekday()) + 6) % 7))
	return map[string]string{
		periodDay:   lt.Format(time.DateOnly),
		periodWeek:  monday.Format(time.DateOnly),
		periodMonth: lt.Format("2006-01"),
		periodAll:   "all",
	}
}

// bumpCounter adds delta to a counter unless that passes max; a missing row is made first.
func bumpCounter(ctx context.Context, c *ent.Client, accountID, offerID int, key string, delta, max int64) (bool, error) {
	const bump = `UPDATE offer_counters SET "value" = "value" + CAST($1 AS BIGINT)
WHERE account_id = $2 AND offer_id = $3 AND "key" = $4 AND "value" + CAST($1 AS BIGINT) <= CAST($5 AS BIGINT)`
	for attempt := 0; attempt < 2; attempt++ {
		res, err := c.ExecContext(ctx, bump, delta, accountID, offerID, key, max)
		if err != nil {
			return false, fmt.Errorf("bump counter %s: %w", key, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return false, err
		} else if n == 1 {
			return true, nil
		}
		if attempt == 1 {
			break
		}
		// No row, or no room. Make the row if it is missing (waiting out a concurrent maker),
		// then try once more: the second answer is final.
		if _, err := c.ExecContext(ctx, `INSERT INTO offer_counters (account_id, offer_id, "key", "value")
VALUES ($1, $2, $3, 0) ON CONFLICT DO NOTHING`, accountID, offerID, key); err != nil {
			return false, fmt.Errorf("create counter %s: %w", key, err)
		}
	}
	return false, nil
}

// chargeShardSQL charges the first shard with room, from a random one ($4) up and then from 0,
// on PostgreSQL. Each half walks the (account_id, offer_id, shard) key in its order and stops at
// the first shard with room that no other transaction holds, so a charge reads one or two
// shards, not all of the offer's (ordering by (shard + $4) % Shards sorted all 64 and read them
// with their row versions: 106 buffers a charge in cmd/gokart-bench, and the sort let a planner
// without statistics scan the account's every shard). The second half runs only when the first
// finds nothing.
var chargeShardSQL = "WITH " + ShardPickSQL + `
UPDATE offer_budget_shards SET spent = spent + CAST($1 AS BIGINT)
WHERE account_id = $2 AND offer_id = $3 AND id = (SELECT id FROM up UNION ALL SELECT id FROM wrapped LIMIT 1)
RETURNING shard`

// ShardPickSQL is the two queries of chargeShardSQL that find and lock the shard to charge (up,
// then wrapped; each yields at most one id and shard), for a statement that charges it along
// with other writes (ShardPick gives the arguments $1 to $5).
const ShardPickSQL = `up AS (SELECT id, shard FROM offer_budget_shards
  WHERE account_id = $2 AND offer_id = $3 AND shard >= $4 AND budget_total IS NOT DISTINCT FROM CAST($5 AS BIGINT)
  AND (budget_total IS NULL OR spent + CAST($1 AS BIGINT) <= allotted)
  ORDER BY shard LIMIT 1 FOR UPDATE SKIP LOCKED),
wrapped AS (SELECT id, shard FROM offer_budget_shards
  WHERE account_id = $2 AND offer_id = $3 AND shard < $4 AND budget_total IS NOT DISTINCT FROM CAST($5 AS BIGINT)
  AND (budget_total IS NULL OR spent + CAST($1 AS BIGINT) <= allotted)
  ORDER BY shard LIMIT 1 FOR UPDATE SKIP LOCKED)`

// ShardPick returns ShardPickSQL's arguments for a charge of s that ChargeConversion would make
// with its budget shards alone, and false when it would do more or other: refuse the offer, record
// a completion, bump a cap or daily budget counter, or charge nothing. Such a charge is
// ChargeConversion's whole work when a shard has room; without one, ChargeConversion's slow path
// (rebalance) decides.
func ShardPick(s Subject) ([]any, bool) {
	if CheckLive(s.Terms.Status) != nil || s.Terms.OneCompletionPerMember && s.Member != "" || limitsOf(s) != nil ||
		s.Payout <= 0 && s.Terms.BudgetTotal == nil {
		return nil, false
	}
	var totalArg any
	if s.Terms.BudgetTotal != nil {
		totalArg = int64(*s.Terms.BudgetTotal)
	}
	return []any{int64(s.Payout), s.AccountID, s.Terms.OfferID, rand.IntN(Shards), totalArg}, true
}

// lockOfferSQL serializes the writers of an offer's budget_spent (syncIn).
const lockOfferSQL = "SELECT id FROM offers WHERE account_id = $1 AND id = $2 FOR NO KEY UPDATE"

// chargeShards puts payout on one shard of the offer's budget and returns the shard.
func chargeShards(ctx context.Context, c *ent.Client, postgres bool, accountID, offerID int, total *money.Micros, payout int64) (int, error) {
	var totalArg any
	if total != nil {
		totalArg = int64(*total)
	}
	start := rand.IntN(Shards)
	if postgres {
		// One statement takes the first shard with room that no other transaction holds,
		// starting at a random one: concurrent conversions of a hot offer never queue on a
		// shard while another has room. The row lock taken by FOR UPDATE re-checks the room
		// on the newest version of the row.
		rows, err := c.QueryContext(ctx, chargeShardSQL, payout, accountID, offerID, start, totalArg)
		if err != nil {
			return 0, fmt.Errorf("charge budget shard: %w", err)
		}
		shard, found := 0, false
		if rows.Next() {
			found = true
			err = rows.Scan(&shard)
		}
		if cerr := rows.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return 0, fmt.Errorf("charge budget shard: %w", err)
		}
		if found {
			return shard, nil
		}
	}
	const fast = `UPDATE offer_budget_shards SET spent = spent + CAST($1 AS BIGINT)
WHERE account_id = $2 AND offer_id = $3 AND shard = $4 AND budget_total IS NOT DISTINCT FROM CAST($5 AS BIGINT)
AND (budget_total IS NULL OR spent + CAST($1 AS BIGINT) <= allotted)`
	for i := range fastTries {
		shard := (start + i) % Shards
		res, err := c.ExecContext(ctx, fast, payout, accountID, offerID, shard, totalArg)
		if err != nil {
			return 0, fmt.Errorf("charge budget shard: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return 0, err
		} else if n == 1 {
			return shard, nil
		}
	}
	return rebalance(ctx, c, postgres, accountID, offerID, total, payout, start)
}

// rebalance is the slow path: with every shard of the offer locked, it checks the true
// remainder and re-allots it, giving the chosen shard room for the payout.
func rebalance(ctx context.Context, c *ent.Client, postgres bool, accountID, offerID int, total *money.Micros, payout int64, chosen int) (int, error) {
	var b strings.Builder
	b.WriteString("INSERT INTO offer_budget_shards (account_id, offer_id, shard, budget_total, allotted, spent) VALUES ")
	args := []any{accountID, offerID}
	for i := range Shards {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "($1, $2, %d, NULL, 0, 0)", i)
	}
	b.WriteString(" ON CONFLICT DO NOTHING")
	if _, err := c.ExecContext(ctx, b.String(), args...); err != nil {
		return 0, fmt.Errorf("create budget shards: %w", err)
	}
	lock := ""
	if postgres {
		lock = " FOR UPDATE"
	}
	rows, err := c.QueryContext(ctx, `SELECT spent FROM offer_budget_shards WHERE account_id = $1 AND offer_id = $2 ORDER BY shard`+lock,
		accountID, offerID)
	if err != nil {
		return 0, fmt.Errorf("lock budget shards: %w", err)
	}
	var spent int64
	for rows.Next() {
		var s int64
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return 0, err
		}
		spent += s
	}
	if err := rows.Close(); err != nil {
		return 0, err
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	// The total as committed now, not as the caller read it before taking the locks: a budget
	// edited meanwhile must not be re-allotted back to its old value.
	total, err = currentTotal(ctx, c, accountID, offerID)
	if err != nil {
		return 0, err
	}
	var totalArg any
	base, extra := int64(0), int64(0)
	if total != nil {
		remaining := int64(*total) - spent - payout
		if remaining < 0 {
			return 0, errcode.RefuseRule(RuleBudgetTotal)
		}
		totalArg = int64(*total)
		base, extra = remaining/Shards, remaining%Shards
	}
	// SET expressions read the old spent, so the chosen shard ends with room base+extra after
	// taking the payout, every other shard with room base: the allotments sum to the total.
	if _, err := c.ExecContext(ctx, `UPDATE offer_budget_shards SET budget_total = CAST($1 AS BIGINT),
allotted = spent + CAST($2 AS BIGINT) + CASE WHEN shard = $3 THEN CAST($4 AS BIGINT) ELSE 0 END,
spent = spent + CASE WHEN shard = $3 THEN CAST($5 AS BIGINT) ELSE 0 END
WHERE account_id = $6 AND offer_id = $7`, totalArg, base, chosen, extra+payout, payout, accountID, offerID); err != nil {
		return 0, fmt.Errorf("re-allot budget shards: %w", err)
	}
	return chosen, nil
}

// currentTotal reads an offer's total budget as last committed; nil means unlimited.
func currentTotal(ctx context.Context, c *ent.Client, accountID, offerID int) (*money.Micros, error) {
	rows, err := c.QueryContext(ctx, `SELECT budget_total FROM offers WHERE account_id = $1 AND id = $2`, accountID, offerID)
	if err != nil {
		return nil, fmt.Errorf("read budget total: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("read budget total: offer %d not found", offerID)
	}
	var v sql.NullInt64
	if err := rows.Scan(&v); err != nil {
		return nil, err
	}
	if !v.Valid {
		return nil, nil
	}
	t := money.Micros(v.Int64)
	return &t, rows.Err()
}

// Sync copies the sum of the offer's budget shards into offers.budget_spent. It runs after the
// charging transaction has committed, in a short transaction of its own: it first locks the
// offer row and only then sums, so of two concurrent syncs the later one sees every charge
// committed before it, and the last write is the newest sum. The lock is FOR NO KEY UPDATE, which
// does not wait for the key-share locks that inserting clicks and conversions take on the offer
// row through their foreign keys. On PostgreSQL it commits without
// waiting for the WAL flush: the value is derived, and any later sync repairs a lost one, while
// the row lock is held for microseconds instead of a disk flush.
func Sync(ctx context.Context, client *ent.Client, dialectName string, accountID, offerID int) error {
	tx, err := client.Tx(ctx)
	if err != nil {
		return fmt.Errorf("sync spend of offer %d: %w", offerID, err)
	}
	c := tx.Client()
	if err := syncIn(ctx, c, dialectName == dialect.Postgres, true, accountID, offerID); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sync spend of offer %d: %w", offerID, err)
	}
	return nil
}

// SyncInTx refreshes offers.budget_spent inside the caller's transaction (for callers that
// cannot act after their commit, such as a GraphQL mutation).
func SyncInTx(ctx context.Context, c *ent.Client, dialectName string, accountID, offerID int) error {
	return syncIn(ctx, c, dialectName == dialect.Postgres, false, accountID, offerID)
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func syncIn(ctx context.Context, ex execer, postgres, asyncCommit bool, accountID, offerID int) error {
	if postgres {
		if asyncCommit {
			if _, err := ex.ExecContext(ctx, "SET LOCAL synchronous_commit = off"); err != nil {
				return fmt.Errorf("sync spend of offer %d: %w", offerID, err)
			}
		}
		if _, err := ex.ExecContext(ctx, lockOfferSQL, accountID, offerID); err != nil {
			return fmt.Errorf("sync spend of offer %d: lock: %w", offerID, err)
		}
	}
	if _, err := ex.ExecContext(ctx, `UPDATE offers SET budget_spent =
(SELECT COALESCE(SUM(spent), 0) FROM offer_budget_shards WHERE account_id = $1 AND offer_id = $2)
WHERE id = $2 AND account_id = $1`, accountID, offerID); err != nil {
		return fmt.Errorf("sync spend of offer %d: %w", offerID, err)
	}
	return nil
}

// Spent returns the offer's exact spend: the sum of its shards.
func Spent(ctx context.Context, c *ent.Client, accountID, offerID int) (money.Micros, error) {
	m, err := SpentByOffer(ctx, c, accountID, []int{offerID})
	return m[offerID], err
}

// SpentByOffer is the exact spend of each offer, the sum of its budget shards, in one GROUP BY
// for all of them; offers without shards have spent nothing and are absent from the map.
func SpentByOffer(ctx context.Context, q interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}, accountID int, offerIDs []int) (map[int]money.Micros, error) {
	out := make(map[int]money.Micros, len(offerIDs))
	if len(offerIDs) == 0 {
		return out, nil
	}
	args := []any{accountID}
	var in strings.Builder
	for i, id := range offerIDs {
		if i > 0 {
			in.WriteString(", ")
		}
		args = append(args, id)
		fmt.Fprintf(&in, "$%d", len(args))
	}
	rows, err := q.QueryContext(ctx, `SELECT offer_id, COALESCE(SUM(spent), 0) FROM offer_budget_shards
WHERE account_id = $1 AND offer_id IN (`+in.String()+`) GROUP BY offer_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("sum budget shards: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int
		var v int64
		if err := rows.Scan(&id, &v); err != nil {
			return nil, err
		}
		out[id] = money.Micros(v)
	}
	return out, rows.Err()
}

// Exhausted tells the click route whether the offer can take no more conversions now: its
// budget cannot pay its cheapest event, or an offer-level cap or the daily budget of the
// current period is full. It reads without locking; the postback path decides exactly.
func Exhausted(ctx context.Context, c *ent.Client, dialectName string, o *ent.Offer, cheapest money.Micros, now time.Time) (string, error) {
	rules, err := ExhaustedByOffer(ctx, c, dialectName, o.AccountID, []*ent.Offer{o}, map[int]money.Micros{o.ID: cheapest}, now)
	return rules[o.ID], err
}

// ExhaustedByOffer is Exhausted for many offers of one account, in one statement whatever
// their number (LimitCheck's reads, none when no offer has a limit). It maps each offer that
// cannot take a conversion now to the rule that is full; cheapest is each offer's cheapest
// event payout.
func ExhaustedByOffer(ctx context.Context, q querier, dialectName string, accountID int, offers []*ent.Offer, cheapest map[int]money.Micros, now time.Time) (map[int]string, error) {
	lc := NewLimitCheck(offers, cheapest, now)
	args := []any{accountID}
	selects := lc.Selects(dialectName, "$1", func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	})
	if len(selects) == 0 {
		return lc.Judge(), nil
	}
	rows, err := q.QueryContext(ctx, strings.Join(selects, "\nUNION ALL "), args...)
	if err != nil {
		return nil, fmt.Errorf("read offer spend and counters: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var offerID int
		var key string
		var value int64
		if err := rows.Scan(&offerID, &key, &value); err != nil {
			return nil, fmt.Errorf("read offer spend and counters: %w", err)
		}
		lc.Add(offerID, key, value)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read offer spend and counters: %w", err)
	}
	return lc.Judge(), nil
}

// LimitCheck is ExhaustedByOffer in parts, for a caller that reads the limits together with
// rows of its own in one statement: Selects are the reads, Add takes each row they give, and
// Judge judges what was added.
type LimitCheck struct {
	offers    []*ent.Offer
	cheapest  map[int]money.Micros
	withTotal []int64
	limits    map[int][]limit
	keys      []string
	spent     map[int]money.Micros
	counters  map[counterAt]int64
}

// NewLimitCheck plans the reads of the offers' total budgets, caps and daily budgets at now.
func NewLimitCheck(offers []*ent.Offer, cheapest map[int]money.Micros, now time.Time) *LimitCheck {
	// Maps made when first needed: most offers of a page have no limit to read.
	lc := &LimitCheck{offers: offers, cheapest: cheapest}
	for _, o := range offers {
		if o.BudgetTotal != nil {
			lc.withTotal = append(lc.withTotal, int64(o.ID))
		}
		if ls := clickLimits(o, cheapest[o.ID], now); len(ls) > 0 {
			if lc.limits == nil {
				lc.limits = map[int][]limit{}
			}
			lc.limits[o.ID] = ls
			for _, l := range ls {
				if !slices.Contains(lc.keys, l.key) {
					lc.keys = append(lc.keys, l.key)
				}
			}
		}
	}
	return lc
}

// Selects are at most two SELECTs of rows (offer_id, key, value) to join with UNION ALL: the
// spend of the offers with a total budget (key ”) and their counters. account is the
// account's argument; arg adds an argument and names it. Their texts depend only on which of
// the two there are, not on the number of offers (inlist).
func (lc *LimitCheck) Selects(dialectName, account string, arg func(any) string) []string {
	var out []string
	if len(lc.withTotal) > 0 {
		out = append(out, `SELECT offer_id, '', CAST(COALESCE(SUM(spent), 0) AS BIGINT) FROM offer_budget_shards
WHERE account_id = `+account+` AND `+inlist.Ints(dialectName, "offer_id", arg, lc.withTotal)+` GROUP BY offer_id`)
	}
	if len(lc.limits) > 0 {
		ids := make([]int64, 0, len(lc.limits))
		for id := range lc.limits {
			ids = append(ids, int64(id))
		}
		slices.Sort(ids)
		out = append(out, `SELECT offer_id, "key", "value" FROM offer_counters WHERE account_id = `+account+`
AND `+inlist.Ints(dialectName, "offer_id", arg, ids)+` AND `+inlist.Texts(dialectName, `"key"`, arg, lc.keys))
	}
	return out
}

// Add takes a row of Selects.
func (lc *LimitCheck) Add(offerID int, key string, value int64) {
	if key == "" {
		if lc.spent == nil {
			lc.spent = map[int]money.Micros{}
		}
		lc.spent[offerID] = money.Micros(value)
		return
	}
	if lc.counters == nil {
		lc.counters = map[counterAt]int64{}
	}
	lc.counters[counterAt{offerID, key}] = value
}

// Judge maps each offer that cannot take a conversion now to the rule that is full.
func (lc *LimitCheck) Judge() map[int]string {
	out := map[int]string{}
	for _, o := range lc.offers {
		if o.BudgetTotal != nil {
			if s := lc.spent[o.ID]; s+lc.cheapest[o.ID] > *o.BudgetTotal || s >= *o.BudgetTotal {
				out[o.ID] = RuleBudgetTotal
				continue
			}
		}
		for _, l := range lc.limits[o.ID] {
			if lc.counters[counterAt{o.ID, l.key}]+l.delta > l.max {
				out[o.ID] = l.rule
				break
			}
		}
	}
	return out
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

type counterAt struct {
	offerID int
	key     string
}

// CompletedEvents lists, for each of the offers, the events the member has a counted
// completion of (member_completions), in one statement.
func CompletedEvents(ctx context.Context, q querier, accountID int, member string, offerIDs []int) (map[int]map[int]bool, error) {
	out := map[int]map[int]bool{}
	if member == "" || len(offerIDs) == 0 {
		return out, nil
	}
	args := []any{accountID, member}
	var in strings.Builder
	for i, id := range offerIDs {
		if i > 0 {
			in.WriteString(", ")
		}
		args = append(args, id)
		fmt.Fprintf(&in, "$%d", len(args))
	}
	rows, err := q.QueryContext(ctx, `SELECT e.offer_id, m.offer_event_id FROM member_completions m
JOIN offer_events e ON e.account_id = m.account_id AND e.id = m.offer_event_id
WHERE m.account_id = $1 AND m.pub_member_id = $2 AND e.offer_id IN (`+in.String()+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("read member completions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var offerID, eventID int
		if err := rows.Scan(&offerID, &eventID); err != nil {
			return nil, err
		}
		if out[offerID] == nil {
			out[offerID] = map[int]bool{}
		}
		out[offerID][eventID] = true
	}
	return out, rows.Err()
}

// clickLimits lists the offer's caps and daily budget for the periods of now, for a conversion
// paying cheapest; event caps are left out (a click does not name its event).
func clickLimits(o *ent.Offer, cheapest money.Micros, now time.Time) []limit {
	var out []limit
	for _, l := range limitsOf(Subject{Terms: TermsOf(o, nil), Payout: cheapest, At: now}) {
		if !strings.HasPrefix(l.key, counterPrefixCap+"event:") {
			out = append(out, l)
		}
	}
	return out
}

// ClickGuardSlots is how many offer limits a click is checked against at most: the offer's
// four cap periods and its daily budget.
const ClickGuardSlots = 5

// ClickTerms are one click's arguments of ClickGuard, in its column order: the cheapest
// payout, then ClickGuardSlots (key, delta, max) triples, unused ones NULL.
func ClickTerms(o *ent.Offer, cheapest money.Micros, now time.Time) []any {
	args := make([]any, 1, 1+3*ClickGuardSlots)
	// A budget that cannot pay the cheapest event (or, for free events, has nothing left).
	args[0] = int64(max(cheapest, 1))
	limits := clickLimits(o, cheapest, now)
	if len(limits) > ClickGuardSlots {
		panic(fmt.Sprintf("offer %d has %d click limits, ClickGuard checks %d", o.ID, len(limits), ClickGuardSlots))
	}
	for _, l := range limits {
		args = append(args, l.key, l.delta, l.max)
	}
	for len(args) < cap(args) {
		args = append(args, nil)
	}
	return args
}

// ClickTermColumns name ClickTerms' values as columns of the click rows (v) ClickGuard reads,
// with their types.
func ClickTermColumns() (names, types []string) {
	names, types = []string{"cheapest"}, []string{"BIGINT"}
	for i := range ClickGuardSlots {
		names = append(names, fmt.Sprintf("k%d", i), fmt.Sprintf("d%d", i), fmt.Sprintf("m%d", i))
		types = append(types, "TEXT", "BIGINT", "BIGINT")
	}
	return names, types
}

// ClickGuard is the condition a click's INSERT … SELECT … FROM v JOIN offers o … WHERE …
// appends, so that each click row v is recorded only while its offer o can still pay for it,
// as committed: its total budget can pay the cheapest event (one shard allotted from the
// current total with room is proof enough, and reads a few rows instead of summing all 64),
// and its caps and daily budget have room (what Exhausted reads). v carries ClickTerms.
// account is the SQL of the batch's account (a parameter): every table the guard reads is
// filtered on it itself, so that Citus can tell the one shard the statement touches.
func ClickGuard(account string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `
AND (o.budget_total IS NULL
  OR EXISTS (SELECT 1 FROM offer_budget_shards s WHERE s.account_id = o.account_id AND s.account_id = %[1]s AND s.offer_id = o.id
    AND s.budget_total = o.budget_total AND s.allotted - s.spent >= v.cheapest)
  OR (SELECT COALESCE(SUM(s.spent), 0) FROM offer_budget_shards s
    WHERE s.account_id = o.account_id AND s.account_id = %[1]s AND s.offer_id = o.id) <= o.budget_total - v.cheapest)`, account)
	for i := range ClickGuardSlots {
		fmt.Fprintf(&b, `
AND (v.k%[1]d IS NULL OR NOT EXISTS (SELECT 1 FROM offer_counters c WHERE c.account_id = o.account_id AND c.account_id = %[2]s AND c.offer_id = o.id
  AND c."key" = v.k%[1]d AND c."value" + v.d%[1]d > v.m%[1]d))`, i, account)
	}
	return b.String()
}

// DailySpent reads what each offer has spent of today's daily budget (today in each offer's
// time zone, zones by offer id), in one statement; offers without a counter for today are 0.
func DailySpent(ctx context.Context, q interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}, accountID int, zones map[int]string, now time.Time) (map[int]int64, error) {
	out := map[int]int64{}
	if len(zones) == 0 {
		return out, nil
	}
	dayKey := map[int]string{}
	var in strings.Builder
	args := []any{accountID}
	for id, tz := range zones {
		dayKey[id] = counterPrefixBudget + periodDay + ":" + PeriodKeys(now, tz)[periodDay]
		if len(args) > 1 {
			in.WriteString(" OR ")
		}
		args = append(args, id, dayKey[id])
		fmt.Fprintf(&in, `(offer_id = $%d AND "key" = $%d)`, len(args)-1, len(args))
	}
	rows, err := q.QueryContext(ctx, `SELECT offer_id, "key", "value" FROM offer_counters WHERE account_id = $1 AND (`+in.String()+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("read daily budget counters: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int
		var key string
		var v int64
		if err := rows.Scan(&id, &key, &v); err != nil {
			return nil, err
		}
		if dayKey[id] == key {
			out[id] = v
		}
	}
	return out, rows.Err()
}

// RefreshDelay is how long a Refresher gathers offers before it refreshes their
// offers.budget_spent copies in one transaction. A refresh sums every shard of each offer it
// names (64 rows an offer) and leaves a new version of each offer's row, which every read of
// the offer then steps over until it is pruned: at 200 ms, refreshes of 100 busy offers read
// 87 buffers per postback in cmd/gokart-bench, more than the postback's own statements. The
// copy is only for filters; the exact spend is read from the shards.
var RefreshDelay = time.Second

// Refresher keeps offers.budget_spent (a copy, for filters on it) close behind the shards
// without a transaction per conversion: Mark notes the offer, and a goroutine refreshes every
// noted offer of an account together a little later (Sync's lock-then-sum rule, in offer id
// order, so concurrent refreshers, in this process or another, never deadlock and the last write
// is the newest sum). The exact spend is Spent, which GraphQL's budgetSpent reads. The goroutine
// ends when nothing is left to refresh. The zero value is ready to use.
type Refresher struct {
	mu      sync.Mutex
	pending map[refreshKey]struct{}
	running bool
	// Dialect is the database's (entgo.io/ent/dialect names).
	Dialect string
	// OnError, when set, hears about refreshes that failed (the next one repairs them).
	OnError func(error)
}

type refreshKey struct{ account, offer int }

// Mark notes that the offer's spend changed.
func (r *Refresher) Mark(client *ent.Client, accountID, offerID int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pending == nil {
		r.pending = map[refreshKey]struct{}{}
	}
	r.pending[refreshKey{accountID, offerID}] = struct{}{}
	if !r.running {
		r.running = true
		go r.loop(client)
	}
}

func (r *Refresher) loop(client *ent.Client) {
	for {
		time.Sleep(RefreshDelay)
		r.mu.Lock()
		batch := r.pending
		r.pending = nil
		if len(batch) == 0 {
			r.running = false
			r.mu.Unlock()
			return
		}
		r.mu.Unlock()
		byAccount := map[int][]int{}
		for k := range batch {
			byAccount[k.account] = append(byAccount[k.account], k.offer)
		}
		for accountID, offers := range byAccount {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := refresh(ctx, client, r.Dialect == dialect.Postgres, accountID, offers)
			cancel()
			if err != nil && r.OnError != nil {
				r.OnError(err)
			}
		}
	}
}

// refresh is Sync for several offers of one account in one short transaction.
func refresh(ctx context.Context, client *ent.Client, postgres bool, accountID int, offers []int) error {
	slices.Sort(offers)
	tx, err := client.Tx(ctx)
	if err != nil {
		return fmt.Errorf("refresh spend: %w", err)
	}
	c := tx.Client()
	var in strings.Builder
	args := []any{accountID}
	for i, id := range offers {
		if i > 0 {
			in.WriteString(", ")
		}
		args = append(args, id)
		fmt.Fprintf(&in, "$%d", len(args))
	}
	stmts := []string{`UPDATE offers SET budget_spent =
(SELECT COALESCE(SUM(s.spent), 0) FROM offer_budget_shards s WHERE s.account_id = $1 AND s.offer_id = offers.id)
WHERE account_id = $1 AND id IN (` + in.String() + `)`}
	if postgres {
		stmts = append([]string{"SET LOCAL synchronous_commit = off",
			`SELECT id FROM offers WHERE account_id = $1 AND id IN (` + in.String() + `) ORDER BY id FOR NO KEY UPDATE`}, stmts...)
	}
	for i, q := range stmts {
		var a []any
		if i > 0 || !postgres {
			a = args
		}
		if _, err := c.ExecContext(ctx, q, a...); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("refresh spend: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("refresh spend: %w", err)
	}
	return nil
}

// Adjust moves a charged conversion's spend from s.Payout to payout, when the network modified
// the action: the daily budget counter and the budget shard it holds move by the difference,
// in ChargeConversion's lock order. An increase is checked like a charge (daily budget, then
// total budget) and refused with the rule's *errcode.Refusal, leaving everything as it was; a
// decrease always applies. It returns the conversion's charge now (one that held no shard,
// having paid nothing, gets one).
func Adjust(ctx context.Context, c *ent.Client, dialectName string, s Subject, ch Charge, payout money.Micros) (Charge, error) {
	delta := int64(payout) - int64(s.Payout)
	if delta == 0 {
		return ch, nil
	}
	out := Charge{Shard: ch.Shard, Counters: slices.Clone(ch.Counters)}
	daily := ""
	for _, k := range ch.Counters {
		if strings.HasPrefix(k, counterPrefixBudget) {
			daily = k
		}
	}
	if daily == "" && s.Terms.BudgetDaily != nil && payout > 0 {
		// Charged nothing before, so no daily counter: it starts counting now.
		daily = counterPrefixBudget + periodDay + ":" + PeriodKeys(s.At, s.Terms.TimeZone)[periodDay]
		out.Counters = append(out.Counters, daily)
	}
	if daily != "" {
		max := int64(math.MaxInt64)
		if s.Terms.BudgetDaily != nil && delta > 0 {
			max = int64(*s.Terms.BudgetDaily)
		}
		ok, err := bumpCounter(ctx, c, s.AccountID, s.Terms.OfferID, daily, delta, max)
		if err != nil {
			return Charge{}, err
		}
		if !ok {
			return Charge{}, errcode.RefuseRule(RuleBudgetDaily)
		}
	}
	undoDaily := func(err error) (Charge, error) {
		if daily != "" {
			if _, uerr := bumpCounter(ctx, c, s.AccountID, s.Terms.OfferID, daily, -delta, math.MaxInt64); uerr != nil {
				return Charge{}, uerr
			}
		}
		return Charge{}, err
	}
	postgres := dialectName == dialect.Postgres
	switch {
	case ch.Shard == nil && delta > 0:
		shard, err := chargeShards(ctx, c, postgres, s.AccountID, s.Terms.OfferID, s.Terms.BudgetTotal, delta)
		if err != nil {
			return undoDaily(err)
		}
		out.Shard = &shard
	case ch.Shard == nil:
		// Nothing on a shard to give back.
	case delta < 0:
		if _, err := c.ExecContext(ctx, `UPDATE offer_budget_shards SET spent = spent + CAST($1 AS BIGINT)
WHERE account_id = $2 AND offer_id = $3 AND shard = $4`, delta, s.AccountID, s.Terms.OfferID, *ch.Shard); err != nil {
			return Charge{}, fmt.Errorf("adjust budget shard: %w", err)
		}
	default:
		// The increase goes on the conversion's own shard (its release gives the whole payout
		// back there): with room, at once; else the slow path re-allots the room to it.
		var totalArg any
		if s.Terms.BudgetTotal != nil {
			totalArg = int64(*s.Terms.BudgetTotal)
		}
		res, err := c.ExecContext(ctx, `UPDATE offer_budget_shards SET spent = spent + CAST($1 AS BIGINT)
WHERE account_id = $2 AND offer_id = $3 AND shard = $4 AND budget_total IS NOT DISTINCT FROM CAST($5 AS BIGINT)
AND (budget_total IS NULL OR spent + CAST($1 AS BIGINT) <= allotted)`, delta, s.AccountID, s.Terms.OfferID, *ch.Shard, totalArg)
		if err != nil {
			return Charge{}, fmt.Errorf("adjust budget shard: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return Charge{}, err
		} else if n == 0 {
			if _, err := rebalance(ctx, c, postgres, s.AccountID, s.Terms.OfferID, s.Terms.BudgetTotal, delta, *ch.Shard); err != nil {
				return undoDaily(err)
			}
		}
	}
	return out, nil
}
