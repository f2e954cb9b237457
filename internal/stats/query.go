package stats

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/axiomhq/hyperloglog"

	"github.com/gokart/gokart/internal/budget"
	"github.com/gokart/gokart/internal/errcode"
	"github.com/gokart/gokart/internal/money"
)

// Request asks for the reports of some offers of one account over [From, To).
type Request struct {
	AccountID   int
	OfferIDs    []int
	From, To    time.Time
	Granularity Granularity
	// TimeZone is the account's IANA zone; hours and days of the series follow it.
	TimeZone string
	// Now decides the day of the remaining daily budget; zero means time.Now().
	Now time.Time
	// UniqueMembers asks for the member estimates; merging sketches is the costliest part of a
	// report, so it is skipped when nobody asked.
	UniqueMembers bool
}

// Reports holds the reports of a Request's offers and their events.
type Reports struct {
	from, to time.Time
	zone     string
	gran     Granularity
	bounds   []time.Time
	offers   map[int]*offerData
	// mu serializes Offer and Event: resolvers of one page call them concurrently, and merging
	// sketches is not safe for concurrent use.
	mu sync.Mutex
}

type offerData struct {
	currency        string
	remainingTotal  *money.Micros
	remainingDaily  *money.Micros
	clicks          []int64
	sketches        []*hyperloglog.Sketch // per point; nil when no member clicked
	events          map[int][]counts      // per event, per point
	offerStatsCache *OfferStats
}

// maxRetries bounds how often a report is read again because a roll-up committed under it.
const maxRetries = 5

// validRange checks and rounds a report's range.
func validRange(from, to time.Time, g Granularity) (time.Time, time.Time, error) {
	from, to = Floor(from), Floor(to)
	max := MaxDayRange
	if g == Hour {
		max = MaxHourRange
	}
	switch {
	case !to.After(from):
		return from, to, errcode.Invalid("to", "must be at least a quarter hour after from")
	case to.Sub(from) > max:
		return from, to, errcode.Invalid("to", "the range may span at most %d days for %s granularity", int(max/(24*time.Hour)), g)
	}
	return from, to, nil
}

// Location loads an IANA zone; unknown or empty names are UTC.
func Location(name string) (*time.Location, string) {
	if name == "" {
		return time.UTC, "UTC"
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC, "UTC"
	}
	return loc, name
}

// Load reads the reports of req's offers in a constant number of SQL statements: offers,
// watermark, click rollups, raw clicks since the watermark, conversion rollups, raw status
// changes since the watermark, the watermark again, and the budgets.
func Load(ctx context.Context, c querier, req Request) (*Reports, error) {
	if req.Granularity == "" {
		req.Granularity = Day
	}
	from, to, err := validRange(req.From, req.To, req.Granularity)
	if err != nil {
		return nil, err
	}
	loc, zone := Location(req.TimeZone)
	now := req.Now
	if now.IsZero() {
		now = time.Now()
	}
	r := &Reports{from: from, to: to, zone: zone, gran: req.Granularity,
		bounds: boundaries(from, to, req.Granularity, loc), offers: map[int]*offerData{}}
	ids := slices.Clone(req.OfferIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if len(ids) == 0 {
		return r, nil
	}
	metas, err := loadOffers(ctx, c, req.AccountID, ids)
	if err != nil {
		return nil, err
	}
	for id := range metas {
		r.offers[id] = &offerData{}
	}
	err = readActivity(ctx, c, activityQuery{accountID: req.AccountID, from: from, to: to, offerIDs: ids,
		byBucket: true, members: req.UniqueMembers}, r)
	if err != nil {
		return nil, err
	}
	if err := r.loadBudgets(ctx, c, req.AccountID, ids, metas, now); err != nil {
		return nil, err
	}
	return r, nil
}

type offerMeta struct {
	currency    string
	budgetTotal *int64
	budgetDaily *int64
	zone        string
}

func loadOffers(ctx context.Context, c querier, accountID int, ids []int) (map[int]offerMeta, error) {
	in, args := inList([]any{accountID}, ids)
	metas := map[int]offerMeta{}
	err := eachRow(ctx, c, `SELECT id, currency, budget_total, budget_daily, time_zone FROM offers WHERE account_id = $1 AND id IN (`+in+`)`, args,
		func(rows *sql.Rows) error {
			var id int
			var m offerMeta
			var total, daily sql.NullInt64
			if err := rows.Scan(&id, &m.currency, &total, &daily, &m.zone); err != nil {
				return err
			}
			if total.Valid {
				m.budgetTotal = &total.Int64
			}
			if daily.Valid {
				m.budgetDaily = &daily.Int64
			}
			metas[id] = m
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("stats: read offers: %w", err)
	}
	return metas, nil
}

// reset empties every offer's series before a read.
func (r *Reports) reset() {
	for _, o := range r.offers {
		o.events, o.clicks = map[int][]counts{}, make([]int64, len(r.bounds)-1)
		o.sketches = make([]*hyperloglog.Sketch, len(r.bounds)-1)
	}
}

func (r *Reports) addClicks(offerID int, t time.Time, n int64, sketch []byte, member string) error {
	o, i := r.offers[offerID], pointOf(r.bounds, t)
	if o == nil || i < 0 {
		return nil
	}
	o.clicks[i] += n
	if len(sketch) == 0 && member == "" {
		return nil
	}
	if o.sketches[i] == nil {
		o.sketches[i] = newAccumulator()
	}
	if member != "" {
		o.sketches[i].Insert([]byte(member))
		return nil
	}
	sk, err := readSketch(sketch)
	if err != nil {
		return err
	}
	return o.sketches[i].Merge(sk)
}

func (r *Reports) addCounts(offerID, eventID int, t time.Time, n counts) {
	o, i := r.offers[offerID], pointOf(r.bounds, t)
	if o == nil || i < 0 {
		return
	}
	ev := o.events[eventID]
	if ev == nil {
		ev = make([]counts, len(r.bounds)-1)
		o.events[eventID] = ev
	}
	ev[i].add(n)
}

// loadBudgets reads what is left of each offer's total budget (the sum of its shards' spend)
// and of today's daily budget (its counter for the day in the offer's time zone), in two
// statements for all offers.
func (r *Reports) loadBudgets(ctx context.Context, c querier, accountID int, ids []int, metas map[int]offerMeta, now time.Time) error {
	spent, err := budget.SpentByOffer(ctx, c, accountID, ids)
	if err != nil {
		return fmt.Errorf("stats: %w", err)
	}
	zones := map[int]string{}
	for id, m := range metas {
		if m.budgetDaily != nil {
			zones[id] = m.zone
		}
	}
	today, err := budget.DailySpent(ctx, c, accountID, zones, now)
	if err != nil {
		return fmt.Errorf("stats: %w", err)
	}
	for id, m := range metas {
		o := r.offers[id]
		o.currency = m.currency
		if m.budgetTotal != nil {
			o.remainingTotal = remaining(*m.budgetTotal, int64(spent[id]))
		}
		if m.budgetDaily != nil {
			o.remainingDaily = remaining(*m.budgetDaily, today[id])
		}
	}
	return nil
}

func remaining(limit, used int64) *money.Micros {
	v := money.Micros(max(limit-used, 0))
	return &v
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Offer returns the report of an offer of the request; nil when the offer is not the
// account's.
func (r *Reports) Offer(offerID int) *OfferStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	o := r.offers[offerID]
	if o == nil {
		return nil
	}
	if o.offerStatsCache == nil {
		per := make([]counts, len(r.bounds)-1)
		for _, ev := range o.events {
			for i := range ev {
				per[i].add(ev[i])
			}
		}
		o.offerStatsCache = r.build(o, per)
	}
	return o.offerStatsCache
}

// Event returns the report of one event of an offer of the request: its conversions and spend,
// with the offer's clicks (clicks are not per event) and budgets.
func (r *Reports) Event(offerID, eventID int) *OfferStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	o := r.offers[offerID]
	if o == nil {
		return nil
	}
	per := o.events[eventID]
	if per == nil {
		per = make([]counts, len(r.bounds)-1)
	}
	return r.build(o, per)
}

func (r *Reports) build(o *offerData, per []counts) *OfferStats {
	s := &OfferStats{From: r.from, To: r.to, TimeZone: r.zone, Granularity: r.gran, Currency: o.currency,
		UniqueMembersStandardError: StandardError, RemainingBudgetTotal: o.remainingTotal, RemainingBudgetDaily: o.remainingDaily}
	loc, _ := Location(r.zone)
	total := newAccumulator()
	var all counts
	var clicks int64
	for i := range per {
		p := &Point{Start: r.bounds[i].In(loc), End: r.bounds[i+1].In(loc), Clicks: int(o.clicks[i])}
		if sk := o.sketches[i]; sk != nil {
			p.UniqueMembers = int(sk.Estimate())
			_ = total.Merge(sk) // sketches of one precision always merge
		}
		p.Conversions = conversionCounts(per[i])
		p.Spend = money.Micros(per[i].spend)
		p.ConversionRate = Rate(int64(p.Conversions.Valid()), o.clicks[i])
		p.EarningsPerClick = PerClick(p.Spend, o.clicks[i])
		s.Series = append(s.Series, p)
		all.add(per[i])
		clicks += o.clicks[i]
	}
	s.From, s.To = r.from.In(loc), r.to.In(loc)
	s.Clicks = int(clicks)
	s.UniqueMembers = int(total.Estimate())
	s.Conversions = conversionCounts(all)
	s.Spend = money.Micros(all.spend)
	s.ConversionRate = Rate(int64(s.Conversions.Valid()), clicks)
	s.EarningsPerClick = PerClick(s.Spend, clicks)
	return s
}

func conversionCounts(n counts) ConversionCounts {
	return ConversionCounts{Total: int(n.conversions), Pending: int(n.pending), Approved: int(n.approved),
		Reversed: int(n.reversed), Rejected: int(n.rejected)}
}
