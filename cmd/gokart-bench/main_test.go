package main

import (
	"context"
	"io"
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
			{Name: "spread", Clicks: Phase{Requests: 1, RPS: 1600, P99Ms: 10}, Postbacks: Phase{Requests: 1, RPS: 800, P99Ms: 20}},
			{Name: "hot", Clicks: Phase{Requests: 1, RPS: 1400, P99Ms: 10}, Postbacks: Phase{Requests: 1, RPS: 400, P99Ms: 60}},
		},
		ServerVmHWMMB: 90,
	}
	r.evaluate()
	got := map[string]bool{}
	for _, tg := range r.Targets {
		got[tg.Name] = tg.Pass
	}
	want := map[string]bool{
		"postbacks/s spread / ceiling postback tps": true,  // 0.8
		"postbacks/s hot / spread":                  false, // 0.5
		"clicks/s spread / ceiling click tps":       true,  // 0.8
		"clicks/s hot / ceiling click tps":          false, // 0.7
		"p99 ms hot postbacks at 32 clients":        false,
		"p99 ms spread postbacks at 32 clients":     true,
		"server peak RSS MB":                        true,
	}
	for name, pass := range want {
		if p, ok := got[name]; !ok || p != pass {
			t.Errorf("target %q: present %v, pass %v; want pass %v", name, ok, p, pass)
		}
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
