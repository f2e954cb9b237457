package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/gokart/gokart/internal/stats"
	"github.com/gokart/gokart/internal/storage"
)

// runStatsRebuild runs `gokart stats rebuild`: recompute the report rollups from the raw clicks
// and status history, in one transaction, up to the current watermark.
func runStatsRebuild(ctx context.Context, e *env, args []string) error {
	fs := flags("stats rebuild", "[flags]", "recompute the report rollups from the raw clicks and conversions")
	url := dbFlag(fs, e.getenv)
	if err := parse(fs, e, args); err != nil {
		return err
	}
	stdout := e.stdout
	return withDB(ctx, *url, e.stderr, func(db *storage.DB) error {
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
