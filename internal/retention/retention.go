// Package retention deletes postback log rows older than POSTBACK_LOG_RETENTION, and the
// counted rows of account-less postbacks (package unmatched) with them. It deletes in small
// batches, each its own statement, so it never holds many locks or the SQLite writer for long,
// and it is safe on any number of replicas at once: on PostgreSQL a batch skips rows another
// replica is deleting, and a row deleted twice is simply gone.
//
// It works across accounts by design: retention is the operator's rule, not a tenant's query.
package retention

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"entgo.io/ent/dialect"

	"github.com/gokart/gokart/internal/storage"
)

// BatchSize is how many rows one statement deletes.
const BatchSize = 1000

// Interval is how often the job looks for old rows.
const Interval = 10 * time.Minute

// pause between batches leaves the database to the hot paths.
const pause = 50 * time.Millisecond

// Run prunes every Interval until ctx ends; a retention of 0 keeps rows for ever.
func Run(ctx context.Context, db *storage.DB, log *slog.Logger, retention time.Duration) {
	if retention <= 0 {
		log.Info("postback log retention off (POSTBACK_LOG_RETENTION=0)")
		return
	}
	tick := time.NewTicker(Interval)
	defer tick.Stop()
	for {
		n, err := Prune(ctx, db, time.Now().Add(-retention))
		if err != nil && ctx.Err() == nil {
			log.Warn("postback log retention failed; the next run retries", "err", err)
		} else if n > 0 {
			log.Info("postback log retention", "deleted", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// The log is walked from its oldest id, a batch at a time, and a batch deletes only its rows
// from before the cutoff: ids grow with arrival, so a batch that keeps a row has reached the
// rows to keep, and no run scans more than a batch beyond them (postback_logs has no index on
// created_at alone, and needs none for this).
const (
	pruneLogsPostgres = `DELETE FROM postback_logs WHERE id IN (
  SELECT id FROM postback_logs ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED) AND created_at < $1`
	pruneLogsSQLite = `DELETE FROM postback_logs WHERE id IN (
  SELECT id FROM postback_logs ORDER BY id LIMIT $2) AND created_at < $1`
	pruneUnmatched = `DELETE FROM unmatched_postbacks WHERE id IN (
  SELECT id FROM unmatched_postbacks WHERE hour < $1 ORDER BY hour LIMIT $2)`
)

// Prune deletes postback log rows and unmatched-postback counts from before cutoff and returns
// how many rows it deleted.
func Prune(ctx context.Context, db *storage.DB, cutoff time.Time) (int64, error) {
	logs := pruneLogsSQLite
	if db.Dialect == dialect.Postgres {
		logs = pruneLogsPostgres
	}
	var total int64
	for _, q := range []string{logs, pruneUnmatched} {
		for {
			res, err := db.SQL.ExecContext(ctx, q, cutoff.UTC(), BatchSize)
			if err != nil {
				return total, fmt.Errorf("prune postback log: %w", err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return total, fmt.Errorf("prune postback log: %w", err)
			}
			total += n
			if n < BatchSize {
				break
			}
			select {
			case <-ctx.Done():
				return total, ctx.Err()
			case <-time.After(pause):
			}
		}
	}
	return total, nil
}
