package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/gokart/gokart/internal/accounts"
	"github.com/gokart/gokart/internal/benchdata"
	"github.com/gokart/gokart/internal/storage"
)

// feedPageSize is the cards a feed request asks for, and feedMembers how many members ask.
const (
	feedPageSize = 50
	feedMembers  = 5000
)

// FeedReport is one -feed run: the offerwall feed of an account of Offers offers, asked by a
// publishable key, at -concurrency clients (closed loop: each sends its next request when the
// last returned) and at one client.
type FeedReport struct {
	Server      string   `json:"server"`
	StartedAt   string   `json:"startedAt"`
	NumCPU      int      `json:"numCPU"`
	Offers      int      `json:"offers"`
	Concurrency int      `json:"concurrency"`
	Closed      Phase    `json:"closed"`
	Single      Phase    `json:"single"`
	Targets     []Target `json:"targets"`
}

// feedBench (-feed) gives a new account cfg.FeedOffers live offers (benchdata.FeedOffers, the
// account of the in-process BenchmarkOfferwallFeed) and a publishable key, then asks for
// cfg.Feed pages of 50 cards at cfg.Concurrency clients and a tenth as many at one client. Each
// request is a member of 5 000, US or DE in turn, half of them for a page after a random offer.
// The load runs in this process and the server in its own, so the server's latency is not the
// load generator's scheduling (in one Go process the two share a scheduler and a heap).
func feedBench(ctx context.Context, cfg config, logf func(string, ...any)) (*FeedReport, error) {
	client, keys, _, statDB, err := begin(ctx, &cfg, "gokart-bench feed ")
	if err != nil {
		return nil, err
	}
	defer statDB.Close()
	t0 := time.Now()
	db, err := storage.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	ids, err := benchdata.FeedOffers(ctx, db.Client, keys.ID, cfg.FeedOffers)
	var pub accounts.CreatedKey
	if err == nil {
		pub, err = accounts.CreatePublishableKey(ctx, db.Client, keys.ID, "gokart-bench feed")
	}
	db.Close()
	if err != nil {
		return nil, err
	}
	logf("feed: account %d has %d offers (%s)", keys.ID, len(ids), time.Since(t0).Round(time.Millisecond))
	checkpoint(ctx, statDB, logf) // as before every case: the seeding's writes flushed first

	do := feedDoer(client, cfg.Server, pub.Secret, ids)
	rep := &FeedReport{Server: cfg.Server, StartedAt: time.Now().UTC().Format(time.RFC3339), NumCPU: runtime.NumCPU(),
		Offers: len(ids), Concurrency: cfg.Concurrency}
	// Warm-up: the server reads the account's catalog once, and connections open.
	if w := measure(ctx, cfg, 4*cfg.Concurrency, 0, do); w.Errors > 0 {
		return nil, fmt.Errorf("feed warm-up: %d of %d requests failed, e.g. %v", w.Errors, w.Requests, w.ErrorSamples)
	}
	logf("feed: %d pages at %d clients", cfg.Feed, cfg.Concurrency)
	rep.Closed = measure(ctx, cfg, cfg.Feed, cfg.Duration, do)
	one := cfg
	one.Concurrency = 1
	logf("feed: %d pages at one client", max(cfg.Feed/10, 1))
	rep.Single = measure(ctx, one, max(cfg.Feed/10, 1), cfg.Duration, shifted(do, cfg.Feed))
	rep.Targets = []Target{{Name: fmt.Sprintf("p99 ms feed at %d clients", cfg.Concurrency), Value: rep.Closed.P99Ms, Want: "< 20",
		Pass: rep.Closed.OK > 0 && rep.Closed.P99Ms < 20}}
	return rep, nil
}

// feedDoer asks for page i: member m<i mod 5000>, US for even i and DE for odd, the first page
// for even i and the page after a random offer (but the last 200) for odd. It expects 200 and
// 50 cards.
func feedDoer(client *http.Client, server, key string, ids []int) doer {
	var bufs sync.Pool
	return func(ctx context.Context, i int) (string, string) {
		var after any
		if i%2 == 1 && len(ids) > 200 {
			after = benchdata.Cursor(ids[rand.IntN(len(ids)-200)])
		}
		body, _ := json.Marshal(map[string]any{"query": benchdata.FeedQuery, "variables": map[string]any{
			"m": map[string]any{"pubMemberID": "m" + strconv.Itoa(i%feedMembers), "country": []string{"US", "DE"}[i%2]},
			"n": feedPageSize, "after": after}})
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, server+"/query", bytes.NewReader(body))
		if err != nil {
			return "request", err.Error()
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := client.Do(req)
		if err != nil {
			return "transport", err.Error()
		}
		defer resp.Body.Close()
		buf, _ := bufs.Get().(*bytes.Buffer)
		if buf == nil {
			buf = new(bytes.Buffer)
		}
		defer bufs.Put(buf)
		buf.Reset()
		_, _ = buf.ReadFrom(resp.Body)
		page := buf.Bytes()
		switch {
		case resp.StatusCode != http.StatusOK:
			return strconv.Itoa(resp.StatusCode), string(page[:min(len(page), 300)])
		case bytes.Contains(page, []byte(`"errors"`)):
			return "200 errors", string(page[:min(len(page), 300)])
		case bytes.Count(page, []byte(`"clickURL":`)) != feedPageSize:
			return "200 short page", string(page[:min(len(page), 300)])
		}
		return "", ""
	}
}

// WriteText prints the feed report as a table.
func (r *FeedReport) WriteText(w io.Writer) {
	fmt.Fprintf(w, "gokart-bench feed against %s: %d offers, pages of %d cards, %d CPUs\n\n", r.Server, r.Offers, feedPageSize, r.NumCPU)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "clients\trequests\terrors\treq/s\tp50 ms\tp99 ms\tmax ms\tserver CPU µs/req\tdb CPU µs/req\tmachine busy\ttool CPU s\t")
	for _, row := range []struct {
		clients int
		p       Phase
	}{{r.Concurrency, r.Closed}, {1, r.Single}} {
		fmt.Fprintf(tw, "%d\t%d\t%d\t%.0f\t%.2f\t%.2f\t%.2f\t%.0f\t%.0f\t%.0f%%\t%.1f\t\n", row.clients, row.p.Requests, row.p.Errors,
			row.p.RPS, row.p.P50Ms, row.p.P99Ms, row.p.MaxMs, 1000*row.p.CPU.ServerMsPerRequest, 1000*row.p.CPU.DatabaseMsPerRequest,
			100*row.p.CPU.MachineBusy, row.p.CPU.ClientSeconds)
	}
	tw.Flush()
	for _, p := range []Phase{r.Closed, r.Single} {
		for _, s := range p.ErrorSamples {
			fmt.Fprintf(w, "  failed, e.g. %s\n", s)
		}
	}
	writeTargets(w, r.Targets)
}

// Errors is how many feed requests failed.
func (r *FeedReport) Errors() int { return r.Closed.Errors + r.Single.Errors }
