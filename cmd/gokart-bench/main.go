// Command gokart-bench is a load generator for gokart's hot paths. Against a running server on
// PostgreSQL it creates an account (directly in the database) and offers (through the GraphQL
// wizard), mints clicks through GET /click/{offer}, then converts each click once through
// GET /postback, at a chosen concurrency. It prints requests/s, p50, p99 and max for both
// phases, for conversions spread over many offers and for all of them on one hot offer, and,
// given the database ceiling measured by pgbench on the same machine, the ratios to it.
//
// It only ever talks to a server and a database on the loopback interface.
//
//	go run ./cmd/gokart-bench -server http://127.0.0.1:18080 \
//	  -database-url 'postgres://postgres@127.0.0.1:5432/gokart_bench?sslmode=disable'
//
// cmd/gokart-bench/run.sh does the whole thing in one go: server, fresh database, ceiling and both cases.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"time"
)

// config is what the flags say.
type config struct {
	Server       string
	DatabaseURL  string
	Offers       int
	Clicks       int
	Concurrency  int
	Warmup       int
	Duration     time.Duration
	Case         string
	OfferType    string
	JSON         bool
	ServerPID    int
	Timeout      time.Duration
	CeilingPB    float64
	CeilingClick float64
	// PrefillClicks, when set, runs the cases again after giving the account this many
	// clicks and half as many conversions of history.
	PrefillClicks int
	// CallbackReceiver registers an account-wide JSON callback endpoint on a receiver the tool
	// runs on 127.0.0.1, so the postbacks are measured with the callback outbox and worker busy.
	CallbackReceiver bool
	// PprofURL is the server's PPROF_ADDR as a URL; with it, each measured phase of the
	// cases on an empty account is profiled into ProfileDir.
	PprofURL       string
	ProfileDir     string
	ProfileSeconds int
	// Kill9 is the kill -9 phase's length (load, then kill -9 of -server-pid halfway); the
	// answered clicks and postbacks are written to Kill9File. Kill9Check reads that file and
	// looks for every one of them in the database.
	Kill9      time.Duration
	Kill9File  string
	Kill9Check string
	// Feed, when set, replaces the cases: this many offerwall feed pages from an account of
	// FeedOffers offers (feedBench).
	Feed       int
	FeedOffers int
	// backends lists the database's backends, for their CPU time per phase (set by bench).
	backends backendPIDs
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// Exit codes: 0 every request answered as expected; 1 set-up failed; 2 bad flags; 3 the load
// ran but some requests failed (they are listed by status); 4 (-kill9-check) an answered click
// or postback is not in the database.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "gokart-bench:", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()

	logf := func(format string, a ...any) { fmt.Fprintf(stderr, "gokart-bench: "+format+"\n", a...) }
	switch {
	case cfg.Kill9 > 0:
		if err := kill9Load(ctx, cfg, logf); err != nil {
			fmt.Fprintln(stderr, "gokart-bench: kill -9 phase:", err)
			return 1
		}
		return 0
	case cfg.Kill9Check != "":
		res, err := kill9Check(ctx, cfg)
		if err != nil {
			fmt.Fprintln(stderr, "gokart-bench: kill -9 check:", err)
			return 1
		}
		fmt.Fprintln(stdout, res)
		for i, l := range res.Lost {
			if i == 10 {
				fmt.Fprintf(stdout, "  … and %d more\n", len(res.Lost)-i)
				break
			}
			fmt.Fprintln(stdout, "  lost:", l)
		}
		if len(res.Lost) > 0 {
			return 4
		}
		if res.ClicksAnswered == 0 || res.PostbacksAnswered == 0 {
			fmt.Fprintln(stderr, "gokart-bench: kill -9 check: nothing was answered before the kill, so nothing was checked")
			return 1
		}
		return 0
	}
	if cfg.Feed > 0 {
		rep, err := feedBench(ctx, cfg, logf)
		if err != nil {
			fmt.Fprintln(stderr, "gokart-bench: feed:", err)
			return 1
		}
		return finish(stdout, stderr, cfg.JSON, rep)
	}
	rep, err := bench(ctx, cfg, logf)
	if err != nil {
		fmt.Fprintln(stderr, "gokart-bench:", err)
		return 1
	}
	return finish(stdout, stderr, cfg.JSON, rep)
}

// report is a run's report: the cases' (Report) or the feed's (FeedReport).
type report interface {
	WriteText(io.Writer)
	Errors() int
}

// finish prints rep as indented JSON or as text and returns the exit code: 1 when it could not
// print, 3 when some requests failed, 0 otherwise.
func finish(stdout, stderr io.Writer, asJSON bool, rep report) int {
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintln(stderr, "gokart-bench:", err)
			return 1
		}
	} else {
		rep.WriteText(stdout)
	}
	if rep.Errors() > 0 {
		return 3
	}
	return 0
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("gokart-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.Server, "server", "http://127.0.0.1:8080", "the running gokart server (loopback only)")
	fs.StringVar(&cfg.DatabaseURL, "database-url", os.Getenv("DATABASE_URL"), "the server's PostgreSQL, to create the bench account in (loopback only; $DATABASE_URL)")
	fs.IntVar(&cfg.Offers, "offers", 100, "offers the spread case's conversions are spread over")
	fs.IntVar(&cfg.Clicks, "clicks", 20000, "clicks minted per case; each converts once")
	fs.IntVar(&cfg.Concurrency, "concurrency", 32, "concurrent clients")
	fs.IntVar(&cfg.Warmup, "warmup", 256, "unmeasured clicks, and postbacks, before each case's measured ones")
	fs.DurationVar(&cfg.Duration, "duration", 0, "most time per measured phase, e.g. 30s; 0 runs every request (-clicks)")
	fs.StringVar(&cfg.Case, "case", "both", "spread, hot or both")
	fs.StringVar(&cfg.OfferType, "offer-type", "multi", `offer type: multi (events "Sign Up" and "Purchase") or single`)
	fs.BoolVar(&cfg.JSON, "json", false, "print the report as JSON")
	fs.IntVar(&cfg.ServerPID, "server-pid", 0, "the server's process id, to sample its resident memory from /proc")
	fs.DurationVar(&cfg.Timeout, "timeout", 10*time.Minute, "give up after this long")
	fs.Float64Var(&cfg.CeilingPB, "ceiling-postback-tps", 0, "pgbench's postback tps on this machine, for the ratios")
	fs.Float64Var(&cfg.CeilingClick, "ceiling-click-tps", 0, "pgbench's click tps on this machine, for the ratios")
	fs.IntVar(&cfg.PrefillClicks, "prefill-clicks", 0, "after the cases, give the account this many clicks (and half as many conversions) of history and run the cases again")
	fs.BoolVar(&cfg.CallbackReceiver, "callback-receiver", false, "register an account-wide JSON callback endpoint on a receiver run by the tool on 127.0.0.1 (the server needs CALLBACKS_ALLOW_PRIVATE=true)")
	fs.StringVar(&cfg.PprofURL, "pprof", "", "the server's pprof listener (PPROF_ADDR), e.g. http://127.0.0.1:6060: profile each measured phase (loopback only)")
	fs.StringVar(&cfg.ProfileDir, "profile-dir", ".", "where the -pprof profiles are saved, as <phase>-<case>.pprof")
	fs.IntVar(&cfg.ProfileSeconds, "profile-seconds", 5, "length of each phase's CPU profile, from the phase's start")
	fs.DurationVar(&cfg.Kill9, "kill9", 0, "instead of the cases: clicks and postbacks for this long, kill -9 of -server-pid halfway, answers written to -kill9-file")
	fs.StringVar(&cfg.Kill9File, "kill9-file", "kill9.json", "where -kill9 writes the clicks and postbacks that were answered")
	fs.StringVar(&cfg.Kill9Check, "kill9-check", "", "instead of the cases: look up every answer in this -kill9 file in the database and report what is lost")
	fs.IntVar(&cfg.Feed, "feed", 0, "instead of the cases: this many offerwall feed pages of 50 cards at -concurrency clients (and a tenth as many at one), from a new account of -feed-offers offers")
	fs.IntVar(&cfg.FeedOffers, "feed-offers", 10000, "offers of the -feed account")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	cfg.Server = strings.TrimRight(cfg.Server, "/")
	if err := checkLoopbackURL("-server", cfg.Server, "http", "https"); err != nil {
		return cfg, err
	}
	if cfg.DatabaseURL == "" {
		return cfg, errors.New("-database-url is required: the bench account is created in the server's database")
	}
	if err := checkLoopbackURL("-database-url", cfg.DatabaseURL, "postgres", "postgresql"); err != nil {
		return cfg, err
	}
	if cfg.PprofURL != "" {
		cfg.PprofURL = strings.TrimRight(cfg.PprofURL, "/")
		if err := checkLoopbackURL("-pprof", cfg.PprofURL, "http"); err != nil {
			return cfg, err
		}
	}
	switch {
	case cfg.Kill9 < 0:
		return cfg, errors.New("-kill9 must not be negative")
	case cfg.Kill9 > 0 && cfg.ServerPID <= 0:
		return cfg, errors.New("-kill9 needs -server-pid: the process it kills")
	case cfg.Kill9 > 0 && cfg.Kill9Check != "":
		return cfg, errors.New("-kill9 and -kill9-check are separate runs: the server is restarted between them")
	case cfg.Feed < 0:
		return cfg, errors.New("-feed must not be negative")
	case cfg.Feed > 0 && (cfg.Kill9 > 0 || cfg.Kill9Check != ""):
		return cfg, errors.New("-feed and the kill -9 phase are separate runs")
	case cfg.Feed > 0 && cfg.FeedOffers < feedPageSize+200:
		return cfg, fmt.Errorf("-feed-offers must be at least %d: a page of %d cards after any offer but the last 200", feedPageSize+200, feedPageSize)
	case cfg.ProfileSeconds < 1:
		return cfg, errors.New("-profile-seconds must be at least 1")
	case cfg.Offers < 1:
		return cfg, errors.New("-offers must be at least 1")
	case cfg.Clicks < 1:
		return cfg, errors.New("-clicks must be at least 1")
	case cfg.Warmup < 0:
		return cfg, errors.New("-warmup must not be negative")
	case cfg.Concurrency < 1:
		return cfg, errors.New("-concurrency must be at least 1")
	case cfg.Case != "spread" && cfg.Case != "hot" && cfg.Case != "both":
		return cfg, fmt.Errorf("-case %q: want spread, hot or both", cfg.Case)
	case cfg.OfferType != "multi" && cfg.OfferType != "single":
		return cfg, fmt.Errorf("-offer-type %q: want multi or single", cfg.OfferType)
	case cfg.Duration < 0:
		return cfg, errors.New("-duration must not be negative")
	case cfg.PrefillClicks < 0:
		return cfg, errors.New("-prefill-clicks must not be negative")
	case cfg.Timeout <= 0:
		return cfg, errors.New("-timeout must be positive")
	}
	return cfg, nil
}

// checkLoopbackURL refuses a URL whose host is not on this machine's loopback interface: the
// tool floods what it is pointed at and creates accounts and offers there.
func checkLoopbackURL(flagName, raw string, schemes ...string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", flagName, err)
	}
	okScheme := false
	for _, s := range schemes {
		okScheme = okScheme || u.Scheme == s
	}
	if !okScheme {
		return fmt.Errorf("%s %q: want a %s URL", flagName, redact(raw), strings.Join(schemes, " or "))
	}
	if !isLoopbackHost(u.Hostname()) {
		return fmt.Errorf("%s %q: host %q is not loopback; gokart-bench only targets this machine (127.0.0.1, ::1 or localhost)",
			flagName, redact(raw), u.Hostname())
	}
	return nil
}

// isLoopbackHost accepts loopback IP literals and the name localhost, nothing that needs DNS.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// redact hides a password in a URL for messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxx")
	}
	return u.String()
}
