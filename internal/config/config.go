// Package config reads the server's settings from the environment, with a matching flag for
// each variable; a flag wins over its variable.
package config

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Config is everything the server needs to start.
type Config struct {
	DatabaseURL   string
	Addr          string
	BaseURL       string
	LogLevel      slog.Level
	Introspection bool
	Playground    bool
	// ComplexityLimit caps the cost of one GraphQL operation.
	ComplexityLimit int
	// StatsInterval is how often the report aggregator runs; 0 turns it off.
	StatsInterval time.Duration
	// StatsLag is how far the aggregator trails the clock: hot-path transactions must commit
	// within it.
	StatsLag time.Duration
	// TrustedProxies are load balancers whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// Dev fills a demo account's API key into the playground, for local development only.
	Dev bool
	// MetricsToken, when set, is the bearer token GET /metrics asks for.
	MetricsToken string
	// GraphQLTimeout and TrackingTimeout are the deadlines of a GraphQL request and of a click
	// or postback: past them the request answers 503 and its database work is cancelled.
	GraphQLTimeout, TrackingTimeout time.Duration
	// StatementTimeout is PostgreSQL's statement_timeout for every session; 0 leaves the
	// server's own.
	StatementTimeout time.Duration
	// ClickLimit and FailedPostbackLimit bound, per source address and per replica, clicks and
	// postbacks that fail (bad key, unknown click); a zero Limit is off.
	ClickLimit, FailedPostbackLimit Limit
	// PostbackLogRetention is how long postback log rows are kept; 0 keeps them forever.
	PostbackLogRetention time.Duration
	// MatureInterval is how often PENDING conversions past their autoApproveAfter are approved;
	// 0 turns the job off.
	MatureInterval time.Duration
	// CallbacksAllowPrivate lets callbacks reach loopback and private addresses (development).
	CallbacksAllowPrivate bool
	// CallbackWorkers is how many callback workers this replica runs; they claim disjoint
	// batches, so more of them keep the outbox up with more conversions per second.
	CallbackWorkers int
	// OfferwallCatalog is how many offers the offerwall feed keeps in memory, all accounts
	// together; 0 keeps none (every page reads the database).
	OfferwallCatalog int
	// PprofAddr, when set, is a loopback address that serves net/http/pprof (profiling); unset,
	// nothing listens.
	PprofAddr string
}

// Limit is a rate: Events per Per, with bursts of up to Events at once. The zero Limit is off.
type Limit struct {
	Events int
	Per    time.Duration
}

// Off reports whether the limit is turned off.
func (l Limit) Off() bool { return l.Events <= 0 || l.Per <= 0 }

// ParseLimit reads "600/m" (per second s, minute m or hour h); "0" is off.
func ParseLimit(s string) (Limit, error) {
	s = strings.TrimSpace(s)
	if s == "0" || s == "" {
		return Limit{}, nil
	}
	n, unit, ok := strings.Cut(s, "/")
	per := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour}[unit]
	events, err := strconv.Atoi(n)
	if !ok || per == 0 || err != nil || events < 0 {
		return Limit{}, fmt.Errorf("want a rate such as 600/m (per s, m or h) or 0, got %q", s)
	}
	return Limit{Events: events, Per: per}, nil
}

// ParseRetention reads a duration that may be given in days ("90d"); "0" is off.
func ParseRetention(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("want a duration such as 90d, 720h or 0, got %q", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("want a duration such as 90d, 720h or 0, got %q", s)
	}
	return v, nil
}

// setting is one row of the configuration table: a variable, its flag and its default.
type setting struct {
	env, flag, def, usage string
}

// Settings is the configuration table, as the README shows it.
var Settings = []setting{
	{"DATABASE_URL", "database-url", "", "postgres://… for PostgreSQL; unset for the SQLite file gokart.db"},
	{"ADDR", "addr", ":8080", "address to listen on"},
	{"BASE_URL", "base-url", "http://localhost:8080", "public URL of this server, used in the click and postback URLs handed out"},
	{"LOG_LEVEL", "log-level", "info", "debug, info, warn or error"},
	{"INTROSPECTION", "introspection", "true", "allow GraphQL introspection (still needs an API key)"},
	{"PLAYGROUND", "playground", "true", "serve the GraphQL playground at /"},
	{"COMPLEXITY_LIMIT", "complexity-limit", "5000", "most complexity points one GraphQL operation may cost"},
	{"STATS_INTERVAL", "stats-interval", "20s", "how often report rollups are computed; 0 turns the aggregator off (e.g. on all but one replica)"},
	{"STATS_LAG", "stats-lag", "2m", "how far report rollups trail the clock; must exceed the longest click or postback transaction"},
	{"TRUSTED_PROXIES", "trusted-proxies", "", "comma-separated CIDRs of load balancers whose X-Forwarded-For names the client (for click IPs and the postback allowlist)"},
	{"METRICS_TOKEN", "metrics-token", "", "bearer token that GET /metrics asks for; unset, the metrics are public"},
	{"GRAPHQL_TIMEOUT", "graphql-timeout", "10s", "deadline of a GraphQL request: past it the request answers 503 and its database work is cancelled"},
	{"TRACKING_TIMEOUT", "tracking-timeout", "5s", "deadline of a click or postback: past it the request answers 503 (the network retries a postback)"},
	{"DB_STATEMENT_TIMEOUT", "db-statement-timeout", "30s", "PostgreSQL statement_timeout of every session; 0 leaves the server's setting"},
	{"CLICK_RATE_LIMIT", "click-rate-limit", "600/m", "clicks per source address and replica (bursts up to the count), then 429; 0 turns it off"},
	{"POSTBACK_FAILURE_LIMIT", "postback-failure-limit", "60/m", "failed postbacks (bad key, unknown click) per source address and replica, then 429 without a log row; 0 turns it off"},
	{"POSTBACK_LOG_RETENTION", "postback-log-retention", "90d", "how long postback log rows are kept, deleted in small batches in the background; 0 keeps them forever"},
	{"MATURE_INTERVAL", "mature-interval", "1m", "how often PENDING conversions older than their offer's (or account's) autoApproveAfter are approved (safe on every replica); 0 turns maturing off"},
	{"DEV", "dev", "false", "local development: load the demo account, fill a fresh API key for it into the playground, and listen on 127.0.0.1:8080 unless ADDR or --addr is set"},
	{"CALLBACKS_ALLOW_PRIVATE", "callbacks-allow-private", "false", "let reward callbacks reach loopback, private and link-local addresses (development and tests only)"},
	{"CALLBACK_WORKERS", "callback-workers", "4", "callback workers per replica, each claiming its own batch of due deliveries (SQLite: 1 whatever is set, its single writer gains nothing)"},
	{"OFFERWALL_CATALOG_OFFERS", "offerwall-catalog-offers", "100000", "offers the offerwall feed keeps in memory, all accounts together (an account with more than a quarter of it is read from the database on every page); 0 keeps none"},
	{"PPROF_ADDR", "pprof-addr", "", "loopback address (e.g. 127.0.0.1:6060) for Go's /debug/pprof profiles; unset, none are served"},
}

// DevAddr is where --dev listens unless ADDR or --addr says otherwise: the playground page of
// a dev server carries a live API key, so it stays on the loopback interface.
const DevAddr = "127.0.0.1:8080"

// Load reads the environment through getenv, then the flags in args. A flag's type follows its
// default (true/false: a switch; an integer: int; a duration such as 20s: duration), so help
// shows it and a bad value fails with the flag's name.
func Load(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	fs := flag.NewFlagSet("gokart serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	vals := map[string]*string{}
	for _, s := range Settings {
		def := s.def
		if v := getenv(s.env); v != "" {
			def = v
		}
		vals[s.env] = &def
		fs.Var(&typedValue{s: vals[s.env], kind: kindOf(s.def)}, s.flag, s.usage+" ($"+s.env+")")
	}
	fs.Usage = func() { PrintUsage(fs.Output()) }
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	addrGiven := getenv("ADDR") != ""
	fs.Visit(func(f *flag.Flag) { addrGiven = addrGiven || f.Name == "addr" })
	c := Config{
		DatabaseURL:  *vals["DATABASE_URL"],
		Addr:         *vals["ADDR"],
		BaseURL:      strings.TrimRight(*vals["BASE_URL"], "/"),
		MetricsToken: *vals["METRICS_TOKEN"],
		PprofAddr:    *vals["PPROF_ADDR"],
	}
	if err := c.LogLevel.UnmarshalText([]byte(*vals["LOG_LEVEL"])); err != nil {
		return Config{}, fmt.Errorf("LOG_LEVEL: %w", err)
	}
	var err error
	if c.Introspection, err = strconv.ParseBool(*vals["INTROSPECTION"]); err != nil {
		return Config{}, fmt.Errorf("INTROSPECTION: %w", err)
	}
	if c.Playground, err = strconv.ParseBool(*vals["PLAYGROUND"]); err != nil {
		return Config{}, fmt.Errorf("PLAYGROUND: %w", err)
	}
	if c.Dev, err = strconv.ParseBool(*vals["DEV"]); err != nil {
		return Config{}, fmt.Errorf("DEV: %w", err)
	}
	if c.Dev && !addrGiven {
		c.Addr = DevAddr
	}
	if c.CallbacksAllowPrivate, err = strconv.ParseBool(*vals["CALLBACKS_ALLOW_PRIVATE"]); err != nil {
		return Config{}, fmt.Errorf("CALLBACKS_ALLOW_PRIVATE: %w", err)
	}
	if c.StatsInterval, err = time.ParseDuration(*vals["STATS_INTERVAL"]); err != nil || c.StatsInterval < 0 {
		return Config{}, fmt.Errorf("STATS_INTERVAL: want a duration such as 20s, got %q", *vals["STATS_INTERVAL"])
	}
	if c.MatureInterval, err = time.ParseDuration(*vals["MATURE_INTERVAL"]); err != nil || c.MatureInterval < 0 {
		return Config{}, fmt.Errorf("MATURE_INTERVAL: want a duration such as 1m, or 0 for off, got %q", *vals["MATURE_INTERVAL"])
	}
	if c.StatsLag, err = time.ParseDuration(*vals["STATS_LAG"]); err != nil || c.StatsLag < 0 {
		return Config{}, fmt.Errorf("STATS_LAG: want a duration such as 2m, got %q", *vals["STATS_LAG"])
	}
	for env, d := range map[string]*time.Duration{"GRAPHQL_TIMEOUT": &c.GraphQLTimeout, "TRACKING_TIMEOUT": &c.TrackingTimeout, "DB_STATEMENT_TIMEOUT": &c.StatementTimeout} {
		if *d, err = time.ParseDuration(*vals[env]); err != nil || *d < 0 || (*d == 0 && env != "DB_STATEMENT_TIMEOUT") {
			return Config{}, fmt.Errorf("%s: want a positive duration such as 5s, got %q", env, *vals[env])
		}
	}
	if c.ClickLimit, err = ParseLimit(*vals["CLICK_RATE_LIMIT"]); err != nil {
		return Config{}, fmt.Errorf("CLICK_RATE_LIMIT: %w", err)
	}
	if c.FailedPostbackLimit, err = ParseLimit(*vals["POSTBACK_FAILURE_LIMIT"]); err != nil {
		return Config{}, fmt.Errorf("POSTBACK_FAILURE_LIMIT: %w", err)
	}
	if c.PostbackLogRetention, err = ParseRetention(*vals["POSTBACK_LOG_RETENTION"]); err != nil {
		return Config{}, fmt.Errorf("POSTBACK_LOG_RETENTION: %w", err)
	}
	for _, cidr := range strings.Split(*vals["TRUSTED_PROXIES"], ",") {
		if cidr = strings.TrimSpace(cidr); cidr == "" {
			continue
		}
		p, err := netip.ParsePrefix(cidr)
		if err != nil {
			return Config{}, fmt.Errorf("TRUSTED_PROXIES: %q is not a CIDR such as 10.0.0.0/8", cidr)
		}
		c.TrustedProxies = append(c.TrustedProxies, p.Masked())
	}
	if c.CallbackWorkers, err = strconv.Atoi(*vals["CALLBACK_WORKERS"]); err != nil || c.CallbackWorkers < 1 || c.CallbackWorkers > 64 {
		return Config{}, fmt.Errorf("CALLBACK_WORKERS: want a number from 1 to 64, got %q", *vals["CALLBACK_WORKERS"])
	}
	if c.OfferwallCatalog, err = strconv.Atoi(*vals["OFFERWALL_CATALOG_OFFERS"]); err != nil || c.OfferwallCatalog < 0 {
		return Config{}, fmt.Errorf("OFFERWALL_CATALOG_OFFERS: want 0 or a positive number of offers, got %q", *vals["OFFERWALL_CATALOG_OFFERS"])
	}
	if c.ComplexityLimit, err = strconv.Atoi(*vals["COMPLEXITY_LIMIT"]); err != nil || c.ComplexityLimit < 1 {
		return Config{}, fmt.Errorf("COMPLEXITY_LIMIT: want a positive integer, got %q", *vals["COMPLEXITY_LIMIT"])
	}
	if c.PprofAddr != "" && !loopbackAddr(c.PprofAddr) {
		// Profiles show the code's insides and cost CPU: never on a reachable interface.
		return Config{}, fmt.Errorf("PPROF_ADDR: want a loopback host:port such as 127.0.0.1:6060, got %q", c.PprofAddr)
	}
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Config{}, fmt.Errorf("BASE_URL: want an absolute http(s) URL, got %q", c.BaseURL)
	}
	return c, nil
}

// loopbackAddr reports whether addr is host:port with a loopback IP or localhost as host.
func loopbackAddr(addr string) bool {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// kindOf names a setting's type after its default: "bool", "int", "duration" or "string".
func kindOf(def string) string {
	if def == "true" || def == "false" {
		return "bool"
	}
	if _, err := strconv.Atoi(def); err == nil {
		return "int"
	}
	if _, err := time.ParseDuration(def); err == nil {
		return "duration"
	}
	return "string"
}

// typedValue is a setting's flag: it keeps the text (Load parses it once, whether it came from
// the environment or the flag) but refuses, as it is set, text that is not of its kind.
type typedValue struct {
	s    *string
	kind string
}

func (v *typedValue) String() string {
	if v.s == nil {
		return ""
	}
	return *v.s
}

func (v *typedValue) Set(x string) error {
	var err error
	switch v.kind {
	case "bool":
		var b bool
		if b, err = strconv.ParseBool(x); err == nil {
			x = strconv.FormatBool(b)
		}
	case "int":
		_, err = strconv.Atoi(x)
	case "duration":
		_, err = time.ParseDuration(x)
	}
	if err != nil {
		return fmt.Errorf("want a %s, got %q", v.kind, x)
	}
	*v.s = x
	return nil
}

// IsBoolFlag lets a switch be given bare: --dev means --dev=true.
func (v *typedValue) IsBoolFlag() bool { return v.kind == "bool" }

// PrintUsage writes serve's flags with their types, variables and defaults.
func PrintUsage(w io.Writer) {
	fmt.Fprint(w, "Usage: gokart [serve] [flags]\n\nRun the server (it migrates its database first). Every flag has an environment variable;\na flag wins over its variable.\n\nFlags:\n")
	for _, s := range Settings {
		name := "--" + s.flag
		if k := kindOf(s.def); k != "bool" {
			name += " " + k
		}
		def := ""
		if s.def != "" && s.def != "false" {
			def = ", default " + s.def
		}
		fmt.Fprintf(w, "  %-28s %s ($%s%s)\n", name, s.usage, s.env, def)
	}
}
