package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestPercentileIsTheNearestRank(t *testing.T) {
	t.Parallel()
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	for _, tc := range []struct {
		name   string
		sorted []time.Duration
		q      float64
		want   time.Duration
	}{
		{"no values give zero", nil, 50, 0},
		{"one value is every percentile", []time.Duration{7}, 99, 7},
		{"p50 of 1..100 ms is 50 ms", hundred, 50, 50 * time.Millisecond},
		{"p99 of 1..100 ms is 99 ms", hundred, 99, 99 * time.Millisecond},
		{"p100 is the maximum", hundred, 100, 100 * time.Millisecond},
		{"p0 is the minimum", hundred, 0, 1 * time.Millisecond},
		{"p50 of two values is the lower", []time.Duration{1, 2}, 50, 1},
		{"p99 of ten values is the tenth", []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 99, 10},
	} {
		if got := percentile(tc.sorted, tc.q); got != tc.want {
			t.Errorf("%s: percentile(%d values, %v) = %v, want %v", tc.name, len(tc.sorted), tc.q, got, tc.want)
		}
	}
}

func TestOnlyLoopbackTargetsAreAccepted(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:8080", true},
		{"http://127.0.0.2:8080", true},
		{"http://[::1]:8080", true},
		{"http://localhost:8080", true},
		{"https://LOCALHOST", true},
		{"http://10.0.0.1:8080", false},
		{"http://example.com", false},
		{"http://127.0.0.1.example.com", false},
		{"http://0.0.0.0:8080", false},
		{"http://[::]:8080", false},
		{"http://localhost.evil.example", false},
		{"ftp://127.0.0.1", false},
		{"127.0.0.1:8080", false},
		{"", false},
	} {
		err := checkLoopbackURL("-server", tc.url, "http", "https")
		if (err == nil) != tc.ok {
			t.Errorf("checkLoopbackURL(%q) = %v, want ok=%v", tc.url, err, tc.ok)
		}
	}
}

func TestFlagsRefuseADatabaseElsewhere(t *testing.T) {
	t.Parallel()
	_, err := parseFlags([]string{"-server", "http://127.0.0.1:1", "-database-url", "postgres://u:secret@db.example:5432/x"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "not loopback") {
		t.Fatalf("a remote database was accepted: %v", err)
	}
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("the error shows the password: %v", err)
	}
	cfg, err := parseFlags([]string{"-server", "http://127.0.0.1:1/", "-database-url", "postgres://postgres@127.0.0.1:5432/x?sslmode=disable"}, io.Discard)
	if err != nil || cfg.Server != "http://127.0.0.1:1" {
		t.Fatalf("loopback flags: %+v, %v", cfg, err)
	}
}

func TestClickIDIsReadFromTheImpactSubid(t *testing.T) {
	t.Parallel()
	id, err := clickIDFromLocation(benchTrackingLink + "?subid1=AbC-_123")
	if err != nil || id != "AbC-_123" {
		t.Fatalf("got %q, %v", id, err)
	}
	for _, loc := range []string{benchTrackingLink, benchTrackingLink + "?subid1={gk_click_id}", "https://elsewhere.example/?subid1=x"} {
		if _, err := clickIDFromLocation(loc); err == nil {
			t.Errorf("Location %q gave a click id", loc)
		}
	}
}

func TestSummaryCountsErrorsByOutcomeAndRateOnlyTheAnsweredOnes(t *testing.T) {
	t.Parallel()
	durs := []time.Duration{time.Millisecond, 2 * time.Millisecond, 3 * time.Millisecond, 4 * time.Millisecond, 0}
	outcomes := []string{"", "", "409", "409", ""}
	details := []string{"", "", "budget_total", "budget_total", ""}
	p := summarize(durs, outcomes, details, time.Second)
	if p.Requests != 5 || p.OK != 2 || p.Errors != 3 || p.ErrorsByOutcome["409"] != 2 || p.ErrorsByOutcome["not sent"] != 1 {
		t.Fatalf("summary = %+v", p)
	}
	if p.RPS != 2 || p.MaxMs != 4 || p.P50Ms != 2 {
		t.Errorf("rps %v, p50 %v, max %v; want 2, 2, 4", p.RPS, p.P50Ms, p.MaxMs)
	}
	if len(p.ErrorSamples) != 2 {
		t.Errorf("samples %q, want one per distinct error", p.ErrorSamples)
	}
}

func TestStatusLinesAreParsedInKB(t *testing.T) {
	t.Parallel()
	status := "Name:\tgokart\nVmHWM:\t   81234 kB\nVmRSS:\t   70000 kB\n"
	if kb, err := parseStatusKB(strings.NewReader(status), "VmRSS"); err != nil || kb != 70000 {
		t.Errorf("VmRSS = %d, %v", kb, err)
	}
	if _, err := parseStatusKB(strings.NewReader(status), "VmSwap"); err == nil {
		t.Error("a missing line was read")
	}
}

func TestTargetsCompareWithTheCeilingAndTheSpreadCase(t *testing.T) {
	t.Parallel()
	r := &Report{Concurrency: 32, Ceiling: &Ceiling{PostbackTPS: 1000, ClickTPS: 2000},
		Cases: []CaseReport{
			{Name: "spread", Clicks: Phase{Requests: 1, RPS: 3200, P99Ms: 10}, Postbacks: Phase{Requests: 1, RPS: 1050, P99Ms: 15}},
			{Name: "hot", Clicks: Phase{Requests: 1, RPS: 2800, P99Ms: 10}, Postbacks: Phase{Requests: 1, RPS: 900, P99Ms: 25}},
		},
		ServerVmHWMMB: 90,
		Callbacks:     &Callbacks{Expected: 10, Delivered: 9},
	}
	r.evaluate()
	got := map[string]bool{}
	for _, tg := range r.Targets {
		got[tg.Name] = tg.Pass
	}
	want := map[string]bool{
		"postbacks/s spread / ceiling postback tps": true,  // 1.05
		"postbacks/s hot / spread":                  false, // 0.86
		"clicks/s spread / ceiling click tps":       true,  // 1.6
		"clicks/s hot / ceiling click tps":          false, // 1.4
		"p99 ms hot postbacks at 32 clients":        false, // 25
		"p99 ms spread postbacks at 32 clients":     true,  // 15
		"server peak RSS MB":                        true,  // 90
		"callbacks delivered / accepted postbacks":  false, // 9 of 10
	}
	for name, pass := range want {
		if p, ok := got[name]; !ok || p != pass {
			t.Errorf("target %q: present %v, pass %v; want pass %v", name, ok, p, pass)
		}
	}
}

func TestCallbackLagIsFromTheConversionToTheReceiver(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	rcv := &callbackReceiver{now: func() time.Time { return at }}
	for _, body := range []string{
		`{"type":"CONVERSION_PENDING","data":{"convertedAt":"2026-01-02T03:04:04.990Z"}}`, // 10 ms
		`{"type":"CONVERSION_PENDING","data":{"convertedAt":"2026-01-02T03:04:04.970Z"}}`, // 30 ms
		`not json`, // delivered, lag unknown
	} {
		rec := httptest.NewRecorder()
		rcv.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/callbacks", strings.NewReader(body)))
		if rec.Code != http.StatusNoContent {
			t.Fatalf("receiver answered %d, want 204", rec.Code)
		}
	}
	s := rcv.summary(4, 5*time.Millisecond)
	if s.Delivered != 3 || s.Expected != 4 || s.P50LagMs != 10 || s.P99LagMs != 30 || s.MaxLagMs != 30 || s.DrainMs != 5 {
		t.Errorf("summary %+v; want 3 of 4 delivered, lag p50 10 ms, p99 and max 30 ms", s)
	}
}

func TestCPUTimesAreReadFromProc(t *testing.T) {
	t.Parallel()
	// The command name may hold spaces and parentheses; utime 250 and stime 50 ticks.
	stat := "4242 (gokart (srv) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0 100 0 0"
	if d, err := parseProcStatCPU(stat); err != nil || d != 3*time.Second {
		t.Errorf("server CPU = %v, %v; want 3s", d, err)
	}
	busy, all, err := parseMachineCPU("cpu  100 10 40 800 50 0 0 0 30 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n")
	if err != nil || busy != 150 || all != 1000 {
		t.Errorf("machine CPU busy %d of %d, %v; want 150 of 1000 (guest time is inside user)", busy, all, err)
	}
	c := cpuBetween(cpuSnapshot{machineBusy: 100, machineAll: 1000}, cpuSnapshot{server: time.Second, machineBusy: 600, machineAll: 2000}, 500)
	if c.MachineBusy != 0.5 || c.ServerMsPerRequest != 2 {
		t.Errorf("between: %+v; want half busy and 2 ms of server CPU per request", c)
	}
	// Backend 7 ran 300 ms during the phase, backend 9 appeared and ran 200 ms, backend 8 left.
	c = cpuBetween(cpuSnapshot{backends: map[int]time.Duration{7: time.Second, 8: time.Second}},
		cpuSnapshot{backends: map[int]time.Duration{7: 1300 * time.Millisecond, 9: 200 * time.Millisecond}}, 100)
	if c.DatabaseSeconds != 0.5 || c.DatabaseMsPerRequest != 5 {
		t.Errorf("database CPU: %+v; want 0.5 s, 5 ms per request", c)
	}
}

func TestMeasureCountsWhatItSentAndStopsAtTheLimit(t *testing.T) {
	t.Parallel()
	cfg := config{Concurrency: 4}
	failOdd := func(_ context.Context, i int) (string, string) {
		if i%2 == 1 {
			return "500", "boom"
		}
		return "", ""
	}
	p := measure(context.Background(), cfg, 10, 0, failOdd)
	if p.Planned != 10 || p.Requests != 10 || p.OK != 5 || p.ErrorsByOutcome["500"] != 5 || p.StoppedAtLimit {
		t.Errorf("without a limit: %+v", p)
	}
	slow := func(context.Context, int) (string, string) { time.Sleep(2 * time.Millisecond); return "", "" }
	p = measure(context.Background(), cfg, 100000, 30*time.Millisecond, slow)
	if !p.StoppedAtLimit || p.Requests == 0 || p.Requests >= 100000 || p.Errors != 0 || p.OK != p.Requests {
		t.Errorf("with a 30ms limit: planned %d, sent %d, ok %d, errors %d, stopped %v",
			p.Planned, p.Requests, p.OK, p.Errors, p.StoppedAtLimit)
	}
}

func TestKill9CheckFindsEveryAnswerOrNamesWhatIsLost(t *testing.T) {
	t.Parallel()
	a := kill9Answers{
		Clicks:    []string{"c1", "c2", "c3"},
		Postbacks: []answeredPostback{{"c1", "v1"}, {"c2", "v2"}, {"c3", "v3"}},
	}
	all := checkAnswers(a, map[string]bool{"c1": true, "c2": true, "c3": true, "unanswered": true},
		map[string]string{"v1": "c1", "v2": "c2", "v3": "c3", "v-unanswered": "unanswered"})
	if got, want := all.String(), "kill -9: 3 clicks answered, 3 found; 3 postbacks answered, 3 found; lost 0"; got != want || len(all.Lost) != 0 {
		t.Errorf("everything found: %q (lost %q), want %q", got, all.Lost, want)
	}
	// A click missing, a conversion missing, and one on another click than the postback named.
	some := checkAnswers(a, map[string]bool{"c1": true, "c3": true}, map[string]string{"v1": "c1", "v3": "c2"})
	if some.ClicksFound != 2 || some.PostbacksFound != 1 || len(some.Lost) != 3 ||
		!strings.HasSuffix(some.String(), "lost 3") || some.Lost[0] != "click c2" || some.Lost[1] != "postback v2" ||
		!strings.Contains(some.Lost[2], "v3 (on click c2, want c3)") {
		t.Errorf("with losses: %q, lost %q", some, some.Lost)
	}
}

func TestKill9FlagsNeedTheServersPid(t *testing.T) {
	t.Parallel()
	base := []string{"-server", "http://127.0.0.1:1", "-database-url", "postgres://postgres@127.0.0.1:5432/x"}
	if _, err := parseFlags(append(base, "-kill9", "4s"), io.Discard); err == nil || !strings.Contains(err.Error(), "-server-pid") {
		t.Errorf("-kill9 without -server-pid: %v", err)
	}
	if _, err := parseFlags(append(base, "-kill9", "4s", "-server-pid", "1", "-kill9-check", "f"), io.Discard); err == nil {
		t.Error("-kill9 with -kill9-check in one run was accepted")
	}
	if _, err := parseFlags(append(base, "-pprof", "http://10.0.0.1:6060"), io.Discard); err == nil {
		t.Error("a pprof listener off loopback was accepted")
	}
}

// A feed request is the member's page, asked with the publishable key; a page counts as
// answered only with 200, no errors and 50 cards.
func TestFeedPagesAreCheckedForTheirCards(t *testing.T) {
	t.Parallel()
	card := `{"cursor":"c","node":{"id":"1","clickURL":"https://x.example/click/1?pub_member_id=m"}}`
	answers := map[string]struct {
		status int
		body   string
	}{
		"m0": {200, `{"data":{"offerwall":{"edges":[` + strings.TrimSuffix(strings.Repeat(card+",", 50), ",") + `]}}}`},
		"m1": {200, `{"data":{"offerwall":{"edges":[` + card + `]}}}`},
		"m2": {200, `{"errors":[{"message":"no"}],"data":null}`},
		"m3": {401, `{"errors":[{"message":"who"}]}`},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Query     string `json:"query"`
			Variables struct {
				M     map[string]string `json:"m"`
				N     int               `json:"n"`
				After *string           `json:"after"`
			} `json:"variables"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || r.URL.Path != "/query" ||
			r.Header.Get("Authorization") != "Bearer gk_pub_x" || req.Variables.N != 50 || !strings.Contains(req.Query, "offerwall") {
			http.Error(w, "a request the feed does not send", http.StatusBadRequest)
			return
		}
		member := req.Variables.M["pubMemberID"]
		// Odd requests are DE members asking for a later page.
		if odd := member == "m1" || member == "m3"; odd != (req.Variables.After != nil) || odd != (req.Variables.M["country"] == "DE") {
			http.Error(w, "wrong page or country for "+member, http.StatusBadRequest)
			return
		}
		a := answers[member]
		w.WriteHeader(a.status)
		_, _ = io.WriteString(w, a.body)
	}))
	defer srv.Close()
	ids := make([]int, 300)
	for i := range ids {
		ids[i] = i + 1
	}
	do := feedDoer(srv.Client(), srv.URL, "gk_pub_x", ids)
	for i, want := range []string{"", "200 short page", "200 errors", "401"} {
		if got, detail := do(context.Background(), i); got != want {
			t.Errorf("request %d: outcome %q (%s), want %q", i, got, detail, want)
		}
	}
}

func TestFeedFlagsNeedEnoughOffers(t *testing.T) {
	t.Parallel()
	db := "-database-url=postgres://u@127.0.0.1/db"
	for _, args := range [][]string{{db, "-feed=-1"}, {db, "-feed=10", "-feed-offers=100"}, {db, "-feed=10", "-kill9-check=f"}} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) accepted", args)
		}
	}
	if cfg, err := parseFlags([]string{db, "-feed=10"}, io.Discard); err != nil || cfg.Feed != 10 || cfg.FeedOffers != 10000 {
		t.Errorf("parseFlags(-feed=10) = %+v, %v", cfg, err)
	}
}
