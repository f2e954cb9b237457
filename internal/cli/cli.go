// Package cli is the gokart command: serve (the default), migrate, account, key, demo, stats
// and version. The command table is in commands.go; serve, the server's start and graceful
// shutdown, stays in this file.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"text/tabwriter"
	"time"

	"entgo.io/ent/dialect"

	"github.com/gokart/gokart/internal/accounts"
	"github.com/gokart/gokart/internal/callbacks"
	"github.com/gokart/gokart/internal/config"
	"github.com/gokart/gokart/internal/httpapi"
	"github.com/gokart/gokart/internal/postback"
	"github.com/gokart/gokart/internal/retention"
	"github.com/gokart/gokart/internal/stats"
	"github.com/gokart/gokart/internal/storage"
	"github.com/gokart/gokart/internal/viewer"
	"github.com/gokart/gokart/migrations"
)

// ShutdownGrace is how long in-flight requests get to finish after SIGTERM or SIGINT.
const ShutdownGrace = 25 * time.Second

// Main runs the command in args and returns the process exit code: 0 on success (help
// included), 2 on a usage error (Go's flag convention), 1 when the command itself failed.
func Main(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	env := &env{getenv: getenv, stdout: stdout, stderr: stderr}
	err := dispatch(ctx, env, args)
	var uerr usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &uerr):
		fmt.Fprintf(stderr, "gokart: %v\n%s", uerr.err, uerr.help)
		return 2
	default:
		fmt.Fprintln(stderr, "gokart:", err)
		return 1
	}
}

// dispatch finds the command (serve when args start with a flag or are empty) and runs it.
func dispatch(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") && !isHelp(args[0]) {
		return runServe(ctx, e, args)
	}
	if isHelp(args[0]) || args[0] == "help" {
		if len(args) > 1 && args[0] == "help" {
			// gokart help CMD… is gokart CMD… --help
			return dispatch(ctx, e, append(append([]string{}, args[1:]...), "--help"))
		}
		fmt.Fprint(e.stdout, commandList())
		return nil
	}
	cmds, path := commands, []string{}
	for {
		c := find(cmds, args[0])
		if c == nil {
			return usageError{fmt.Errorf("unknown command %q", strings.Join(append(path, args[0]), " ")), groupHelp(path, cmds)}
		}
		path, args = append(path, c.name), args[1:]
		if c.run != nil {
			return c.run(ctx, e, args)
		}
		// A group such as "account" or "key": its subcommand comes next.
		if len(args) == 0 {
			return usageError{fmt.Errorf("%s needs a subcommand", strings.Join(path, " ")), groupHelp(path, c.sub)}
		}
		if isHelp(args[0]) {
			fmt.Fprint(e.stdout, groupHelp(path, c.sub))
			return nil
		}
		cmds = c.sub
	}
}

func isHelp(arg string) bool { return arg == "-h" || arg == "-help" || arg == "--help" }

func find(cmds []*command, name string) *command {
	for _, c := range cmds {
		if c.name == name {
			return c
		}
	}
	return nil
}

// commandList is what `gokart --help` prints: every command with its one-line summary.
func commandList() string {
	var b strings.Builder
	b.WriteString("gokart: offer and conversion tracking server\n\nUsage:\n  gokart [command] [flags]\n\nCommands:\n")
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	var walk func(prefix string, cmds []*command)
	walk = func(prefix string, cmds []*command) {
		for _, c := range cmds {
			if c.run == nil {
				walk(prefix+c.name+" ", c.sub)
				continue
			}
			fmt.Fprintf(tw, "  %s\t%s\n", strings.TrimSpace(prefix+c.name+" "+c.args), c.summary)
		}
	}
	walk("", commands)
	_ = tw.Flush()
	b.WriteString("\nWithout a command, gokart serves. Every command reads DATABASE_URL (or --database-url);\n" +
		"unset means the SQLite file gokart.db. \"gokart COMMAND --help\" shows a command's flags.\n")
	return b.String()
}

func groupHelp(path []string, cmds []*command) string {
	var b strings.Builder
	if len(path) == 0 {
		return "Run \"gokart --help\" for the commands.\n"
	}
	fmt.Fprintf(&b, "Usage:\n")
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	for _, c := range cmds {
		fmt.Fprintf(tw, "  gokart %s %s %s\t%s\n", strings.Join(path, " "), c.name, c.args, c.summary)
	}
	_ = tw.Flush()
	fmt.Fprintf(&b, "\n\"gokart %s COMMAND --help\" shows a command's flags.\n", strings.Join(path, " "))
	return b.String()
}

// openMigrated opens the database and brings its schema up to date.
func openMigrated(ctx context.Context, url string, log *slog.Logger) (*storage.DB, error) {
	db, err := storage.Open(ctx, url)
	if err != nil {
		return nil, err
	}
	applied, err := migrations.Apply(ctx, db.SQL, db.Dialect)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if len(applied) > 0 {
		log.Info("applied migrations", "dialect", db.Dialect, "versions", applied)
	}
	return db, nil
}

func dbFlag(fs *flag.FlagSet, getenv func(string) string) *string {
	return fs.String("database-url", getenv("DATABASE_URL"), "postgres://… or unset for the SQLite file gokart.db ($DATABASE_URL)")
}

func serveCommand(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	cfg, err := config.Load(args, getenv, io.Discard)
	if err != nil {
		return usageError{err, "Run \"gokart serve --help\" for the settings.\n"}
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	storage.StatementTimeout = cfg.StatementTimeout
	db, err := openMigrated(ctx, cfg.DatabaseURL, log)
	if err != nil {
		return err
	}
	defer db.Close()
	var devKey string
	if cfg.Dev {
		keys, err := accounts.Demo(ctx, db.Client)
		if err != nil {
			return fmt.Errorf("--dev: %w", err)
		}
		devKey = keys.APIKey
		log.Warn("dev mode: the playground page shows a live API key of the demo account to anyone who opens it; never use --dev on a reachable server", "account", keys.ID)
	}
	if n, err := db.Client.Account.Query().Count(viewer.AsSystem(ctx)); err == nil && n == 0 {
		log.Info("no accounts yet: run `go run . demo --json` (or `gokart account create --name NAME --json`) for an API key, then open the playground with header Authorization: Bearer <apiKey>")
	}
	go stats.Aggregate(ctx, db, log, cfg.StatsInterval, cfg.StatsLag)            // report rollups; see package stats
	go retention.Run(ctx, db, log, cfg.PostbackLogRetention)                     // prunes the postback log; see package retention
	go postback.RunMaturing(ctx, db.Client, db.Dialect, log, cfg.MatureInterval) // approves due PENDING conversions; see postback.Mature
	go storage.KeepStatistics(ctx, db, log, time.Second)                         // ANALYZE of tables that outgrew their statistics (PostgreSQL)
	// Reward callbacks; stopped after Serve returns, so in-flight sends are recorded.
	workers := cfg.CallbackWorkers
	if db.Dialect != dialect.Postgres {
		workers = 1 // SQLite has one writer: a second worker would only wait for it
	}
	for range workers {
		cbw := callbacks.Start(ctx, db, callbacks.Options{AllowPrivate: cfg.CallbacksAllowPrivate, Logger: log})
		defer cbw.Stop()
	}
	if cfg.PprofAddr != "" {
		if _, err := servePprof(ctx, cfg.PprofAddr, log); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	log.Info("gokart listening", "addr", ln.Addr().String(), "base_url", cfg.BaseURL, "database", db.Dialect,
		"playground", cfg.Playground)
	h := httpapi.New(db, httpapi.Options{
		BaseURL: cfg.BaseURL, Introspection: cfg.Introspection, Playground: cfg.Playground,
		ComplexityLimit: cfg.ComplexityLimit, Logger: log, PlaygroundAPIKey: devKey,
		TrustedProxies: cfg.TrustedProxies,
		GraphQLTimeout: cfg.GraphQLTimeout, TrackingTimeout: cfg.TrackingTimeout,
		ClickLimit: cfg.ClickLimit, FailedPostbackLimit: cfg.FailedPostbackLimit, MetricsToken: cfg.MetricsToken,
		OfferwallCatalog: offerwallCatalog(cfg.OfferwallCatalog),
	})
	return Serve(ctx, ln, h, log)
}

// offerwallCatalog is OFFERWALL_CATALOG_OFFERS as httpapi.Options takes it (0 there is the
// default, so none is -1).
func offerwallCatalog(n int) int {
	if n == 0 {
		return -1
	}
	return n
}

// servePprof serves Go's profiles (net/http/pprof) on addr, a loopback address config.Load
// checked, until ctx is done. Its own mux: nothing else is reachable there, and the profiles
// are never on the public listener.
func servePprof(ctx context.Context, addr string, log *slog.Logger) (net.Addr, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("PPROF_ADDR: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	go func() { <-ctx.Done(); _ = srv.Close() }()
	log.Warn("pprof profiles served", "addr", ln.Addr().String())
	return ln.Addr(), nil
}

// Serve serves h on ln until ctx is done, then stops taking connections and waits up to
// ShutdownGrace for in-flight requests to finish.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests", "grace", ShutdownGrace.String())
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}
