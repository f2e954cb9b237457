package stats_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/conversionstatuschange"
	"github.com/gokart/gokart/internal/catalogue"
	"github.com/gokart/gokart/internal/clicks"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/errcode"
	"github.com/gokart/gokart/internal/lifecycle"
	"github.com/gokart/gokart/internal/money"
	"github.com/gokart/gokart/internal/stats"
	"github.com/gokart/gokart/internal/storage"
)

// seedConversion records a click at `at` and its approved conversion of 1.00, as the click and
// postback paths would have at that time.
func seedConversion(t testing.TB, c *ent.Client, accountID int, ev *ent.OfferEvent, member string, at time.Time) {
	t.Helper()
	cl := c.Click.Create().SetAccountID(accountID).SetOfferID(ev.OfferID).SetGkClickID(clicks.NewID()).
		SetPubMemberID(member).SetCreatedAt(at).SaveX(sys)
	cv := c.Conversion.Create().SetAccountID(accountID).SetClickID(cl.ID).SetOfferID(ev.OfferID).SetOfferEventID(ev.ID).
		SetIntegrationSystem(catalogue.Impact).SetStatus(lifecycle.Approved).SetPayout(money.Scale).SetCurrency("USD").
		SetCreatedAt(at).SetUpdatedAt(at).SaveX(sys)
	c.ConversionStatusChange.Create().SetAccountID(accountID).SetConversionID(cv.ID).SetToStatus(lifecycle.Approved).
		SetSource(conversionstatuschange.SourcePOSTBACK).SetCreatedAt(at).ExecX(sys)
}

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestSeriesFollowTheAccountsTimeZoneAcrossDST checks hour and day boundaries in zones with DST
// and with half- and quarter-hour offsets, with the rows raw, half rolled up and rolled up.
func TestSeriesFollowTheAccountsTimeZoneAcrossDST(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		zone       string
		gran       stats.Granularity
		from, to   string
		at         []string
		wantStarts []string
		wantClicks []int
	}{
		{"the day New York springs forward lasts 23 hours", "America/New_York", stats.Day,
			"2026-03-07T00:00:00-05:00", "2026-03-10T00:00:00-04:00",
			[]string{"2026-03-08T04:45:00Z", "2026-03-08T05:00:00Z", "2026-03-09T03:45:00Z", "2026-03-09T04:00:00Z"},
			[]string{"2026-03-07T00:00:00-05:00", "2026-03-08T00:00:00-05:00", "2026-03-09T00:00:00-04:00"},
			[]int{1, 2, 1}},
		{"the hour New York repeats when it falls back is two points", "America/New_York", stats.Hour,
			"2026-11-01T00:00:00-04:00", "2026-11-01T03:00:00-05:00",
			[]string{"2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z", "2026-11-01T06:45:00Z"},
			[]string{"2026-11-01T00:00:00-04:00", "2026-11-01T01:00:00-04:00", "2026-11-01T01:00:00-05:00", "2026-11-01T02:00:00-05:00"},
			[]int{0, 1, 2, 0}},
		{"a Kolkata day starts at 18:30 UTC", "Asia/Kolkata", stats.Day,
			"2026-06-01T00:00:00+05:30", "2026-06-03T00:00:00+05:30",
			[]string{"2026-06-01T18:29:00Z", "2026-06-01T18:30:00Z"},
			[]string{"2026-06-01T00:00:00+05:30", "2026-06-02T00:00:00+05:30"},
			[]int{1, 1}},
		{"Kathmandu hours start at a quarter past UTC", "Asia/Kathmandu", stats.Hour,
			"2026-06-01T00:00:00+05:45", "2026-06-01T02:00:00+05:45",
			[]string{"2026-05-31T18:15:00Z", "2026-05-31T19:14:59Z", "2026-05-31T19:15:00Z"},
			[]string{"2026-06-01T00:00:00+05:45", "2026-06-01T01:00:00+05:45"},
			[]int{2, 1}},
	}
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		for i, tc := range cases {
			// One account per case, all seeded before the first roll-up.
			acc := db.Client.Account.Create().SetName(tc.name).SetPostbackKey(fmt.Sprint("pk-", i)).SetTimeZone(tc.zone).SaveX(sys)
			o := newOffer(t, db.Client, acc.ID, tc.name, event{"Sign Up", money.Scale, 0})
			ev := o.QueryEvents().OnlyX(sys)
			for j, at := range tc.at {
				seedConversion(t, db.Client, acc.ID, ev, fmt.Sprint("m", j), mustTime(t, at))
			}
			cases[i].name = fmt.Sprintf("%d %d %d", acc.ID, o.ID, ev.ID) + "|" + tc.name
		}
		check := func(state string) {
			for _, tc := range cases {
				var acct, offerID, eventID int
				var name string
				fmt.Sscanf(tc.name, "%d %d %d", &acct, &offerID, &eventID)
				name = tc.name[len(fmt.Sprintf("%d %d %d|", acct, offerID, eventID)):]
				r, err := stats.Load(ctx, db.Client, stats.Request{AccountID: acct, OfferIDs: []int{offerID},
					From: mustTime(t, tc.from), To: mustTime(t, tc.to), Granularity: tc.gran, TimeZone: tc.zone, UniqueMembers: true})
				if err != nil {
					t.Fatalf("%s, %s: %v", state, name, err)
				}
				for _, s := range []*stats.OfferStats{r.Offer(offerID), r.Event(offerID, eventID)} {
					var starts []string
					var got []int
					for _, p := range s.Series {
						starts = append(starts, p.Start.Format(time.RFC3339))
						got = append(got, p.Clicks)
						if p.Conversions.Approved != p.Clicks || p.Spend != money.Micros(p.Clicks)*money.Scale {
							t.Errorf("%s, %s: point %s has %d clicks but %+v conversions, %s spend", state, name, p.Start, p.Clicks, p.Conversions, p.Spend)
						}
					}
					if fmt.Sprint(starts) != fmt.Sprint(tc.wantStarts) || fmt.Sprint(got) != fmt.Sprint(tc.wantClicks) {
						t.Errorf("%s, %s:\n got %v %v\nwant %v %v", state, name, starts, got, tc.wantStarts, tc.wantClicks)
					}
					if s.Series[len(s.Series)-1].End.Format(time.RFC3339) != tc.to || s.UniqueMembers != len(tc.at) {
						t.Errorf("%s, %s: series ends %s with %d members", state, name, s.Series[len(s.Series)-1].End, s.UniqueMembers)
					}
				}
			}
		}
		check("raw")
		if err := stats.RollUp(ctx, db, mustTime(t, "2026-06-01T00:00:00Z")); err != nil {
			t.Fatal(err)
		}
		check("half rolled up")
		if err := stats.RollUp(ctx, db, time.Now()); err != nil {
			t.Fatal(err)
		}
		check("rolled up")
	})
}

// TestEmptyRangesAreZerosAndBadRangesAreRefused: an account without activity gets a full
// series of zeros, ranges are rounded down to a quarter hour, and inverted or too long ranges
// are validation errors.
func TestEmptyRangesAreZerosAndBadRangesAreRefused(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		acc := db.Client.Account.Create().SetName("Quiet").SetPostbackKey("pk-quiet").SaveX(sys)
		o := newOffer(t, db.Client, acc.ID, "Quiet", event{"Sign Up", money.Scale, 0})
		r, err := stats.Load(ctx, db.Client, stats.Request{AccountID: acc.ID, OfferIDs: []int{o.ID},
			From: mustTime(t, "2026-01-01T10:07:00Z"), To: mustTime(t, "2026-01-01T13:00:00Z"), Granularity: stats.Hour})
		if err != nil {
			t.Fatal(err)
		}
		s := r.Offer(o.ID)
		if s.From.Format(time.RFC3339) != "2026-01-01T10:00:00Z" || len(s.Series) != 3 || s.Clicks != 0 || s.UniqueMembers != 0 ||
			s.Conversions != (stats.ConversionCounts{}) || s.ConversionRate != "0.0000" || s.Spend != 0 || s.EarningsPerClick != 0 ||
			s.RemainingBudgetTotal == nil || *s.RemainingBudgetTotal != 100*money.Scale || s.Currency != "USD" || s.TimeZone != "UTC" {
			t.Errorf("empty report: %+v", s)
		}
		for _, p := range s.Series {
			if p.Clicks != 0 || p.Spend != 0 || p.ConversionRate != "0.0000" || p.Conversions.Total != 0 {
				t.Errorf("empty point: %+v", p)
			}
		}
		acct, err := stats.LoadAccount(ctx, db.Client, stats.AccountRequest{AccountID: acc.ID,
			From: mustTime(t, "2026-01-01T00:00:00Z"), To: mustTime(t, "2026-01-02T00:00:00Z"), Top: 5})
		if err != nil {
			t.Fatal(err)
		}
		if acct.Clicks != 0 || len(acct.Spend) != 0 || len(acct.TopOffersByConversions) != 0 || acct.ConversionRate != "0.0000" {
			t.Errorf("empty account report: %+v", acct)
		}
		for name, req := range map[string]stats.Request{
			"to before from":           {From: mustTime(t, "2026-01-02T00:00:00Z"), To: mustTime(t, "2026-01-01T00:00:00Z"), Granularity: stats.Day},
			"less than a quarter hour": {From: mustTime(t, "2026-01-01T00:01:00Z"), To: mustTime(t, "2026-01-01T00:14:00Z"), Granularity: stats.Day},
			"too many hours":           {From: mustTime(t, "2026-01-01T00:00:00Z"), To: mustTime(t, "2026-03-01T00:00:00Z"), Granularity: stats.Hour},
			"too many days":            {From: mustTime(t, "2024-01-01T00:00:00Z"), To: mustTime(t, "2026-03-01T00:00:00Z"), Granularity: stats.Day},
		} {
			req.AccountID, req.OfferIDs = acc.ID, []int{o.ID}
			_, err := stats.Load(ctx, db.Client, req)
			var e *errcode.Error
			if !errors.As(err, &e) || e.Code != errcode.Validation {
				t.Errorf("%s: got %v, want a validation error", name, err)
			}
		}
	})
}
