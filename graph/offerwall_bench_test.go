package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"entgo.io/contrib/entgql"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/offer"
	"github.com/gokart/gokart/internal/accounts"
	"github.com/gokart/gokart/internal/apitest"
	"github.com/gokart/gokart/internal/catalogue"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/money"
	"github.com/gokart/gokart/internal/viewer"
)

// BenchmarkOfferwallFeed asks for pages of 50 cards from an account of 10 000 offers (a third
// of them US-only, every tenth with a total budget and a daily cap) at 32 concurrent clients
// over loopback, on PostgreSQL and SQLite; it reports the latency percentiles and requests
// per second. Each client sends its next request as soon as one returns, so at 32 clients the
// latency is 32 divided by the throughput: what a request costs the machine, queued. One
// client (clients=1) shows a request's own latency.
//
//	go test ./graph/ -run '^$' -bench 'OfferwallFeed/postgres/clients=32' -benchtime 3000x
func BenchmarkOfferwallFeed(b *testing.B) {
	for _, d := range dbtest.Dialects {
		b.Run(d, func(b *testing.B) { benchmarkOfferwallFeed(b, d) })
	}
}

func benchmarkOfferwallFeed(b *testing.B, dialectName string) {
	db := dbtest.Open(b, dialectName)
	srv := apitest.Start(b, db)
	k := srv.NewAccount(b, "Bench")
	ids := seedFeedOffers(b, db.Client, k.ID, 10_000)
	pub, err := accounts.CreatePublishableKey(context.Background(), db.Client, k.ID, "bench")
	if err != nil {
		b.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	ask := func(member, country string, after any) error {
		body, _ := json.Marshal(map[string]any{"query": feedQuery, "variables": map[string]any{
			"m": map[string]any{"pubMemberID": member, "country": country}, "n": 50, "after": after}})
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/query", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+pub.Secret)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		// The load generator shares the machine's two cores with the server: it checks the
		// page by counting its cards rather than decoding it (the warm-up below decodes one).
		if resp.StatusCode != http.StatusOK || bytes.Contains(raw, []byte(`"errors"`)) || bytes.Count(raw, []byte(`"clickURL":`)) != 50 {
			return fmt.Errorf("HTTP %d: %.300s", resp.StatusCode, raw)
		}
		return nil
	}
	if err := ask("warm", "US", nil); err != nil {
		b.Fatal(err)
	}
	var first feedPage
	srv.GraphQL(b, pub.Secret, feedQuery, map[string]any{"m": map[string]any{"pubMemberID": "warm", "country": "US"}, "n": 50}).Decode(b, &first)
	if n := len(first.Offerwall.Edges); n != 50 || first.Offerwall.Edges[0].Node.ClickURL == "" {
		b.Fatalf("the first page has %d cards: %+v", n, first.Offerwall.Edges)
	}
	for _, clients := range []int{32, 1} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) { loadFeed(b, clients, ids, ask) })
	}
}

// loadFeed sends b.N feed requests from that many concurrent clients, half of them for a
// later page, and reports the latency percentiles, the throughput and this process's CPU
// time per request.
func loadFeed(b *testing.B, clients int, ids []int, ask func(member, country string, after any) error) {
	lat := make([]time.Duration, b.N)
	var next sync.Mutex
	n := 0
	b.ResetTimer()
	began, cpu := time.Now(), processCPU()
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				next.Lock()
				i := n
				n++
				next.Unlock()
				if i >= b.N {
					return
				}
				var after any
				if i%2 == 1 { // half the requests are later pages
					after = cursorOf(ids[rand.IntN(len(ids)-200)])
				}
				country := []string{"US", "DE"}[i%2]
				t0 := time.Now()
				if err := ask(fmt.Sprintf("m%d", i%5000), country, after); err != nil {
					b.Error(err)
					return
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	elapsed, cpu := time.Since(began), processCPU()-cpu
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.50), "p50_ms")
	b.ReportMetric(pct(0.99), "p99_ms")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	// What a request costs this process (server and client) in CPU, which the machine's other
	// load changes far less than it changes latency.
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "go_cpu_ms/req")
}

// seedFeedOffers makes n live single-event offers in the account, in bulk: every third
// US-only, every tenth with a total budget and a daily cap. It returns their ids in order.
func seedFeedOffers(tb testing.TB, c *ent.Client, accountID, n int) []int {
	tb.Helper()
	ctx := viewer.ForAccount(context.Background(), accountID)
	const batch = 1000
	var ids []int
	for start := 0; start < n; start += batch {
		creates := make([]*ent.OfferCreate, 0, batch)
		for i := start; i < min(start+batch, n); i++ {
			o := c.Offer.Create().SetName(fmt.Sprintf("offer %05d", i)).SetType(offer.TypeSINGLE_EVENT).
				SetIntegrationSystem(catalogue.Impact).SetStatus(offer.StatusACTIVE).
				SetTrackingLink("https://track.example.com/c/1?x=1").
				SetClickURLTemplate("https://track.example.com/c/1?x=1&subid1={gk_click_id}").
				SetHeadline("Headline").SetDescription("Description").SetCallToAction("Go").
				SetImageUrls([]string{"https://img.example.com/a.png"}).SetTerms("Terms")
			if i%3 == 0 {
				o.SetCountries([]string{"US"})
			}
			if i%10 == 0 {
				o.SetBudgetTotal(1000 * money.Scale).SetCapDaily(100)
			}
			creates = append(creates, o)
		}
		made, err := c.Offer.CreateBulk(creates...).Save(ctx)
		if err != nil {
			tb.Fatal(err)
		}
		events := make([]*ent.OfferEventCreate, 0, batch)
		for _, o := range made {
			ids = append(ids, o.ID)
			events = append(events, c.OfferEvent.Create().SetOfferID(o.ID).SetName("Sign Up").SetEventID("signup").SetPayout(money.Scale))
		}
		if err := c.OfferEvent.CreateBulk(events...).Exec(ctx); err != nil {
			tb.Fatal(err)
		}
	}
	return ids
}

// cursorOf is the Cursor a connection hands out for the offer id.
func cursorOf(id int) string {
	var buf bytes.Buffer
	entgql.Cursor[int]{ID: id}.MarshalGQL(&buf)
	var s string
	_ = json.Unmarshal(buf.Bytes(), &s)
	return s
}
