package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
)

// The targets the issue sets for the hot paths (2 cores, PostgreSQL on the same machine).
const (
	minClickRatio    = 1.5 // clicks/s of the ceiling's click tps: batching does less per click
	minPostbackRatio = 1.0 // postbacks/s (spread) of the ceiling's postback tps
	minHotRatio      = 0.9 // hot postbacks/s of the spread case's
	maxP99Ms         = 20.0
	maxServerRSSMB   = 100.0
	// minFlatRatio is the least throughput over a pre-filled account, of the same over an
	// empty one.
	minFlatRatio    = 0.9
	prefilledSuffix = " prefilled"
)

// Report is one benchmark run.
type Report struct {
	Server        string       `json:"server"`
	StartedAt     string       `json:"startedAt"`
	NumCPU        int          `json:"numCPU"`
	Concurrency   int          `json:"concurrency"`
	ClicksPerCase int          `json:"clicksPerCase"`
	OfferType     string       `json:"offerType"`
	Cases         []CaseReport `json:"cases"`
	// PrefillClicks is the history given to the account before the prefilled cases.
	PrefillClicks int      `json:"prefillClicks,omitempty"`
	Ceiling       *Ceiling `json:"ceiling,omitempty"`
	// ServerVmHWMMB is the server's peak resident memory since it started (/proc VmHWM).
	ServerVmHWMMB float64 `json:"serverVmHWMMB,omitempty"`
	// ServerPeakRSSMB is the larger of VmHWM and the peak VmRSS sampled during the phases.
	ServerPeakRSSMB float64 `json:"serverPeakRSSMB,omitempty"`
	// Callbacks is what the tool's receiver got, with -callback-receiver.
	Callbacks *Callbacks `json:"callbacks,omitempty"`
	Ratios    []Ratio    `json:"ratios,omitempty"`
	Targets   []Target   `json:"targets"`
}

// CaseReport is one case: conversions spread over many offers, or all on one hot offer.
type CaseReport struct {
	Name      string `json:"name"`
	Offers    int    `json:"offers"`
	Clicks    Phase  `json:"clicks"`
	Postbacks Phase  `json:"postbacks"`
	// Warmup clicks, and their postbacks, ran before each measured phase; their errors count.
	Warmup             int      `json:"warmup"`
	WarmupErrors       int      `json:"warmupErrors"`
	WarmupErrorSamples []string `json:"warmupErrorSamples,omitempty"`
	// WarmupPostbacksOK is how many warm-up postbacks were accepted (each sends a callback too).
	WarmupPostbacksOK int `json:"warmupPostbacksOK"`
}

// Phase summarizes the requests of one phase. RPS counts the requests answered as expected.
type Phase struct {
	// Planned is how many requests the phase had; Requests how many it sent, fewer when it
	// stopped at its -duration limit.
	Planned         int            `json:"planned"`
	StoppedAtLimit  bool           `json:"stoppedAtLimit,omitempty"`
	Requests        int            `json:"requests"`
	OK              int            `json:"ok"`
	Errors          int            `json:"errors"`
	ErrorsByOutcome map[string]int `json:"errorsByOutcome,omitempty"`
	ErrorSamples    []string       `json:"errorSamples,omitempty"`
	Seconds         float64        `json:"seconds"`
	RPS             float64        `json:"rps"`
	P50Ms           float64        `json:"p50Ms"`
	P99Ms           float64        `json:"p99Ms"`
	MaxMs           float64        `json:"maxMs"`
	PeakRSSMB       float64        `json:"peakRSSMB,omitempty"`
	CPU             CPU            `json:"cpu"`
	// Profile is the file of the server's CPU profile during the phase, with -pprof.
	Profile string `json:"profile,omitempty"`
}

// Ceiling is what pgbench measured for the same SQL work on the same machine.
type Ceiling struct {
	PostbackTPS float64 `json:"postbackTPS"`
	ClickTPS    float64 `json:"clickTPS"`
	Clients     int     `json:"clients"`
}

// Ratio is one throughput compared with another.
type Ratio struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
}

// Target is one of the targets and whether this run met it.
type Target struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Want  string  `json:"want"`
	Pass  bool    `json:"pass"`
}

func (r *Report) caseNamed(name string) *CaseReport {
	for i := range r.Cases {
		if r.Cases[i].Name == name {
			return &r.Cases[i]
		}
	}
	return nil
}

// Errors counts the requests of every phase that were not answered as expected.
func (r *Report) Errors() int {
	n := 0
	for _, c := range r.Cases {
		n += c.Clicks.Errors + c.Postbacks.Errors + c.WarmupErrors
	}
	return n
}

// evaluate fills in the ratios, the peak memory and the targets from the measurements.
func (r *Report) evaluate() {
	spread, hot := r.caseNamed("spread"), r.caseNamed("hot")
	ratio := func(name string, num, den float64) (float64, bool) {
		if num <= 0 || den <= 0 {
			return 0, false
		}
		v := num / den
		r.Ratios = append(r.Ratios, Ratio{Name: name, Value: v})
		return v, true
	}
	atLeast := func(name string, v, want float64) {
		r.Targets = append(r.Targets, Target{Name: name, Value: v, Want: fmt.Sprintf(">= %.2f", want), Pass: v >= want})
	}
	if r.Ceiling != nil && spread != nil {
		if v, ok := ratio("postbacks/s spread / ceiling postback tps", spread.Postbacks.RPS, r.Ceiling.PostbackTPS); ok {
			atLeast("postbacks/s spread / ceiling postback tps", v, minPostbackRatio)
		}
	}
	if r.Ceiling != nil && hot != nil {
		ratio("postbacks/s hot / ceiling postback tps", hot.Postbacks.RPS, r.Ceiling.PostbackTPS)
	}
	if spread != nil && hot != nil {
		if v, ok := ratio("postbacks/s hot / spread", hot.Postbacks.RPS, spread.Postbacks.RPS); ok {
			atLeast("postbacks/s hot / spread", v, minHotRatio)
		}
	}
	if r.Ceiling != nil {
		for _, c := range r.Cases {
			name := "clicks/s " + c.Name + " / ceiling click tps"
			if v, ok := ratio(name, c.Clicks.RPS, r.Ceiling.ClickTPS); ok {
				atLeast(name, v, minClickRatio)
			}
		}
	}
	for _, c := range r.Cases {
		empty := r.caseNamed(strings.TrimSuffix(c.Name, prefilledSuffix))
		if empty == nil || c.Name == empty.Name {
			continue
		}
		for _, ph := range []struct {
			name      string
			full, bar float64
		}{{"postbacks/s", c.Postbacks.RPS, empty.Postbacks.RPS}, {"clicks/s", c.Clicks.RPS, empty.Clicks.RPS}} {
			name := fmt.Sprintf("%s %s / %s", ph.name, c.Name, empty.Name)
			if v, ok := ratio(name, ph.full, ph.bar); ok {
				r.Targets = append(r.Targets, Target{Name: name, Value: v, Want: fmt.Sprintf(">= %.2f", minFlatRatio), Pass: v >= minFlatRatio})
			}
		}
	}
	for _, c := range r.Cases {
		for _, ph := range []struct {
			name string
			p    Phase
		}{{"clicks", c.Clicks}, {"postbacks", c.Postbacks}} {
			if ph.p.Requests == 0 {
				continue
			}
			r.Targets = append(r.Targets, Target{
				Name: fmt.Sprintf("p99 ms %s %s at %d clients", c.Name, ph.name, r.Concurrency), Value: ph.p.P99Ms,
				Want: fmt.Sprintf("< %.0f", maxP99Ms), Pass: ph.p.P99Ms < maxP99Ms,
			})
			r.ServerPeakRSSMB = max(r.ServerPeakRSSMB, ph.p.PeakRSSMB)
		}
	}
	r.ServerPeakRSSMB = max(r.ServerPeakRSSMB, r.ServerVmHWMMB)
	if r.ServerPeakRSSMB > 0 {
		r.Targets = append(r.Targets, Target{Name: "server peak RSS MB", Value: r.ServerPeakRSSMB,
			Want: fmt.Sprintf("< %.0f", maxServerRSSMB), Pass: r.ServerPeakRSSMB < maxServerRSSMB})
	}
	if cb := r.Callbacks; cb != nil {
		r.Targets = append(r.Targets, Target{Name: "callbacks delivered / accepted postbacks", Value: float64(cb.Delivered),
			Want: fmt.Sprintf("= %d", cb.Expected), Pass: cb.Delivered == cb.Expected})
	}
	for _, c := range r.Cases {
		errs := c.Clicks.Errors + c.Postbacks.Errors + c.WarmupErrors
		r.Targets = append(r.Targets, Target{Name: "failed requests " + c.Name, Value: float64(errs), Want: "= 0", Pass: errs == 0})
	}
}

// WriteText prints the report as tables for a terminal.
func (r *Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "gokart-bench against %s: %d concurrent clients, %d clicks per case, %s-event offers, %d CPUs\n\n",
		r.Server, r.Concurrency, r.ClicksPerCase, r.OfferType, r.NumCPU)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "case\toffers\tphase\trequests\terrors\treq/s\tp50 ms\tp99 ms\tmax ms\tpeak RSS MB\tserver CPU µs/req\tdb CPU µs/req\tmachine busy\ttool CPU s\t")
	for _, c := range r.Cases {
		for _, ph := range []struct {
			name string
			p    Phase
		}{{"clicks", c.Clicks}, {"postbacks", c.Postbacks}} {
			rss := "-"
			if ph.p.PeakRSSMB > 0 {
				rss = fmt.Sprintf("%.1f", ph.p.PeakRSSMB)
			}
			srvCPU := "-"
			if ph.p.CPU.ServerMsPerRequest > 0 {
				srvCPU = fmt.Sprintf("%.0f", 1000*ph.p.CPU.ServerMsPerRequest)
			}
			dbCPU := "-"
			if ph.p.CPU.DatabaseMsPerRequest > 0 {
				dbCPU = fmt.Sprintf("%.0f", 1000*ph.p.CPU.DatabaseMsPerRequest)
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%d\t%.0f\t%.2f\t%.2f\t%.2f\t%s\t%s\t%s\t%.0f%%\t%.1f\t\n", c.Name, c.Offers, ph.name,
				ph.p.Requests, ph.p.Errors, ph.p.RPS, ph.p.P50Ms, ph.p.P99Ms, ph.p.MaxMs, rss,
				srvCPU, dbCPU, 100*ph.p.CPU.MachineBusy, ph.p.CPU.ClientSeconds)
		}
	}
	tw.Flush()
	for _, c := range r.Cases {
		for _, ph := range []struct {
			name string
			p    Phase
		}{{"clicks", c.Clicks}, {"postbacks", c.Postbacks}} {
			if ph.p.StoppedAtLimit {
				fmt.Fprintf(w, "(%s %s stopped at the -duration limit after %d of %d requests)\n", c.Name, ph.name, ph.p.Requests, ph.p.Planned)
			}
		}
	}

	for _, c := range r.Cases {
		if c.WarmupErrors > 0 {
			fmt.Fprintf(w, "\n%s warm-up: %d requests failed:\n", c.Name, c.WarmupErrors)
			for _, s := range c.WarmupErrorSamples {
				fmt.Fprintf(w, "  e.g. %s\n", s)
			}
		}
		for _, ph := range []struct {
			name string
			p    Phase
		}{{"clicks", c.Clicks}, {"postbacks", c.Postbacks}} {
			if ph.p.Errors == 0 {
				continue
			}
			fmt.Fprintf(w, "\n%s %s: %d of %d requests failed:\n", c.Name, ph.name, ph.p.Errors, ph.p.Requests)
			for _, k := range slices.Sorted(maps.Keys(ph.p.ErrorsByOutcome)) {
				fmt.Fprintf(w, "  %-20s %d\n", k, ph.p.ErrorsByOutcome[k])
			}
			for _, s := range ph.p.ErrorSamples {
				fmt.Fprintf(w, "  e.g. %s\n", s)
			}
		}
	}

	fmt.Fprintln(w)
	if r.Ceiling != nil {
		fmt.Fprintf(w, "database ceiling (pgbench, %d clients): postback %.0f tps, click %.0f tps\n",
			r.Ceiling.Clients, r.Ceiling.PostbackTPS, r.Ceiling.ClickTPS)
	} else {
		fmt.Fprintln(w, "database ceiling: NOT MEASURED (no -ceiling-*-tps given): ratios to the ceiling are missing")
	}
	if r.ServerPeakRSSMB > 0 {
		fmt.Fprintf(w, "server peak RSS: %.1f MB (VmHWM %.1f MB)\n", r.ServerPeakRSSMB, r.ServerVmHWMMB)
	}
	if cb := r.Callbacks; cb != nil {
		fmt.Fprintf(w, "callbacks: %d delivered of %d expected (one per accepted postback, warm-up included); lag from conversion to receiver p50 %.1f ms, p99 %.1f ms, max %.1f ms; last one %.0f ms after the load\n",
			cb.Delivered, cb.Expected, cb.P50LagMs, cb.P99LagMs, cb.MaxLagMs, cb.DrainMs)
	}
	if len(r.Ratios) > 0 {
		fmt.Fprintln(w, "\nratios:")
		for _, x := range r.Ratios {
			fmt.Fprintf(w, "  %-45s %.2f\n", x.Name, x.Value)
		}
	}
	writeTargets(w, r.Targets)
}

// writeTargets prints each target with its value and PASS or FAIL.
func writeTargets(w io.Writer, targets []Target) {
	fmt.Fprintln(w, "\ntargets:")
	for _, t := range targets {
		mark := "PASS"
		if !t.Pass {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  %-45s %10s  want %-7s %s\n", t.Name, formatValue(t.Value), t.Want, mark)
	}
}

func formatValue(v float64) string { return fmt.Sprintf("%.2f", v) }
