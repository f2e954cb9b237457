package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/gokart/gokart/internal/stats"
	"github.com/gokart/gokart/internal/storage"
)

// statsCommand runs `gokart stats rebuild`: recompute the report rollups from the raw clicks and
// status history, in one transaction, up to the current watermark.
func statsCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "rebuild" {
		return errors.New(`unknown stats command: want "gokart stats rebuild"`)
	}
	fs := flag.NewFlagSet("gokart stats rebuild", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := dbFlag(fs, getenv)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	return withDB(ctx, *url, stderr, func(db *storage.DB) error {
		start := time.Now()
		rep, err := stats.Rebuild(ctx, db)
		if err != nil {
			return fmt.Errorf("rebuild stats: %w", err)
		}
		_, err = fmt.Fprintf(stdout, "rebuilt stats rollups up to %s in %s: %d click rows, %d conversion rows\n",
			rep.Watermark.Format(time.RFC3339), time.Since(start).Round(time.Millisecond), rep.ClickRows, rep.ConversionRows)
		return err
	})
}
