// Package config reads the server's settings from the environment, with a matching flag for
// each variable; a flag wins over its variable.
package config

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
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
	// CallbacksAllowPrivate lets callbacks reach loopback and private addresses (development).
	CallbacksAllowPrivate bool
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
	{"DEV", "dev", "false", "local development: load the demo account and fill a fresh API key for it into the playground"},
	{"CALLBACKS_ALLOW_PRIVATE", "callbacks-allow-private", "false", "let reward callbacks reach loopback, private and link-local addresses (development and tests only)"},
}

// Load reads the environment through getenv, then the flags in args.
func Load(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	fs := flag.NewFlagSet("gokart serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	vals := map[string]*string{}
	for _, s := range Settings {
		def := s.def
		if v := getenv(s.env); v != "" {
			def = v
		}
		if s.def == "false" {
			// A setting off by default is a switch: a bare --dev means --dev=true.
			vals[s.env] = &def
			fs.Var(switchValue{vals[s.env]}, s.flag, s.usage+" ($"+s.env+")")
			continue
		}
		vals[s.env] = fs.String(s.flag, def, s.usage+" ($"+s.env+")")
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	c := Config{
		DatabaseURL: *vals["DATABASE_URL"],
		Addr:        *vals["ADDR"],
		BaseURL:     strings.TrimRight(*vals["BASE_URL"], "/"),
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
	if c.CallbacksAllowPrivate, err = strconv.ParseBool(*vals["CALLBACKS_ALLOW_PRIVATE"]); err != nil {
		return Config{}, fmt.Errorf("CALLBACKS_ALLOW_PRIVATE: %w", err)
	}
	if c.StatsInterval, err = time.ParseDuration(*vals["STATS_INTERVAL"]); err != nil || c.StatsInterval < 0 {
		return Config{}, fmt.Errorf("STATS_INTERVAL: want a duration such as 20s, got %q", *vals["STATS_INTERVAL"])
	}
	if c.StatsLag, err = time.ParseDuration(*vals["STATS_LAG"]); err != nil || c.StatsLag < 0 {
		return Config{}, fmt.Errorf("STATS_LAG: want a duration such as 2m, got %q", *vals["STATS_LAG"])
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
	if c.ComplexityLimit, err = strconv.Atoi(*vals["COMPLEXITY_LIMIT"]); err != nil || c.ComplexityLimit < 1 {
		return Config{}, fmt.Errorf("COMPLEXITY_LIMIT: want a positive integer, got %q", *vals["COMPLEXITY_LIMIT"])
	}
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Config{}, fmt.Errorf("BASE_URL: want an absolute http(s) URL, got %q", c.BaseURL)
	}
	return c, nil
}

// switchValue is a string flag that may be given bare, like a boolean flag.
type switchValue struct{ s *string }

func (v switchValue) String() string {
	if v.s == nil {
		return ""
	}
	return *v.s
}

func (v switchValue) Set(x string) error { *v.s = x; return nil }

func (v switchValue) IsBoolFlag() bool { return true }
