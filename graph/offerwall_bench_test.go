package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gokart/gokart/internal/accounts"
	"github.com/gokart/gokart/internal/apitest"
	"github.com/gokart/gokart/internal/benchdata"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/httpapi"
)

// BenchmarkOfferwallFeed asks for pages of 50 cards from an account of 10 000 offers (a third
// of them US-only, every tenth with a total budget and a daily cap) at 32 concurrent clients
// over loopback, on PostgreSQL and SQLite; it reports the latency percentiles and requests
// per second. Its sub-benchmarks, in the order they run:
//
// floor is the same load against a bare net/http server that answers every request with a page
// the feed gave, as bytes: what this machine's HTTP and load generator cost alone; the closed
// loop reports its p99 as a multiple of the floor's (p99_x_floor). clients=32 is the closed
// loop: each client sends its next request as soon as one returns, so the latency is 32 divided
// by the throughput, what a request costs the machine, queued. clients=32/load=0.25 and 0.5 are
// open loops: requests sent on a fixed schedule at that fraction of the closed loop's
// throughput, spread over 32 clients, each latency counted from the moment its request was due
// (a late send counts as waiting). executor/clients=32 is the closed loop with the feed left
// to gqlgen's executor instead of Resolver.RenderOfferwall. clients=1 is a request's own
// latency.
//
//	go test ./graph/ -run '^$' -bench 'OfferwallFeed/postgres' -benchtime 3000x
func BenchmarkOfferwallFeed(b *testing.B) {
	for _, d := range dbtest.Dialects {
		b.Run(d, func(b *testing.B) { benchmarkOfferwallFeed(b, d) })
	}
}

func benchmarkOfferwallFeed(b *testing.B, dialectName string) {
	db := dbtest.Open(b, dialectName)
	srv := apitest.Start(b, db)
	k := srv.NewAccount(b, "Bench")
	ids, err := benchdata.FeedOffers(context.Background(), db.Client, k.ID, 10_000)
	if err != nil {
		b.Fatal(err)
	}
	pub, err := accounts.CreatePublishableKey(context.Background(), db.Client, k.ID, "bench")
	if err != nil {
		b.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	ask := func(member, country string, after any) error {
		return askPage(client, srv.URL, pub.Secret, member, country, after)
	}
	if err := ask("warm", "US", nil); err != nil {
		b.Fatal(err)
	}
	var first feedPage
	srv.GraphQL(b, pub.Secret, feedQuery, map[string]any{"m": map[string]any{"pubMemberID": "warm", "country": "US"}, "n": 50}).Decode(b, &first)
	if n := len(first.Offerwall.Edges); n != 50 || first.Offerwall.Edges[0].Node.ClickURL == "" {
		b.Fatalf("the first page has %d cards: %+v", n, first.Offerwall.Edges)
	}
	page := capturePage(b, srv, pub.Secret)
	floor := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(page)
	}))
	defer floor.Close()
	askFloor := func(member, country string, after any) error {
		return askPage(client, floor.URL, "", member, country, after)
	}
	var floorP99 float64
	b.Run("floor", func(b *testing.B) { floorP99 = loadFeed(b, 32, 0, ids, askFloor).p99 })
	var closed feedLoad
	b.Run("clients=32", func(b *testing.B) {
		closed = loadFeed(b, 32, 0, ids, ask)
		if floorP99 > 0 {
			b.ReportMetric(closed.p99/floorP99, "p99_x_floor")
		}
	})
	// The same pages through gqlgen's executor (httpapi.Options.OfferwallByExecutor), for the
	// renderer's gain in the same run.
	executor := apitest.StartWith(b, db, func(o *httpapi.Options) { o.OfferwallByExecutor = true })
	b.Run("executor/clients=32", func(b *testing.B) {
		loadFeed(b, 32, 0, ids, func(member, country string, after any) error {
			return askPage(client, executor.URL, pub.Secret, member, country, after)
		})
	})
	for _, load := range []float64{0.25, 0.5} {
		b.Run(fmt.Sprintf("clients=32/load=%g", load), func(b *testing.B) {
			if closed.rps == 0 {
				b.Skip("open-loop loads are fractions of the closed loop's throughput: run clients=32 too")
			}
			loadFeed(b, 32, load*closed.rps, ids, ask)
		})
	}
	b.Run("clients=1", func(b *testing.B) { loadFeed(b, 1, 0, ids, ask) })
}

// capturePage is the bytes of one feed page as the server sends them, for the floor's server.
func capturePage(b *testing.B, srv *apitest.Server, key string) []byte {
	status, raw := srv.GraphQLRaw(b, key, feedQuery, map[string]any{
		"m": map[string]any{"pubMemberID": "m1", "country": "US"}, "n": 50})
	if status != http.StatusOK {
		b.Fatalf("HTTP %d: %.300s", status, raw)
	}
	return raw
}

// askPage asks url for a page of 50 cards for the member and checks that 50 came back.
func askPage(client *http.Client, url, key, member, country string, after any) error {
	body, _ := json.Marshal(map[string]any{"query": feedQuery, "variables": map[string]any{
		"m": map[string]any{"pubMemberID": member, "country": country}, "n": 50, "after": after}})
	req, _ := http.NewRequest(http.MethodPost, url+"/query", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	// The load generator shares the machine's two cores, and the process's garbage collector,
	// with the server: it reads into a reused buffer and checks the page by counting its cards
	// rather than decoding it (the warm-up decodes one).
	buf := answers.Get().(*bytes.Buffer)
	defer answers.Put(buf)
	buf.Reset()
	_, _ = buf.ReadFrom(resp.Body)
	raw := buf.Bytes()
	if resp.StatusCode != http.StatusOK || bytes.Contains(raw, []byte(`"errors"`)) || bytes.Count(raw, []byte(`"clickURL":`)) != 50 {
		return fmt.Errorf("HTTP %d: %.300s", resp.StatusCode, raw)
	}
	return nil
}

var answers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// feedLoad is what loadFeed measured: the 99th percentile latency in ms and requests/s.
type feedLoad struct{ p99, rps float64 }

// loadFeed sends b.N feed requests from that many concurrent clients, half of them for a
// later page, and reports the latency percentiles, the throughput and this process's CPU
// time per request. With rate 0 each client sends as soon as its last request returned
// (closed loop); with a rate (requests/s, all clients together) request i is due at i/rate
// from the start, and its latency is counted from then, not from when a client was free to
// send it.
func loadFeed(b *testing.B, clients int, rate float64, ids []int, ask func(member, country string, after any) error) feedLoad {
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
				if rate > 0 {
					t0 = began.Add(time.Duration(float64(i) / rate * float64(time.Second)))
					time.Sleep(time.Until(t0))
				}
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
	got := feedLoad{p99: pct(0.99), rps: float64(b.N) / elapsed.Seconds()}
	b.ReportMetric(pct(0.50), "p50_ms")
	b.ReportMetric(got.p99, "p99_ms")
	b.ReportMetric(got.rps, "req/s")
	// What a request costs this process (server and client) in CPU, which the machine's other
	// load changes far less than it changes latency.
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "go_cpu_ms/req")
	return got
}

// cursorOf is the Cursor a connection hands out for the offer id.
func cursorOf(id int) string { return benchdata.Cursor(id) }
