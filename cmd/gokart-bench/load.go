package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gokart/gokart/internal/accounts"
)

// maxSamples is how many distinct error descriptions a phase keeps to show.
const maxSamples = 8

// newHTTPClient is a keep-alive client with a connection per worker, never a proxy, that
// does not follow redirects (the click's 302 is the answer we measure).
func newHTTPClient(concurrency int) *http.Client {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        2 * concurrency,
		MaxIdleConnsPerHost: 2 * concurrency,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &http.Client{
		Transport:     tr,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// begin is what every run starts with: a client, once the server is ready; an account named
// prefix and the run's id; and the connection that reads the database's backends (set in cfg)
// and checkpoints, for the caller to close.
func begin(ctx context.Context, cfg *config, prefix string) (*http.Client, accounts.Keys, string, *sql.DB, error) {
	client := newHTTPClient(cfg.Concurrency)
	if err := waitReady(ctx, client, cfg.Server, 30*time.Second); err != nil {
		return nil, accounts.Keys{}, "", nil, err
	}
	runID := time.Now().UTC().Format("20060102T150405")
	keys, err := createAccount(ctx, cfg.DatabaseURL, prefix+runID)
	if err != nil {
		return nil, accounts.Keys{}, "", nil, err
	}
	statDB, err := sql.Open("postgres", cfg.DatabaseURL)
	if err != nil {
		return nil, accounts.Keys{}, "", nil, err
	}
	statDB.SetMaxOpenConns(1)
	cfg.backends = pgBackendsOf(statDB)
	return client, keys, runID, statDB, nil
}

// bench runs the whole benchmark: account, then each case's offers, clicks and postbacks.
func bench(ctx context.Context, cfg config, logf func(string, ...any)) (*Report, error) {
	client, keys, runID, statDB, err := begin(ctx, &cfg, "gokart-bench ")
	if err != nil {
		return nil, err
	}
	defer statDB.Close()
	logf("account %d created", keys.ID)
	gql := &gqlClient{http: client, url: cfg.Server + "/query", apiKey: keys.APIKey}
	advertiserID, err := createAdvertiser(ctx, gql)
	if err != nil {
		return nil, err
	}

	var received *callbackReceiver
	if cfg.CallbackReceiver {
		if received, err = startCallbackReceiver(ctx, gql); err != nil {
			return nil, err
		}
		logf("callback endpoint registered on the tool's receiver")
	}

	rep := &Report{
		Server: cfg.Server, Concurrency: cfg.Concurrency, ClicksPerCase: cfg.Clicks, OfferType: cfg.OfferType,
		NumCPU: runtime.NumCPU(), StartedAt: time.Now().UTC().Format(time.RFC3339),
	}
	if cfg.CeilingPB > 0 || cfg.CeilingClick > 0 {
		rep.Ceiling = &Ceiling{PostbackTPS: cfg.CeilingPB, ClickTPS: cfg.CeilingClick, Clients: cfg.Concurrency}
	}
	type benchCase struct {
		name   string
		offers int
	}
	var cases []benchCase
	if cfg.Case == "spread" || cfg.Case == "both" {
		cases = append(cases, benchCase{"spread", cfg.Offers})
	}
	if cfg.Case == "hot" || cfg.Case == "both" {
		cases = append(cases, benchCase{"hot", 1})
	}
	runCase := func(c benchCase) error {
		t0 := time.Now()
		offers, err := createOffers(ctx, gql, advertiserID, cfg.OfferType, "bench "+c.name, c.offers)
		if err != nil {
			return fmt.Errorf("%s case: %w", c.name, err)
		}
		logf("%s case: %d offers published in %s; minting %d clicks at concurrency %d",
			c.name, len(offers), time.Since(t0).Round(time.Millisecond), cfg.Clicks, cfg.Concurrency)
		checkpoint(ctx, statDB, logf)
		cr := CaseReport{Name: c.name, Offers: len(offers), Warmup: cfg.Warmup}
		// Warm-up clicks take indices [0, Warmup), measured ones the rest; their postbacks
		// likewise warm up and are measured separately.
		clickIDs := make([]string, cfg.Warmup+cfg.Clicks)
		clicker := clickDoer(client, cfg.Server, c.name, offers, clickIDs)
		// The server's CPU profile covers the measured phases of the cases on an empty account.
		profile := func(phase string) string {
			if strings.HasSuffix(c.name, prefilledSuffix) {
				return ""
			}
			return phase + "-" + c.name
		}
		warm := measure(ctx, cfg, cfg.Warmup, 0, clicker)
		cr.Clicks = measureProfiled(ctx, cfg, cfg.Clicks, cfg.Duration, shifted(clicker, cfg.Warmup), profile("clicks"), logf)
		converting := func(ids []string) []string {
			var out []string
			for _, id := range ids {
				if id != "" {
					out = append(out, id)
				}
			}
			return out
		}
		warmIDs, ids := converting(clickIDs[:cfg.Warmup]), converting(clickIDs[cfg.Warmup:])
		logf("%s case: %d clicks at %.0f/s (%d errors); firing %d postbacks",
			c.name, cr.Clicks.OK, cr.Clicks.RPS, cr.Clicks.Errors, len(ids))
		convPrefix := runID + "-" + c.name
		warmPB := measure(ctx, cfg, len(warmIDs), 0, postbackDoer(client, cfg.Server, keys.PostbackKey, convPrefix+"-warmup", warmIDs))
		cr.Postbacks = measureProfiled(ctx, cfg, len(ids), cfg.Duration, postbackDoer(client, cfg.Server, keys.PostbackKey, convPrefix, ids), profile("postbacks"), logf)
		cr.WarmupPostbacksOK = warmPB.OK
		logf("%s case: %d postbacks at %.0f/s (%d errors)", c.name, cr.Postbacks.OK, cr.Postbacks.RPS, cr.Postbacks.Errors)
		cr.WarmupErrors = warm.Errors + warmPB.Errors
		for _, p := range []Phase{warm, warmPB} {
			cr.WarmupErrorSamples = append(cr.WarmupErrorSamples, p.ErrorSamples...)
		}
		rep.Cases = append(rep.Cases, cr)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%s case: %w", c.name, err)
		}
		return nil
	}
	for _, c := range cases {
		if err := runCase(c); err != nil {
			return nil, err
		}
	}
	if cfg.PrefillClicks > 0 {
		// The same cases again over an account with a history: the cost of a click or a
		// postback must not grow with the rows already there.
		history, err := createOffers(ctx, gql, advertiserID, cfg.OfferType, "bench history", 1)
		if err != nil {
			return nil, fmt.Errorf("prefill: %w", err)
		}
		if err := prefill(ctx, cfg.DatabaseURL, int64(keys.ID), history[0].ID, cfg.PrefillClicks, logf); err != nil {
			return nil, err
		}
		rep.PrefillClicks = cfg.PrefillClicks
		for _, c := range cases {
			c.name += prefilledSuffix
			if err := runCase(c); err != nil {
				return nil, err
			}
		}
	}
	if received != nil {
		want := 0
		for _, c := range rep.Cases {
			want += c.Postbacks.OK + c.WarmupPostbacksOK
		}
		t0 := time.Now()
		for received.count() < want && time.Since(t0) < time.Minute && ctx.Err() == nil {
			time.Sleep(20 * time.Millisecond)
		}
		cb := received.summary(want, time.Since(t0))
		rep.Callbacks = &cb
		logf("callbacks: %d delivered for %d accepted postbacks, the last %s after the load ended",
			cb.Delivered, want, time.Since(t0).Round(time.Millisecond))
	}
	if cfg.ServerPID > 0 {
		if hwm, err := readProcStatusKB(cfg.ServerPID, "VmHWM"); err == nil {
			rep.ServerVmHWMMB = float64(hwm) / 1024
		}
	}
	rep.evaluate()
	return rep, nil
}

// shifted sends request i as do's request i+k.
func shifted(do doer, k int) doer {
	return func(ctx context.Context, i int) (string, string) { return do(ctx, i+k) }
}

// doer sends request i and says how it went: "" when as expected, else an outcome to count
// (e.g. "409", "200 duplicate", "transport") and a detail to show.
type doer func(ctx context.Context, i int) (outcome, detail string)

// clickDoer clicks offers round-robin, member m<i>, and keeps each minted gk_click_id.
func clickDoer(client *http.Client, server, caseName string, offers []benchOffer, clickIDs []string) doer {
	urls := make([]string, len(clickIDs))
	for i := range urls {
		o := offers[i%len(offers)]
		urls[i] = fmt.Sprintf("%s%s?pub_member_id=%s-m%d&pub_click_id=%s-c%d&pub_sub_1=bench", server, o.ClickPath, url.QueryEscape(caseName), i, url.QueryEscape(caseName), i)
	}
	return func(ctx context.Context, i int) (string, string) {
		status, loc, body, err := get(ctx, client, urls[i])
		if err != nil {
			return "transport", err.Error()
		}
		if status != http.StatusFound {
			return strconv.Itoa(status), strings.TrimSpace(body)
		}
		id, err := clickIDFromLocation(loc)
		if err != nil {
			return "302 bad Location", err.Error()
		}
		clickIDs[i] = id
		return "", ""
	}
}

// clickIDFromLocation reads the gk_click_id that the redirect put in Impact's subid1.
func clickIDFromLocation(loc string) (string, error) {
	u, err := url.Parse(loc)
	if err != nil {
		return "", fmt.Errorf("Location %q: %w", loc, err)
	}
	if !strings.HasPrefix(loc, benchTrackingLink) {
		return "", fmt.Errorf("Location %q is not the offer's tracking link %s", loc, benchTrackingLink)
	}
	id := u.Query().Get("subid1")
	if id == "" || id == "{gk_click_id}" {
		return "", fmt.Errorf("Location %q has no filled subid1", loc)
	}
	return id, nil
}

// postbackDoer converts each click once with a unique network conversion id.
func postbackDoer(client *http.Client, server, postbackKey, convPrefix string, clickIDs []string) doer {
	urls := make([]string, len(clickIDs))
	base := server + "/postback?key=" + url.QueryEscape(postbackKey)
	for i, id := range clickIDs {
		urls[i] = base + "&gk_click_id=" + url.QueryEscape(id) + "&cnv_event_id=" + url.QueryEscape(convertEvent) +
			"&cnv_conversion_id=" + url.QueryEscape(fmt.Sprintf("%s-%d", convPrefix, i)) +
			"&cnv_status=pending&cnv_payout=" + benchPayout + "&cnv_currency=USD"
	}
	return func(ctx context.Context, i int) (string, string) {
		status, _, body, err := get(ctx, client, urls[i])
		if err != nil {
			return "transport", err.Error()
		}
		body = strings.TrimSpace(body)
		switch {
		case status != http.StatusOK:
			return strconv.Itoa(status), body
		case body != "accepted":
			// Each click converts once: a 200 that is not "accepted" (duplicate, updated) is wrong too.
			return "200 " + firstWord(body), body
		}
		return "", ""
	}
}

// get does one GET and returns the status, Location and the start of the body; the rest of
// the body is drained so that the connection is reused.
func get(ctx context.Context, client *http.Client, u string) (int, string, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, "", "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", "", err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = io.CopyN(&buf, resp.Body, 512)
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), buf.String(), nil
}

// measure runs n requests on cfg.Concurrency workers and summarizes them, sampling the
// server's memory meanwhile when its pid is known. With a limit, it stops sending once the
// limit has passed; the requests it did not send are not counted.
func measure(ctx context.Context, cfg config, n int, limit time.Duration, do doer) Phase {
	if n == 0 {
		return Phase{}
	}
	var rss *rssSampler
	if cfg.ServerPID > 0 {
		rss = startRSSSampler(cfg.ServerPID, 50*time.Millisecond)
	}
	durs := make([]time.Duration, n)
	outcomes := make([]string, n)
	details := make([]string, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	cpu0 := takeCPUSnapshot(cfg.ServerPID, cfg.backends)
	start := time.Now()
	var deadline time.Time
	if limit > 0 {
		deadline = start.Add(limit)
	}
	for range min(cfg.Concurrency, n) {
		wg.Go(func() {
			for ctx.Err() == nil && (deadline.IsZero() || time.Now().Before(deadline)) {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				t0 := time.Now()
				outcomes[i], details[i] = do(ctx, i)
				durs[i] = time.Since(t0)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	// Every index claimed was sent: workers check the limit before they claim one.
	sent := min(int(next.Load()), n)
	p := summarize(durs[:sent], outcomes[:sent], details[:sent], elapsed)
	p.Planned = n
	p.StoppedAtLimit = sent < n && ctx.Err() == nil
	p.CPU = cpuBetween(cpu0, takeCPUSnapshot(cfg.ServerPID, cfg.backends), p.OK)
	if rss != nil {
		p.PeakRSSMB = float64(rss.stop()) / 1024
	}
	return p
}

// summarize turns per-request durations and outcomes into a Phase. A request without a
// duration or an outcome was never sent (the run was cancelled) and counts as "not sent".
func summarize(durs []time.Duration, outcomes, details []string, elapsed time.Duration) Phase {
	p := Phase{Requests: len(durs), Seconds: elapsed.Seconds()}
	sent := make([]time.Duration, 0, len(durs))
	for i, d := range durs {
		if d == 0 && outcomes[i] == "" {
			p.addError("not sent", "cancelled before it was sent")
			continue
		}
		sent = append(sent, d)
		if outcomes[i] == "" {
			p.OK++
			continue
		}
		p.addError(outcomes[i], details[i])
	}
	slices.Sort(sent)
	p.P50Ms = ms(percentile(sent, 50))
	p.P99Ms = ms(percentile(sent, 99))
	if len(sent) > 0 {
		p.MaxMs = ms(sent[len(sent)-1])
	}
	if p.Seconds > 0 {
		p.RPS = float64(p.OK) / p.Seconds
	}
	return p
}

func (p *Phase) addError(outcome, detail string) {
	p.Errors++
	if p.ErrorsByOutcome == nil {
		p.ErrorsByOutcome = map[string]int{}
	}
	p.ErrorsByOutcome[outcome]++
	sample := outcome + ": " + truncate(detail, 200)
	if len(p.ErrorSamples) < maxSamples && !slices.Contains(p.ErrorSamples, sample) {
		p.ErrorSamples = append(p.ErrorSamples, sample)
	}
}

// percentile is the nearest-rank percentile of sorted durations: the smallest value with at
// least q% of the values at or below it. Zero for none.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(float64(len(sorted))*q/100 + 0.9999999)
	rank = max(1, min(rank, len(sorted)))
	return sorted[rank-1]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func firstWord(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return truncate(f[0], 40)
	}
	return "(empty body)"
}

// rssSampler polls a process's resident memory and keeps the peak, in kB.
type rssSampler struct {
	done chan struct{}
	peak chan int64
}

func startRSSSampler(pid int, every time.Duration) *rssSampler {
	s := &rssSampler{done: make(chan struct{}), peak: make(chan int64, 1)}
	go func() {
		var peak int64
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if kb, err := readProcStatusKB(pid, "VmRSS"); err == nil && kb > peak {
				peak = kb
			}
			select {
			case <-s.done:
				s.peak <- peak
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *rssSampler) stop() int64 {
	close(s.done)
	return <-s.peak
}

// readProcStatusKB reads one "Name:   123 kB" line of /proc/PID/status.
func readProcStatusKB(pid int, name string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return parseStatusKB(f, name)
}

func parseStatusKB(r io.Reader, name string) (int64, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || key != name {
			continue
		}
		f := strings.Fields(val)
		if len(f) == 0 {
			break
		}
		return strconv.ParseInt(f[0], 10, 64)
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no %s in process status", name)
}
