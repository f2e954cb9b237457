// Command gokart is the offer and conversion tracking server. `go run .` serves the GraphQL
// API, the click redirect and the postback route on an embedded SQLite file; set DATABASE_URL
// to a postgres:// URL for production.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/gokart/gokart/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	code := cli.Main(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
