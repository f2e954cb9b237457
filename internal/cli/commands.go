package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/gokart/gokart/internal/accounts"
	"github.com/gokart/gokart/internal/config"
	"github.com/gokart/gokart/internal/storage"
	"github.com/gokart/gokart/migrations"
)

// env is what every command gets from the process.
type env struct {
	getenv         func(string) string
	stdout, stderr io.Writer
}

// command is one row of the command table; a group (run == nil) holds subcommands.
type command struct {
	name, args, summary string
	run                 func(ctx context.Context, e *env, args []string) error
	sub                 []*command
}

// commands is the table `gokart --help` lists, in that order.
var commands = []*command{
	{name: "serve", args: "[flags]", summary: "run the server (migrates first); the default command", run: runServe},
	{name: "migrate", args: "[flags]", summary: "apply database migrations and exit", run: runMigrate},
	{name: "account", sub: []*command{
		{name: "create", args: "--name NAME [--json]", summary: "create an account; prints its keys once", run: runAccountCreate},
	}},
	{name: "key", sub: []*command{
		{name: "create", args: "--account ID [--name NAME]", summary: "issue an API key; prints it once", run: runKeyCreate},
		{name: "list", args: "--account ID [--revoked]", summary: "list an account's API keys (never the keys themselves)", run: runKeyList},
		{name: "revoke", args: "--account ID --id KEY_ID", summary: "revoke an API key; it stops working at once", run: runKeyRevoke},
	}},
	{name: "demo", args: "[--json]", summary: "load the demo account (once) and print a fresh key for it", run: runDemo},
	{name: "stats", sub: []*command{
		{name: "rebuild", args: "[flags]", summary: "recompute the report rollups from the raw clicks and conversions", run: runStatsRebuild},
	}},
	{name: "version", summary: "print the module version, commit and Go version", run: runVersion},
}

// usageError is a command line gokart cannot run as given: exit status 2, with a hint.
type usageError struct {
	err  error
	help string
}

func (u usageError) Error() string { return u.err.Error() }

// flags makes a command's flag set; parse runs it.
func flags(name, args, summary string) *flag.FlagSet {
	fs := flag.NewFlagSet("gokart "+name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: gokart %s %s\n\n%s.\n\nFlags:\n", name, args, strings.ToUpper(summary[:1])+summary[1:])
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args: help goes to stdout (exit 0), a mistake to stderr with a hint (exit 2).
func parse(fs *flag.FlagSet, e *env, args []string) error {
	var out bytes.Buffer
	fs.SetOutput(&out)
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		_, _ = e.stdout.Write(out.Bytes())
		return err
	}
	if err == nil && fs.NArg() > 0 {
		err = fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if err != nil {
		return usageError{err, fmt.Sprintf("Run \"%s --help\" for usage.\n", fs.Name())}
	}
	return nil
}

// required is a usage error for a missing flag.
func required(fs *flag.FlagSet, name string) error {
	return usageError{fmt.Errorf("--%s is required", name), fmt.Sprintf("Run \"%s --help\" for usage.\n", fs.Name())}
}

func runServe(ctx context.Context, e *env, args []string) error {
	for _, a := range args {
		if a == "--" {
			break
		}
		if isHelp(a) {
			config.PrintUsage(e.stdout)
			return nil
		}
	}
	return serveCommand(ctx, args, e.getenv, e.stderr)
}

func runMigrate(ctx context.Context, e *env, args []string) error {
	fs := flags("migrate", "[flags]", "apply database migrations and exit")
	url := dbFlag(fs, e.getenv)
	if err := parse(fs, e, args); err != nil {
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
	fmt.Fprintf(e.stdout, "applied %d migration(s) to %s: %v\n", len(applied), db.Dialect, applied)
	return nil
}

func runAccountCreate(ctx context.Context, e *env, args []string) error {
	fs := flags("account create", "--name NAME [--json]", "create an account with an API key and a postback key, and print them once")
	url := dbFlag(fs, e.getenv)
	name := fs.String("name", "", "the account's name (required)")
	asJSON := fs.Bool("json", false, "print the keys as JSON")
	if err := parse(fs, e, args); err != nil {
		return err
	}
	if *name == "" {
		return required(fs, "name")
	}
	return withDB(ctx, *url, e.stderr, func(db *storage.DB) error {
		keys, err := accounts.Create(ctx, db.Client, *name)
		if err != nil {
			return err
		}
		return printKeys(e.stdout, keys, *asJSON)
	})
}

func runDemo(ctx context.Context, e *env, args []string) error {
	fs := flags("demo", "[--json]", "load the demo account (once) and print a fresh API key for it")
	url := dbFlag(fs, e.getenv)
	asJSON := fs.Bool("json", false, "print the keys as JSON")
	if err := parse(fs, e, args); err != nil {
		return err
	}
	return withDB(ctx, *url, e.stderr, func(db *storage.DB) error {
		keys, err := accounts.Demo(ctx, db.Client)
		if err != nil {
			return err
		}
		return printKeys(e.stdout, keys, *asJSON)
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
