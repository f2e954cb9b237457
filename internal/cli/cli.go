// Package cli is the gokart command: serve (the default), migrate, account create and demo.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gokart/gokart/internal/accounts"
	"github.com/gokart/gokart/internal/callbacks"
	"github.com/gokart/gokart/internal/config"
	"github.com/gokart/gokart/internal/httpapi"
	"github.com/gokart/gokart/internal/stats"
	"github.com/gokart/gokart/internal/storage"
	"github.com/gokart/gokart/internal/viewer"
	"github.com/gokart/gokart/migrations"
)

// ShutdownGrace is how long in-flight requests get to finish after SIGTERM or SIGINT.
const ShutdownGrace = 25 * time.Second

const usage = `gokart: offer and conversion tracking server

Usage:
  gokart [serve] [flags]              run the server (migrates first)
  gokart migrate [flags]              apply database migrations and exit
  gokart account create --name NAME [--json]
                                      create an account; prints its keys once
  gokart demo [--json]                load the demo account (once) and print a fresh key for it
  gokart stats rebuild                recompute the report rollups from the raw clicks and conversions

Every command reads DATABASE_URL (or --database-url); unset means the SQLite file gokart.db.
Run "gokart serve --help" for the server's settings.
`

// Main runs the command in args and returns the process exit code.
func Main(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && (args[0] == "" || args[0][0] != '-') {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = serveCommand(ctx, args, getenv, stderr)
	case "migrate":
		err = migrateCommand(ctx, args, getenv, stdout, stderr)
	case "account":
		if len(args) == 0 || args[0] != "create" {
			err = errors.New(`unknown account command: want "gokart account create --name NAME"`)
			break
		}
		err = accountCreateCommand(ctx, args[1:], getenv, stdout, stderr)
	case "demo":
		err = demoCommand(ctx, args, getenv, stdout, stderr)
	case "stats":
		err = statsCommand(ctx, args, getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		err = fmt.Errorf("unknown command %q\n\n%s", cmd, usage)
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "gokart:", err)
		return 1
	}
	return 0
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
	cfg, err := config.Load(args, getenv, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
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
	go stats.Aggregate(ctx, db, log, cfg.StatsInterval, cfg.StatsLag) // report rollups; see package stats
	// Reward callbacks; stopped after Serve returns, so in-flight sends are recorded.
	cbw := callbacks.Start(ctx, db, callbacks.Options{AllowPrivate: cfg.CallbacksAllowPrivate, Logger: log})
	defer cbw.Stop()
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
	})
	return Serve(ctx, ln, h, log)
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

func migrateCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gokart migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := dbFlag(fs, getenv)
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, err := storage.Open(ctx, *url)
	if err != nil {
		return err
	}
	defer db.Close()
	applied, err := migrations.Apply(ctx, db.SQL, db.Dialect)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "applied %d migration(s) to %s: %v\n", len(applied), db.Dialect, applied)
	return nil
}

func accountCreateCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gokart account create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := dbFlag(fs, getenv)
	name := fs.String("name", "", "the account's name (required)")
	asJSON := fs.Bool("json", false, "print the keys as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *name == "" {
		return errors.New("--name is required")
	}
	return withDB(ctx, *url, stderr, func(db *storage.DB) error {
		keys, err := accounts.Create(ctx, db.Client, *name)
		if err != nil {
			return err
		}
		return printKeys(stdout, keys, *asJSON)
	})
}

func demoCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gokart demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := dbFlag(fs, getenv)
	asJSON := fs.Bool("json", false, "print the keys as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return withDB(ctx, *url, stderr, func(db *storage.DB) error {
		keys, err := accounts.Demo(ctx, db.Client)
		if err != nil {
			return err
		}
		return printKeys(stdout, keys, *asJSON)
	})
}

func withDB(ctx context.Context, url string, stderr io.Writer, fn func(*storage.DB) error) error {
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	db, err := openMigrated(ctx, url, log)
	if err != nil {
		return err
	}
	defer db.Close()
	return fn(db)
}

func printKeys(w io.Writer, k accounts.Keys, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(w).Encode(k)
	}
	_, err := fmt.Fprintf(w, "account id:   %d\napi key:      %s\npostback key: %s\n(the API key is shown only now; keep it safe)\n", k.ID, k.APIKey, k.PostbackKey)
	return err
}
