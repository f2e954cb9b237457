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
	"github.com/gokart/gokart/ent/offerevent"
	"github.com/gokart/gokart/internal/accounts"
	"github.com/gokart/gokart/internal/apitest"
	"github.com/gokart/gokart/internal/benchdata"
	"github.com/gokart/gokart/internal/budget"
	"github.com/gokart/gokart/internal/clicks"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/httpapi"
	"github.com/gokart/gokart/internal/money"
	"github.com/gokart/gokart/internal/storage"
	"github.com/gokart/gokart/internal/targeting"
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

// feedQuery is the page the feed benchmarks ask for.
const feedQuery = benchdata.FeedQuery

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

// TestAPageOfOfferCardsCostsAConstantNumberOfStatements: 5 cards and 50 cards cost the same,
// and so do the offers left out before them (targeted elsewhere), from the in-memory catalog
// and without it. From the catalog: the key, and one statement for the catalog's version, the
// member's completions and the spend and counters of the page's offers; a change to an offer
// adds to the next page only that statement's first try (which finds the version moved) and
// the catalog's read (offers, events). Without: the key, the offers with their events (the
// rest decided in SQL), the counters; and a catalog too small for the account is not asked
// again for a minute, so a change costs nothing more.
func TestAPageOfOfferCardsCostsAConstantNumberOfStatements(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name          string
		catalog       int
		most, reading int64
	}{
		{"catalog", 0, 2, 3},
		{"no catalog", -1, 3, 0},
		// The account's 160 offers are more than a quarter of 8: its pages read the database.
		{"catalog too small for the account", 8, 3, 0},
	} {
		t.Run(c.name, func(t *testing.T) { pageCost(t, c.catalog, c.most, c.reading) })
	}
}

func pageCost(t *testing.T, catalog int, most, reading int64) {
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		counter, counted := countingDB(db)
		srv := apitest.StartWith(t, counted, func(o *httpapi.Options) { o.OfferwallCatalog = catalog })
		k := srv.NewAccount(t, "Counter")
		for i := range 100 {
			liveOffer(t, db.Client, k.ID, fmt.Sprintf("German %02d", i), func(o *ent.OfferCreate) { o.SetCountries([]string{"DE"}) })
		}
		for i := range 60 {
			o := liveOffer(t, db.Client, k.ID, fmt.Sprintf("offer %02d", i), func(o *ent.OfferCreate) {
				o.SetBudgetTotal(100 * money.Scale).SetCapDaily(10).SetBudgetDaily(10 * money.Scale)
			})
			if i%10 == 0 {
				charge(t, db, o, "m-other", i+1)
			}
		}
		cost := func(n int) int64 {
			var p feedPage
			before := counter.n.Load()
			// The account's API key, looked up on every request (a publishable key is remembered
			// for a second, which would make the count depend on the test's speed).
			srv.GraphQL(t, k.APIKey, feedQuery, map[string]any{"m": map[string]any{"pubMemberID": "m1"}, "n": n}).Decode(t, &p)
			if len(p.Offerwall.Edges) != n || !p.Offerwall.PageInfo.HasNextPage {
				t.Fatalf("page of %d: %d cards", n, len(p.Offerwall.Edges))
			}
			return counter.n.Load() - before
		}
		cost(1)
		small, large := cost(5), cost(50)
		t.Logf("SQL statements per offerwall request: %d for 5 cards, %d for 50 (includes the key lookup)", small, large)
		if large != small || large > most {
			t.Errorf("50 cards cost %d statements, 5 cost %d; want equal and at most %d", large, small, most)
		}
		// A change to one offer: the next page reads the catalog again, the one after does not.
		ctx := viewer.ForAccount(context.Background(), k.ID)
		db.Client.Offer.Update().Where(offer.AccountID(k.ID), offer.NameEQ("offer 07")).SetHeadline("New").ExecX(ctx)
		if changed, after := cost(50), cost(50); changed != large+reading || after != large {
			t.Errorf("after a change the pages cost %d then %d statements, want %d then %d", changed, after, large+reading, large)
		}
	})
}

// TestTheOfferwallAgreesWithTheClickRulesOnEveryPage builds offers in many combinations of
// targeting (none, empty lists, one or two countries and platforms), status, schedule,
// archive, events, total budget, caps, completions and tracking link, and checks that the feed,
// read in pages of 1, 3 and 50, lists exactly the unarchived offers that targeting.Miss, the
// click route's availability (clicks.Availabilities) and the member's completions
// (budget.CompletedEvents) let through, in id order, without gaps or repeats, with hasNextPage false only on the last
// page. A run of capped offers (left out after the read, in Go) outlasts a page's spare rows.
// It runs from the in-memory catalog and without it.
func TestTheOfferwallAgreesWithTheClickRulesOnEveryPage(t *testing.T) {
	t.Parallel()
	t.Run("catalog", func(t *testing.T) { agreesWithTheClickRules(t, 0) })
	t.Run("no catalog", func(t *testing.T) { agreesWithTheClickRules(t, -1) })
}

func agreesWithTheClickRules(t *testing.T, catalog int) {
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		srv := apitest.StartWith(t, db, func(o *httpapi.Options) { o.OfferwallCatalog = catalog })
		k := srv.NewAccount(t, "Rules")
		c := db.Client
		ctx := viewer.ForAccount(context.Background(), k.ID)
		conversion := 0
		book := func(o *ent.Offer, member string) {
			conversion++
			charge(t, db, o, member, conversion)
		}
		for i := range 70 {
			o := liveOffer(t, c, k.ID, fmt.Sprintf("offer %02d", i), func(o *ent.OfferCreate) {
				switch i % 5 {
				case 1:
					o.SetCountries([]string{"US"})
				case 2:
					o.SetCountries([]string{"DE"})
				case 3:
					o.SetCountries([]string{"DE", "US"})
				case 4:
					o.SetCountries([]string{})
				}
				switch i % 4 {
				case 1:
					o.SetPlatforms([]targeting.Platform{targeting.IOS})
				case 2:
					o.SetPlatforms([]targeting.Platform{targeting.Android, targeting.Browser})
				case 3:
					o.SetPlatforms([]targeting.Platform{})
				}
				switch {
				case i%11 == 5:
					o.SetStatus(offer.StatusPAUSED)
				case i%13 == 7:
					o.SetStartsAt(time.Now().Add(time.Hour))
				case i%17 == 3:
					o.SetEndsAt(time.Now().Add(-time.Minute))
				case i%23 == 11:
					o.SetArchivedAt(time.Now())
				case i%29 == 13:
					o.SetClickURLTemplate("") // active, but no valid tracking link
				}
				switch i % 6 {
				case 1, 2:
					o.SetBudgetTotal(money.Scale * 3 / 2) // 1.50: one conversion of 1.00 leaves too little
				case 3:
					o.SetBudgetTotal(3 * money.Scale)
				}
				if i%7 == 4 || i >= 62 { // the last eight: a run of full daily caps
					o.SetCapDaily(1)
				}
				if i%9 == 3 {
					o.SetOneCompletionPerMember(false)
				}
			})
			if i%8 == 6 {
				c.OfferEvent.Create().SetOfferID(o.ID).SetName("Purchase").SetEventID("purchase").SetPosition(1).SetPayout(2 * money.Scale).ExecX(ctx)
			}
			if i%19 == 10 {
				c.OfferEvent.Delete().Where(offerevent.OfferID(o.ID)).ExecX(ctx)
				continue
			}
			// One conversion an offer: it spends 1.00 and fills a cap of 1.
			switch {
			case i%6 == 1 || i%6 == 3 || i%7 == 4 || i >= 62:
				book(o, "someone")
			case i%9 == 2 || i%9 == 3 || i%8 == 6:
				book(o, "m1") // the first event only: a two-event offer stays open to m1
			}
		}
		pub, err := accounts.CreatePublishableKey(context.Background(), c, k.ID, "rules")
		if err != nil {
			t.Fatal(err)
		}

		// What the feed must list: the click route's rules applied offer by offer.
		all := c.Offer.Query().Order(offer.ByID()).WithEvents().AllX(ctx)
		expected := func(member string, country string, platform targeting.Platform) []string {
			avail, err := clicks.Availabilities(ctx, c, db.Dialect, k.ID, all, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			var ids []int
			for _, o := range all {
				ids = append(ids, o.ID)
			}
			done, err := budget.CompletedEvents(ctx, c, k.ID, member, ids)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, o := range all {
				completed := o.OneCompletionPerMember && len(o.Edges.Events) > 0 &&
					!slices.ContainsFunc(o.Edges.Events, func(e *ent.OfferEvent) bool { return !done[o.ID][e.ID] })
				if o.ArchivedAt == nil && targeting.Miss(o.Countries, o.Platforms, country, platform) == "" && avail[o.ID] == clicks.Clickable && !completed {
					names = append(names, o.Name)
				}
			}
			return names
		}
		for _, m := range []struct {
			id, country string
			platform    targeting.Platform
		}{{"m1", "US", targeting.IOS}, {"m1", "DE", targeting.Android}, {"m2", "US", targeting.Browser}, {"m1", "", ""}} {
			want := expected(m.id, m.country, m.platform)
			if len(want) < 5 || len(want) > 40 {
				t.Fatalf("member %+v: the fixture lets %d offers through; want a page's worth and many left out", m, len(want))
			}
			member := map[string]any{"pubMemberID": m.id}
			headers := map[string]string{"User-Agent": "curl/8"} // no platform from the request
			if m.country != "" {
				member["country"] = m.country
			}
			if m.platform != "" {
				member["platform"] = string(m.platform)
			}
			for _, size := range []int{1, 3, 50} {
				var seen []string
				var after any
				for page := 0; ; page++ {
					if page > len(want)+1 {
						t.Fatalf("member %+v, pages of %d: no end after %d pages", m, size, page)
					}
					var p feedPage
					postGraphQL(t, srv, pub.Secret, feedQuery, map[string]any{"m": member, "n": size, "after": after}, headers).Decode(t, &p)
					seen = append(seen, p.names()...)
					if !p.Offerwall.PageInfo.HasNextPage {
						break
					}
					if len(p.Offerwall.Edges) != size {
						t.Errorf("member %+v, pages of %d: page %d has %d cards and a next page", m, size, page, len(p.Offerwall.Edges))
					}
					after = *p.Offerwall.PageInfo.EndCursor
				}
				if !slices.Equal(seen, want) {
					t.Errorf("member %+v, pages of %d:\n got %v\nwant %v", m, size, seen, want)
				}
			}
		}
	})
}

// TestTheOfferwallCatalogFollowsEveryChange: the in-memory catalog never shows a page older
// than the account's last change through the API: a paused, retargeted, re-worded or archived
// offer, new events, a new offer, each visible on the very next page. Another account's
// changes are its own.
func TestTheOfferwallCatalogFollowsEveryChange(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		srv := apitest.Start(t, db)
		k := srv.NewAccount(t, "Fresh")
		other := srv.NewAccount(t, "Other")
		c := db.Client
		a := liveOffer(t, c, k.ID, "a", nil)
		b := liveOffer(t, c, k.ID, "b", nil)
		liveOffer(t, c, other.ID, "theirs", nil)
		pub, err := accounts.CreatePublishableKey(context.Background(), c, k.ID, "wall")
		if err != nil {
			t.Fatal(err)
		}
		page := func() feedPage {
			var p feedPage
			srv.GraphQL(t, pub.Secret, feedQuery, map[string]any{"m": map[string]any{"pubMemberID": "m1", "country": "US"}, "n": 50}).Decode(t, &p)
			return p
		}
		mutate := func(query string, vars map[string]any) {
			t.Helper()
			if r := srv.GraphQL(t, k.APIKey, query, vars); len(r.Errors) > 0 {
				t.Fatalf("%s: %+v", query, r.Errors)
			}
		}
		expect := func(step string, want ...string) {
			t.Helper()
			if got := page().names(); !slices.Equal(got, want) {
				t.Errorf("%s: the feed shows %v, want %v", step, got, want)
			}
		}
		expect("at first", "a", "b")
		mutate(`mutation($id: ID!) { pauseOffer(id: $id) { id } }`, map[string]any{"id": a.ID})
		expect("a paused", "b")
		mutate(`mutation($id: ID!) { resumeOffer(id: $id) { id } }`, map[string]any{"id": a.ID})
		expect("a resumed", "a", "b")
		mutate(`mutation($id: ID!) { updateOfferBudgetTargeting(id: $id, input: {currency: "USD", payout: "1.00", countries: ["DE"]}) { id } }`, map[string]any{"id": b.ID})
		expect("b targeted to Germany", "a")
		mutate(`mutation($id: ID!) { updateOfferBudgetTargeting(id: $id, input: {currency: "USD", payout: "1.00"}) { id } }`, map[string]any{"id": b.ID})
		expect("b untargeted again", "a", "b")
		mutate(`mutation($id: ID!) { updateOfferCreative(id: $id, input: {headline: "New headline", description: "d", callToAction: "Go", imageURLs: []}) { id } }`, map[string]any{"id": a.ID})
		if p := page(); len(p.Offerwall.Edges) == 0 || p.Offerwall.Edges[0].Node.Headline != "New headline" {
			t.Errorf("a re-worded: the card reads %+v", p.Offerwall.Edges)
		}
		mutate(`mutation($id: ID!) { setOfferEvents(id: $id, events: [{name: "Install", eventID: "install", payout: "2.50"}]) { id } }`, map[string]any{"id": a.ID})
		if p := page(); len(p.Offerwall.Edges) == 0 || len(p.Offerwall.Edges[0].Node.Events) != 1 || p.Offerwall.Edges[0].Node.Events[0].Name != "Install" {
			t.Errorf("a's events replaced: the card reads %+v", p.Offerwall.Edges)
		}
		liveOffer(t, c, k.ID, "c", nil)
		expect("c added", "a", "b", "c")
		liveOffer(t, c, other.ID, "theirs too", nil)
		mutate(`mutation($id: ID!) { endOffer(id: $id) { id } }`, map[string]any{"id": b.ID})
		expect("b ended", "a", "c")
	})
}

// TestTheOfferwallCatalogUnderConcurrentPagesAndChanges reads pages from several clients while
// offers are paused and resumed (run with -race): every page is a whole one, and once the
// changes stop the feed shows the final state.
func TestTheOfferwallCatalogUnderConcurrentPagesAndChanges(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		srv := apitest.Start(t, db)
		k := srv.NewAccount(t, "Busy")
		var ids []int
		for i := range 12 {
			ids = append(ids, liveOffer(t, db.Client, k.ID, fmt.Sprintf("offer %02d", i), nil).ID)
		}
		pub, err := accounts.CreatePublishableKey(context.Background(), db.Client, k.ID, "wall")
		if err != nil {
			t.Fatal(err)
		}
		page := func() (feedPage, error) {
			var p feedPage
			r := srv.GraphQL(t, pub.Secret, feedQuery, map[string]any{"m": map[string]any{"pubMemberID": "m1"}, "n": 50})
			if len(r.Errors) > 0 {
				return p, fmt.Errorf("%+v", r.Errors)
			}
			r.Decode(t, &p)
			return p, nil
		}
		done := make(chan struct{})
		errs := make(chan error, 4)
		for range 4 {
			go func() {
				for {
					select {
					case <-done:
						errs <- nil
						return
					default:
					}
					p, err := page()
					if err == nil && (len(p.Offerwall.Edges) < 12-3 || len(p.Offerwall.Edges) > 12) {
						err = fmt.Errorf("a page of %d cards while at most 3 of 12 offers were paused", len(p.Offerwall.Edges))
					}
					if err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		pause := `mutation($id: ID!) { pauseOffer(id: $id) { id } }`
		resume := `mutation($id: ID!) { resumeOffer(id: $id) { id } }`
		for i := range 9 {
			srv.GraphQL(t, k.APIKey, pause, map[string]any{"id": ids[i%3]})
			srv.GraphQL(t, k.APIKey, resume, map[string]any{"id": ids[i%3]})
		}
		srv.GraphQL(t, k.APIKey, pause, map[string]any{"id": ids[5]})
		close(done)
		for range 4 {
			if err := <-errs; err != nil {
				t.Error(err)
			}
		}
		if p, err := page(); err != nil || len(p.Offerwall.Edges) != 11 || slices.Contains(p.names(), "offer 05") {
			t.Errorf("after the changes: %v %v, want the 11 offers but offer 05", p.names(), err)
		}
	})
}
