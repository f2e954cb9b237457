package graph_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	entsql "entgo.io/ent/dialect/sql"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/offer"
	"github.com/gokart/gokart/internal/apitest"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/httpapi"
	"github.com/gokart/gokart/internal/money"
	"github.com/gokart/gokart/internal/storage"
	"github.com/gokart/gokart/internal/viewer"
)

// TestOfferAvailabilityReadsWhatTheClickRouteDoes puts an offer in every state, checks what
// Offer.availability says, that the availability filter finds exactly it, and that
// GET /click/{offer} agrees (302 for CLICKABLE only).
func TestOfferAvailabilityReadsWhatTheClickRouteDoes(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		srv := apitest.Start(t, db)
		k := srv.NewAccount(t, "Availability")
		c := db.Client
		hour := time.Hour
		want := map[string]string{}
		mk := func(name, availability string, adjust func(*ent.OfferCreate)) *ent.Offer {
			want[name] = availability
			return liveOffer(t, c, k.ID, name, adjust)
		}
		mk("clickable", "CLICKABLE", nil)
		mk("draft", "DRAFT", func(o *ent.OfferCreate) { o.SetStatus(offer.StatusDRAFT) })
		mk("paused", "PAUSED", func(o *ent.OfferCreate) { o.SetStatus(offer.StatusPAUSED) })
		mk("ended", "ENDED", func(o *ent.OfferCreate) { o.SetStatus(offer.StatusENDED) })
		mk("past its end", "ENDED", func(o *ent.OfferCreate) { o.SetEndsAt(time.Now().Add(-hour)) })
		mk("not started", "NOT_STARTED", func(o *ent.OfferCreate) { o.SetStartsAt(time.Now().Add(hour)) })
		total := mk("total budget spent", "OUT_OF_BUDGET", func(o *ent.OfferCreate) { o.SetBudgetTotal(money.Scale) })
		daily := mk("daily budget spent", "OUT_OF_BUDGET", func(o *ent.OfferCreate) { o.SetBudgetDaily(money.Scale) })
		capped := mk("daily cap reached", "CAPPED", func(o *ent.OfferCreate) { o.SetCapDaily(1) })
		capTotal := mk("total cap reached", "CAPPED", func(o *ent.OfferCreate) { o.SetCapTotal(1) })
		roomy := mk("budget with room", "CLICKABLE", func(o *ent.OfferCreate) { o.SetBudgetTotal(3 * money.Scale).SetCapDaily(2) })
		for i, o := range []*ent.Offer{total, daily, capped, capTotal, roomy} {
			charge(t, db, o, "", 1000+i)
		}

		type node struct{ ID, Name, Availability string }
		var got struct {
			Offers struct{ Edges []struct{ Node node } }
		}
		srv.GraphQL(t, k.APIKey, `{ offers(first: 50) { edges { node { id name availability } } } }`, nil).Decode(t, &got)
		if len(got.Offers.Edges) != len(want) {
			t.Fatalf("got %d offers, want %d", len(got.Offers.Edges), len(want))
		}
		byState := map[string][]string{}
		for _, e := range got.Offers.Edges {
			n := e.Node
			if n.Availability != want[n.Name] {
				t.Errorf("%s: availability %s, want %s", n.Name, n.Availability, want[n.Name])
			}
			byState[want[n.Name]] = append(byState[want[n.Name]], n.Name)

			// The click route agrees.
			resp, body := srv.Get(t, "/click/"+n.ID+"?pub_member_id=m1")
			if clickable := want[n.Name] == "CLICKABLE"; clickable != (resp.StatusCode == http.StatusFound) {
				t.Errorf("%s (%s): GET /click answered %d %q", n.Name, want[n.Name], resp.StatusCode, body)
			}
		}
		for _, state := range []string{"CLICKABLE", "DRAFT", "PAUSED", "NOT_STARTED", "ENDED", "OUT_OF_BUDGET", "CAPPED"} {
			var filtered struct {
				Offers struct {
					TotalCount int
					Edges      []struct{ Node node }
				}
			}
			srv.GraphQL(t, k.APIKey, `query($a: [OfferAvailability!]) { offers(first: 50, where: {availability: $a}) {
				totalCount edges { node { name availability } } } }`, map[string]any{"a": []string{state}}).Decode(t, &filtered)
			var names []string
			for _, e := range filtered.Offers.Edges {
				names = append(names, e.Node.Name)
			}
			sort.Strings(names)
			sort.Strings(byState[state])
			if !slices.Equal(names, byState[state]) || filtered.Offers.TotalCount != len(names) {
				t.Errorf("availability: [%s] found %v (totalCount %d), want %v", state, names, filtered.Offers.TotalCount, byState[state])
			}
		}
		var both struct{ Offers struct{ TotalCount int } }
		srv.GraphQL(t, k.APIKey, `{ offers(where: {availability: [PAUSED, CAPPED]}) { totalCount } }`, nil).Decode(t, &both)
		if both.Offers.TotalCount != 3 {
			t.Errorf("availability: [PAUSED, CAPPED] counts %d, want 3", both.Offers.TotalCount)
		}
	})
}

// TestAPageOfOffersWithAvailabilityCostsAConstantNumberOfQueries: availability adds a fixed
// number of statements to a page, whatever its size.
func TestAPageOfOffersWithAvailabilityCostsAConstantNumberOfQueries(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		counter, counted := countingDB(db)
		srv := apitest.Start(t, counted)
		k := srv.NewAccount(t, "Counter")
		for i := range 50 {
			liveOffer(t, db.Client, k.ID, fmt.Sprintf("offer %02d", i), func(o *ent.OfferCreate) {
				o.SetBudgetTotal(100 * money.Scale).SetCapDaily(10).SetBudgetDaily(10 * money.Scale)
			})
		}
		const q = `query($n: Int) { offers(first: $n) { edges { node { id availability } } } }`
		cost := func(n int) int64 {
			var got struct {
				Offers struct {
					Edges []struct{ Node struct{ Availability string } }
				}
			}
			before := counter.n.Load()
			srv.GraphQL(t, k.APIKey, q, map[string]any{"n": n}).Decode(t, &got)
			if len(got.Offers.Edges) != n || got.Offers.Edges[0].Node.Availability != "CLICKABLE" {
				t.Fatalf("page of %d: %+v", n, got.Offers.Edges)
			}
			return counter.n.Load() - before
		}
		cost(1)
		small, large := cost(5), cost(50)
		t.Logf("SQL statements per request: %d for 5 offers, %d for 50 (includes the API key lookup)", small, large)
		if large != small || large > 6 {
			t.Errorf("a page of 50 offers with availability cost %d statements, 5 cost %d; want equal and at most 6 (key, offers, events, shards, counters)", large, small)
		}
	})
}

// countingDB wraps db so that every statement through its Ent client is counted, raw SQL
// (QueryContext, as the budget readers use) included.
func countingDB(db *storage.DB) (*countingDriver, *storage.DB) {
	drv := entsql.OpenDB(db.Dialect, db.SQL)
	counter := &rawCountingDriver{countingDriver: &countingDriver{Driver: drv}, raw: drv}
	return counter.countingDriver, &storage.DB{SQL: db.SQL, Dialect: db.Dialect, Client: ent.NewClient(ent.Driver(counter))}
}

var _ = context.Background
var _ = json.Marshal
var _ = strings.Contains
var _ = httpapi.Options{}
var _ = viewer.AsSystem
