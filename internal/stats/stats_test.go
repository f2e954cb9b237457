package stats_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gokart/gokart/internal/apitest"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/money"
	"github.com/gokart/gokart/internal/stats"
	"github.com/gokart/gokart/internal/storage"
)

type countsJSON struct{ Total, Pending, Approved, Reversed, Rejected, Valid int }

type pointJSON struct {
	Start, End       time.Time
	Clicks           int
	UniqueMembers    int
	Conversions      countsJSON
	ConversionRate   string
	Spend            string
	EarningsPerClick string
}

type statsJSON struct {
	From, To                   time.Time
	TimeZone, Currency         string
	Granularity                string
	Clicks, UniqueMembers      int
	UniqueMembersStandardError string
	Conversions                countsJSON
	ConversionRate             string
	Spend, EarningsPerClick    string
	RemainingBudgetTotal       *string
	RemainingBudgetDaily       *string
	Series                     []pointJSON
}

// summary is the figures of a report on one line, for comparison with the expected ones.
func (s statsJSON) summary() string {
	left := func(p *string) string {
		if p == nil {
			return "unlimited"
		}
		return *p
	}
	c := s.Conversions
	return fmt.Sprintf("clicks=%d members=%d conversions=%d(pending=%d approved=%d reversed=%d rejected=%d valid=%d) rate=%s spend=%s epc=%s left=%s/%s",
		s.Clicks, s.UniqueMembers, c.Total, c.Pending, c.Approved, c.Reversed, c.Rejected, c.Valid,
		s.ConversionRate, s.Spend, s.EarningsPerClick, left(s.RemainingBudgetTotal), left(s.RemainingBudgetDaily))
}

// checkSeries verifies that the series tiles [from, to) and adds up to the totals.
func (s statsJSON) checkSeries(t *testing.T) {
	t.Helper()
	if len(s.Series) == 0 {
		t.Fatalf("empty series")
	}
	if !s.Series[0].Start.Equal(s.From) || !s.Series[len(s.Series)-1].End.Equal(s.To) {
		t.Errorf("series runs %s..%s, want %s..%s", s.Series[0].Start, s.Series[len(s.Series)-1].End, s.From, s.To)
	}
	var clicks, total, valid int
	var spend money.Micros
	for i, p := range s.Series {
		if i > 0 && !p.Start.Equal(s.Series[i-1].End) {
			t.Errorf("point %d starts at %s, the one before ends at %s", i, p.Start, s.Series[i-1].End)
		}
		clicks += p.Clicks
		total += p.Conversions.Total
		valid += p.Conversions.Valid
		m, err := money.Parse(p.Spend)
		if err != nil {
			t.Fatal(err)
		}
		spend += m
	}
	if clicks != s.Clicks || total != s.Conversions.Total || valid != s.Conversions.Valid || spend.String() != s.Spend {
		t.Errorf("series adds up to %d clicks, %d conversions (%d valid), %s spend; totals say %d, %d (%d), %s",
			clicks, total, valid, spend, s.Clicks, s.Conversions.Total, s.Conversions.Valid, s.Spend)
	}
}

const statsFields = `from to timeZone currency granularity clicks uniqueMembers uniqueMembersStandardError
	conversions { total pending approved reversed rejected valid } conversionRate spend earningsPerClick
	remainingBudgetTotal remainingBudgetDaily
	series { start end clicks uniqueMembers conversions { total pending approved reversed rejected valid } conversionRate spend earningsPerClick }`

const reportQuery = `query($id: ID!, $from: Time!, $to: Time!, $g: StatsGranularity!) {
	node(id: $id) { ... on Offer { stats(from: $from, to: $to, granularity: $g) { ` + statsFields + ` }
		events { eventID stats(from: $from, to: $to, granularity: $g) { ` + statsFields + ` } } } }
	viewer { stats(from: $from, to: $to) { clicks conversions { total pending approved reversed rejected valid } conversionRate
		spend { amount currency }
		topOffersByConversions { offer { name } clicks conversions { valid } spend currency }
		topOffersBySpend { offer { name } spend currency } } } }`

type reportJSON struct {
	Node struct {
		Stats  statsJSON
		Events []struct {
			EventID string
			Stats   statsJSON
		}
	}
	Viewer struct {
		Stats struct {
			Clicks                 int
			Conversions            countsJSON
			ConversionRate         string
			Spend                  []struct{ Amount, Currency string }
			TopOffersByConversions []struct {
				Offer       struct{ Name string }
				Clicks      int
				Conversions struct{ Valid int }
				Spend       string
				Currency    string
			}
			TopOffersBySpend []struct {
				Offer    struct{ Name string }
				Spend    string
				Currency string
			}
		}
	}
}

func (r reportJSON) summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "offer: %s\n", r.Node.Stats.summary())
	for _, e := range r.Node.Events {
		fmt.Fprintf(&b, "event %s: %s\n", e.EventID, e.Stats.summary())
	}
	v := r.Viewer.Stats
	fmt.Fprintf(&b, "account: clicks=%d conversions=%d valid=%d rate=%s spend=%v\n", v.Clicks, v.Conversions.Total, v.Conversions.Valid, v.ConversionRate, v.Spend)
	for _, o := range v.TopOffersByConversions {
		fmt.Fprintf(&b, "top by conversions: %s clicks=%d valid=%d spend=%s %s\n", o.Offer.Name, o.Clicks, o.Conversions.Valid, o.Spend, o.Currency)
	}
	for _, o := range v.TopOffersBySpend {
		fmt.Fprintf(&b, "top by spend: %s %s %s\n", o.Offer.Name, o.Spend, o.Currency)
	}
	return b.String()
}

func report(t *testing.T, srv *apitest.Server, key string, offerID int, from, to time.Time) reportJSON {
	t.Helper()
	var r reportJSON
	srv.GraphQL(t, key, reportQuery, map[string]any{"id": offerID, "from": from, "to": to, "g": "HOUR"}).Decode(t, &r)
	r.Node.Stats.checkSeries(t)
	for _, e := range r.Node.Events {
		e.Stats.checkSeries(t)
	}
	return r
}

// TestReportsAreExactThroughTheRealRoutes builds a data set through GET /click and GET
// /postback (a reversal, a rejection by a cap, approvals of conversions behind the watermark),
// and checks the exact figures while they are raw, half rolled up, fully rolled up and
// rebuilt; the rebuild must equal the live rollups row for row, and another account's
// activity must never show.
func TestReportsAreExactThroughTheRealRoutes(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		srv := apitest.Start(t, db)
		a, b := srv.NewAccount(t, "Acme"), srv.NewAccount(t, "Other")
		o := newOffer(t, db.Client, a.ID, "Main", event{"Sign Up", 1_500_000, 0}, event{"Purchase", 5 * money.Scale, 1})
		p := newOffer(t, db.Client, a.ID, "Side", event{"Install", 2 * money.Scale, 0})
		q := newOffer(t, db.Client, b.ID, "Theirs", event{"Install", 3 * money.Scale, 0})

		// Phase 1: five members click six times, three conversions are reported pending.
		var gk []string
		for _, m := range []string{"m1", "m1", "m2", "m3", "m4", "m5"} {
			gk = append(gk, click(t, srv, o.ID, m))
		}
		postback(t, srv, a.PostbackKey, gk[0], "Sign Up", "c1", "pending", 200)
		postback(t, srv, a.PostbackKey, gk[2], "Sign Up", "c2", "pending", 200)
		postback(t, srv, a.PostbackKey, gk[3], "Purchase", "c3", "pending", 200)
		// The other account is just as busy; none of it may show.
		for i := range 3 {
			g := click(t, srv, q.ID, fmt.Sprint("m", i+1))
			postback(t, srv, b.PostbackKey, g, "Install", fmt.Sprint("q", i), "approved", 200)
		}

		now := time.Now()
		from, to := now.Add(-3*time.Hour), now.Add(time.Hour)
		raw := report(t, srv, a.APIKey, o.ID, from, to)
		wantRaw := "clicks=6 members=5 conversions=3(pending=3 approved=0 reversed=0 rejected=0 valid=3) rate=0.5000 spend=8.00 epc=1.333333 left=92.00/42.00"
		if got := raw.Node.Stats.summary(); got != wantRaw {
			t.Errorf("before any roll-up:\n got %s\nwant %s", got, wantRaw)
		}

		// Put phase 1 an hour back and roll it up; phase 2 stays raw, after the watermark.
		shiftBack(t, db, time.Hour)
		if err := stats.RollUp(ctx, db, now.Add(-30*time.Minute)); err != nil {
			t.Fatal(err)
		}
		// Phase 2: two more clicks (one by a new member); c1 approved and c2 reversed behind the
		// watermark; c4 reported approved straight away; c5 rejected by the Purchase cap of 1.
		gk6 := click(t, srv, o.ID, "m6")
		gk7 := click(t, srv, o.ID, "m1")
		postback(t, srv, a.PostbackKey, gk[0], "Sign Up", "c1", "approved", 200)
		postback(t, srv, a.PostbackKey, gk[2], "Sign Up", "c2", "reversed", 200)
		postback(t, srv, a.PostbackKey, gk6, "Sign Up", "c4", "approved", 200)
		postback(t, srv, a.PostbackKey, gk7, "Purchase", "c5", "pending", 409)
		postback(t, srv, a.PostbackKey, click(t, srv, p.ID, "m9"), "Install", "p1", "pending", 200)

		want := strings.Join([]string{
			"offer: clicks=8 members=6 conversions=5(pending=1 approved=2 reversed=1 rejected=1 valid=3) rate=0.3750 spend=8.00 epc=1.00 left=92.00/42.00",
			"event Sign Up: clicks=8 members=6 conversions=3(pending=0 approved=2 reversed=1 rejected=0 valid=2) rate=0.2500 spend=3.00 epc=0.375 left=92.00/42.00",
			"event Purchase: clicks=8 members=6 conversions=2(pending=1 approved=0 reversed=0 rejected=1 valid=1) rate=0.1250 spend=5.00 epc=0.625 left=92.00/42.00",
			"account: clicks=9 conversions=6 valid=4 rate=0.4444 spend=[{10.00 USD}]",
			"top by conversions: Main clicks=8 valid=3 spend=8.00 USD",
			"top by conversions: Side clicks=1 valid=1 spend=2.00 USD",
			"top by spend: Main 8.00 USD",
			"top by spend: Side 2.00 USD",
			"",
		}, "\n")
		check := func(when string) {
			t.Helper()
			if got := report(t, srv, a.APIKey, o.ID, from, to).summary(); got != want {
				t.Errorf("%s:\n got %s\nwant %s", when, got, want)
			}
		}
		check("half rolled up, half raw")
		if err := stats.RollUp(ctx, db, now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		check("fully rolled up")
		live := rollupSnapshot(t, db)
		if _, err := stats.Rebuild(ctx, db); err != nil {
			t.Fatal(err)
		}
		if rebuilt := rollupSnapshot(t, db); rebuilt != live {
			t.Errorf("rebuilt rollups differ from the live ones:\nlive:\n%s\nrebuilt:\n%s", live, rebuilt)
		}
		check("rebuilt")

		// The other account sees only its own figures, and not the offer of the first.
		var theirs reportJSON
		srv.GraphQL(t, b.APIKey, reportQuery, map[string]any{"id": q.ID, "from": from, "to": to, "g": "DAY"}).Decode(t, &theirs)
		if got := theirs.Viewer.Stats; got.Clicks != 3 || got.Conversions.Approved != 3 || len(got.TopOffersBySpend) != 1 || got.TopOffersBySpend[0].Spend != "9.00" {
			t.Errorf("other account's report: %+v", got)
		}
		resp := srv.GraphQL(t, b.APIKey, reportQuery, map[string]any{"id": o.ID, "from": from, "to": to, "g": "DAY"})
		if len(resp.Errors) == 0 || resp.Errors[0].Code() != "NOT_FOUND" {
			t.Errorf("another account's offer: errors %+v, want NOT_FOUND", resp.Errors)
		}
	})
}
