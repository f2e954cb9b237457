package stats

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/gokart/gokart/internal/errcode"
	"github.com/gokart/gokart/internal/lifecycle"
	"github.com/gokart/gokart/internal/money"
)

// AccountRequest asks for an account's report over [From, To).
type AccountRequest struct {
	AccountID int
	From, To  time.Time
	TimeZone  string
	// Top is the length of the top lists.
	Top int
}

// MaxTop bounds the top lists.
const MaxTop = 50

// LoadAccount reads an account's totals and its top offers by conversions and by spend, in a
// constant number of statements. The rankings carry OfferID; the caller loads the offers.
func LoadAccount(ctx context.Context, c querier, req AccountRequest) (*AccountStats, error) {
	from, to, err := validRange(req.From, req.To, Day)
	if err != nil {
		return nil, err
	}
	if req.Top < 0 || req.Top > MaxTop {
		return nil, errcode.Invalid("top", "must be between 0 and %d", MaxTop)
	}
	loc, zone := Location(req.TimeZone)
	var per map[int]*offerTotals
	for attempt := 0; ; attempt++ {
		var stable bool
		per, stable, err = loadAccountActivity(ctx, c, req.AccountID, from, to)
		if err != nil {
			return nil, err
		}
		if stable {
			break
		}
		if attempt == maxRetries {
			return nil, fmt.Errorf("stats: the rollups kept moving during %d reads", maxRetries+1)
		}
	}
	ids := make([]int, 0, len(per))
	for id := range per {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	currency := map[int]string{}
	if len(ids) > 0 {
		in, args := inList([]any{req.AccountID}, ids)
		err := eachRow(ctx, c, `SELECT id, currency FROM offers WHERE account_id = $1 AND id IN (`+in+`)`, args,
			func(rows *sql.Rows) error {
				var id int
				var cur string
				if err := rows.Scan(&id, &cur); err != nil {
					return err
				}
				currency[id] = cur
				return nil
			})
		if err != nil {
			return nil, fmt.Errorf("stats: read offers: %w", err)
		}
	}
	s := &AccountStats{From: from.In(loc), To: to.In(loc), TimeZone: zone, Spend: []*CurrencyAmount{}}
	var all counts
	var clicks int64
	spend := map[string]int64{}
	var ranks []*OfferRanking
	for _, id := range ids {
		t := per[id]
		all.add(t.counts)
		clicks += t.clicks
		if t.counts.spend != 0 {
			spend[currency[id]] += t.counts.spend
		}
		ranks = append(ranks, &OfferRanking{OfferID: id, Clicks: int(t.clicks), Conversions: conversionCounts(t.counts),
			Spend: money.Micros(t.counts.spend), Currency: currency[id]})
	}
	s.Clicks = int(clicks)
	s.Conversions = conversionCounts(all)
	s.ConversionRate = Rate(int64(s.Conversions.Valid()), clicks)
	for _, cur := range slices.Sorted(maps.Keys(spend)) {
		s.Spend = append(s.Spend, &CurrencyAmount{Amount: money.Micros(spend[cur]), Currency: cur})
	}
	top := func(by func(*OfferRanking) int64) []*OfferRanking {
		var list []*OfferRanking
		for _, r := range ranks {
			if by(r) > 0 {
				list = append(list, r)
			}
		}
		slices.SortStableFunc(list, func(a, b *OfferRanking) int { return cmp.Compare(by(b), by(a)) })
		return list[:min(len(list), req.Top)]
	}
	s.TopOffersByConversions = top(func(r *OfferRanking) int64 { return int64(r.Conversions.Valid()) })
	s.TopOffersBySpend = top(func(r *OfferRanking) int64 { return int64(r.Spend) })
	return s, nil
}

type offerTotals struct {
	clicks int64
	counts counts
}

func loadAccountActivity(ctx context.Context, c querier, accountID int, from, to time.Time) (map[int]*offerTotals, bool, error) {
	per := map[int]*offerTotals{}
	get := func(id int) *offerTotals {
		if per[id] == nil {
			per[id] = &offerTotals{}
		}
		return per[id]
	}
	const wmQuery = "SELECT id, rolled_up_to, version FROM stats_watermark ORDER BY id LIMIT 1"
	wm, found, err := queryWatermark(ctx, c, wmQuery)
	if err != nil {
		return nil, false, err
	}
	if !found {
		wm.at = time.Time{}.Add(1)
	}
	w := wm.at
	addClicks := func(rows *sql.Rows) error {
		var id int
		var n int64
		if err := rows.Scan(&id, &n); err != nil {
			return err
		}
		get(id).clicks += n
		return nil
	}
	if from.Before(w) {
		err := eachRow(ctx, c, `SELECT offer_id, SUM(clicks) FROM stats_click_rollups
			WHERE account_id = $1 AND bucket >= $2 AND bucket < $3 GROUP BY offer_id`,
			[]any{accountID, arg(from), arg(minTime(to, w))}, addClicks)
		if err != nil {
			return nil, false, fmt.Errorf("stats: read click rollups: %w", err)
		}
	}
	if to.After(w) {
		err := eachRow(ctx, c, `SELECT offer_id, COUNT(*) FROM clicks
			WHERE account_id = $1 AND created_at >= $2 AND created_at < $3 GROUP BY offer_id`,
			[]any{accountID, arg(maxTime(from, w)), arg(to)}, addClicks)
		if err != nil {
			return nil, false, fmt.Errorf("stats: read recent clicks: %w", err)
		}
	}
	err = eachRow(ctx, c, `SELECT offer_id, SUM(conversions), SUM(pending), SUM(approved), SUM(reversed), SUM(rejected), SUM(spend)
		FROM stats_conversion_rollups WHERE account_id = $1 AND bucket >= $2 AND bucket < $3 GROUP BY offer_id`,
		[]any{accountID, arg(from), arg(to)}, func(rows *sql.Rows) error {
			var id int
			var n counts
			if err := rows.Scan(&id, &n.conversions, &n.pending, &n.approved, &n.reversed, &n.rejected, &n.spend); err != nil {
				return err
			}
			get(id).counts.add(n)
			return nil
		})
	if err != nil {
		return nil, false, fmt.Errorf("stats: read conversion rollups: %w", err)
	}
	err = eachRow(ctx, c, `SELECT v.offer_id, v.payout, h.from_status, h.to_status
		FROM conversion_status_changes h JOIN conversions v ON v.id = h.conversion_id
		WHERE h.account_id = $1 AND h.created_at >= $2 AND v.created_at >= $3 AND v.created_at < $4`,
		[]any{accountID, arg(w), arg(from), arg(to)}, func(rows *sql.Rows) error {
			var id int
			var payout int64
			var fromStatus sql.NullString
			var toStatus string
			if err := rows.Scan(&id, &payout, &fromStatus, &toStatus); err != nil {
				return err
			}
			var fs *lifecycle.Status
			if fromStatus.Valid {
				s := lifecycle.Status(fromStatus.String)
				fs = &s
			}
			get(id).counts.apply(fs, lifecycle.Status(toStatus), payout)
			return nil
		})
	if err != nil {
		return nil, false, fmt.Errorf("stats: read recent status changes: %w", err)
	}
	again, found2, err := queryWatermark(ctx, c, wmQuery)
	if err != nil {
		return nil, false, err
	}
	return per, found == found2 && again.version == wm.version && again.id == wm.id, nil
}
