package graph_test

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"sort"
	"testing"
	"time"

	entsql "entgo.io/ent/dialect/sql"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/offer"
	"github.com/gokart/gokart/internal/accounts"
	"github.com/gokart/gokart/internal/apitest"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/httpapi"
	"github.com/gokart/gokart/internal/money"
	"github.com/gokart/gokart/internal/storage"
	"github.com/gokart/gokart/internal/targeting"
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

type feedCard struct {
	ID, Name, Headline, Description, CallToAction, Terms, Currency, ClickURL string
	ImageURLs                                                                []string
	Events                                                                   []struct{ Name, Payout string }
}

type feedPage struct {
	Offerwall struct {
		Edges []struct {
			Cursor string
			Node   feedCard
		}
		PageInfo struct {
			HasNextPage bool
			EndCursor   *string
		}
	}
}

const feedQuery = `query($m: OfferwallMember!, $n: Int, $after: Cursor) { offerwall(member: $m, first: $n, after: $after) {
	edges { cursor node { id name headline description callToAction imageURLs terms currency clickURL events { name payout } } }
	pageInfo { hasNextPage endCursor } } }`

func (p feedPage) names() []string {
	var out []string
	for _, e := range p.Offerwall.Edges {
		out = append(out, e.Node.Name)
	}
	return out
}

// TestTheOfferwallShowsWhatTheMemberMayClickNow: only clickable offers, targeted to the member
// (as given, or from the request's address and User-Agent), not completed by them where an
// offer allows one completion; every card's click URL is taken by GET /click.
func TestTheOfferwallShowsWhatTheMemberMayClickNow(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		srv := apitest.StartWith(t, db, func(o *httpapi.Options) {
			o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
		})
		k := srv.NewAccount(t, "Wall")
		other := srv.NewAccount(t, "Other")
		c := db.Client
		liveOffer(t, c, k.ID, "everywhere", nil)
		liveOffer(t, c, k.ID, "US only", func(o *ent.OfferCreate) { o.SetCountries([]string{"US"}) })
		liveOffer(t, c, k.ID, "DE only", func(o *ent.OfferCreate) { o.SetCountries([]string{"DE"}) })
		liveOffer(t, c, k.ID, "iOS only", func(o *ent.OfferCreate) { o.SetPlatforms([]targeting.Platform{targeting.IOS}) })
		once := liveOffer(t, c, k.ID, "once per member", nil)
		repeat := liveOffer(t, c, k.ID, "repeatable", func(o *ent.OfferCreate) { o.SetOneCompletionPerMember(false) })
		liveOffer(t, c, k.ID, "paused", func(o *ent.OfferCreate) { o.SetStatus(offer.StatusPAUSED) })
		liveOffer(t, c, k.ID, "not started", func(o *ent.OfferCreate) { o.SetStartsAt(time.Now().Add(time.Hour)) })
		spent := liveOffer(t, c, k.ID, "spent", func(o *ent.OfferCreate) { o.SetBudgetTotal(money.Scale) })
		liveOffer(t, c, other.ID, "another account's", nil)
		charge(t, db, once, "m1", 1)
		charge(t, db, repeat, "m1", 2)
		charge(t, db, spent, "m9", 3)

		pub, err := accounts.CreatePublishableKey(context.Background(), c, k.ID, "wall")
		if err != nil {
			t.Fatal(err)
		}
		feed := func(member map[string]any, headers map[string]string) feedPage {
			var p feedPage
			postGraphQL(t, srv, pub.Secret, feedQuery, map[string]any{"m": member, "n": 50}, headers).Decode(t, &p)
			return p
		}
		for _, tc := range []struct {
			name    string
			member  map[string]any
			headers map[string]string
			want    []string
		}{
			{"a member in the US on Android sees the US offer, and not the one they completed",
				map[string]any{"pubMemberID": "m1", "country": "us", "platform": "ANDROID"}, nil,
				[]string{"everywhere", "US only", "repeatable"}},
			{"another member still sees the offer m1 completed",
				map[string]any{"pubMemberID": "m2", "country": "DE", "platform": "ANDROID"}, nil,
				[]string{"everywhere", "DE only", "once per member", "repeatable"}},
			{"country and platform default to the request's address and User-Agent",
				map[string]any{"pubMemberID": "m2"},
				map[string]string{"X-Forwarded-For": "8.8.8.8", "User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"},
				[]string{"everywhere", "US only", "iOS only", "once per member", "repeatable"}},
			{"an unknown country and platform see only untargeted offers",
				map[string]any{"pubMemberID": "m2"}, nil,
				[]string{"everywhere", "once per member", "repeatable"}},
		} {
			got := feed(tc.member, tc.headers)
			if !slices.Equal(got.names(), tc.want) {
				t.Errorf("%s: got %v, want %v", tc.name, got.names(), tc.want)
			}
		}

		// A card: the creative, the events with payouts, and a click URL that names the member and works.
		got := feed(map[string]any{"pubMemberID": "m 2&x", "country": "US"}, nil)
		card := got.Offerwall.Edges[0].Node
		if card.Name != "everywhere" || card.Headline != "everywhere headline" || card.CallToAction != "Go" || card.Terms == "" ||
			card.Description == "" || len(card.ImageURLs) != 1 || card.Currency != "USD" ||
			len(card.Events) != 1 || card.Events[0].Name != "Sign Up" || card.Events[0].Payout != "1.00" {
			t.Errorf("card = %+v", card)
		}
		if want := srv.URL + "/click/" + card.ID + "?pub_member_id=m+2%26x"; card.ClickURL != want {
			t.Errorf("clickURL = %s, want %s", card.ClickURL, want)
		}
		for _, e := range got.Offerwall.Edges {
			// From the member's US address, as the feed was asked for a US member.
			req, _ := http.NewRequest(http.MethodGet, e.Node.ClickURL, nil)
			req.Header.Set("X-Forwarded-For", "8.8.8.8")
			resp, err := noRedirects.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusFound {
				t.Errorf("%s: its click URL answered %d", e.Node.Name, resp.StatusCode)
			}
		}

		// Pages follow each other without gaps or repeats.
		var seen []string
		var after any
		for range 10 {
			var p feedPage
			postGraphQL(t, srv, pub.Secret, feedQuery, map[string]any{"m": map[string]any{"pubMemberID": "m2", "country": "US"}, "n": 2, "after": after}, nil).Decode(t, &p)
			seen = append(seen, p.names()...)
			if !p.Offerwall.PageInfo.HasNextPage {
				break
			}
			after = *p.Offerwall.PageInfo.EndCursor
		}
		if want := []string{"everywhere", "US only", "once per member", "repeatable"}; !slices.Equal(seen, want) {
			t.Errorf("paging by 2: %v, want %v", seen, want)
		}

		// Bad input is the client's error, with the field.
		for member, field := range map[string]string{`{pubMemberID: ""}`: "member.pubMemberID", `{pubMemberID: "m", country: "XX"}`: "member.country"} {
			r := srv.GraphQL(t, pub.Secret, `{ offerwall(member: `+member+`) { edges { cursor } } }`, nil)
			if len(r.Errors) != 1 || r.Errors[0].Code() != "VALIDATION" || r.Errors[0].Field() != field {
				t.Errorf("member %s: %+v", member, r.Errors)
			}
		}
	})
}

var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// TestAPageOfOfferCardsCostsAConstantNumberOfStatements: 5 cards and 50 cards cost the same.
func TestAPageOfOfferCardsCostsAConstantNumberOfStatements(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		counter, counted := countingDB(db)
		srv := apitest.Start(t, counted)
		k := srv.NewAccount(t, "Counter")
		for i := range 60 {
			o := liveOffer(t, db.Client, k.ID, fmt.Sprintf("offer %02d", i), func(o *ent.OfferCreate) {
				o.SetBudgetTotal(100 * money.Scale).SetCapDaily(10).SetBudgetDaily(10 * money.Scale)
			})
			if i%10 == 0 {
				charge(t, db, o, "m-other", i+1)
			}
		}
		pub, err := accounts.CreatePublishableKey(context.Background(), db.Client, k.ID, "wall")
		if err != nil {
			t.Fatal(err)
		}
		cost := func(n int) int64 {
			var p feedPage
			before := counter.n.Load()
			srv.GraphQL(t, pub.Secret, feedQuery, map[string]any{"m": map[string]any{"pubMemberID": "m1"}, "n": n}).Decode(t, &p)
			if len(p.Offerwall.Edges) != n || !p.Offerwall.PageInfo.HasNextPage {
				t.Fatalf("page of %d: %d cards", n, len(p.Offerwall.Edges))
			}
			return counter.n.Load() - before
		}
		cost(1)
		small, large := cost(5), cost(50)
		t.Logf("SQL statements per offerwall request: %d for 5 cards, %d for 50 (includes the key lookup)", small, large)
		if large != small || large > 7 {
			t.Errorf("50 cards cost %d statements, 5 cost %d; want equal and at most 7 (key, offers, events, shards, counters, completions)", large, small)
		}
	})
}
