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
	per := accountTotals{}
	if err := readActivity(ctx, c, activityQuery{accountID: req.AccountID, from: from, to: to}, per); err != nil {
		return nil, err
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

// accountTotals are an account's totals per offer.
type accountTotals map[int]*offerTotals

func (a accountTotals) reset() { clear(a) }

func (a accountTotals) get(id int) *offerTotals {
	if a[id] == nil {
		a[id] = &offerTotals{}
	}
	return a[id]
}

func (a accountTotals) addClicks(offerID int, _ time.Time, n int64, _ []byte, _ string) error {
	a.get(offerID).clicks += n
	return nil
}

func (a accountTotals) addCounts(offerID, _ int, _ time.Time, n counts) { a.get(offerID).counts.add(n) }
