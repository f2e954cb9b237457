// Command gokart is the offer and conversion tracking server. `go run .` serves the GraphQL
// API, the click redirect and the postback route on an embedded SQLite file; set DATABASE_URL
// to a postgres:// URL for production.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gokart/gokart/internal/cli"
)

func main() {
	// Work in UTC whatever the host's zone: SQLite keeps times as text, which orders correctly
	// only when every stored time has the same offset. Reports convert to the account's zone.
	time.Local = time.UTC
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	code := cli.Main(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
