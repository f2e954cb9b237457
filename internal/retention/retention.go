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
// rows to keep, and no run scans more than a batch beyond them.
//
// On PostgreSQL the log is pruned account by account: postback_logs is distributed by
// account_id on Citus, which refuses FOR UPDATE across shards, so each batch names its account
// (one shard) and reads the (account_id, created_at) index, bounded by LIMIT.
const (
	pruneLogsPostgres = `DELETE FROM postback_logs WHERE account_id = $3 AND id IN (
  SELECT id FROM postback_logs WHERE account_id = $3 AND created_at < $1 ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)`
	pruneLogsSQLite = `DELETE FROM postback_logs WHERE id IN (
  SELECT id FROM postback_logs ORDER BY id LIMIT $2) AND created_at < $1`
	pruneUnmatched = `DELETE FROM unmatched_postbacks WHERE id IN (
  SELECT id FROM unmatched_postbacks WHERE hour < $1 ORDER BY hour LIMIT $2)`
	// accountsAfter pages through accounts (a reference table on Citus: no fan-out).
	accountsAfter = `SELECT id FROM accounts WHERE id > $1 ORDER BY id LIMIT $2`
)

// Prune deletes postback log rows and unmatched-postback counts from before cutoff and returns
// how many rows it deleted.
func Prune(ctx context.Context, db *storage.DB, cutoff time.Time) (int64, error) {
	var total int64
	if db.Dialect == dialect.Postgres {
		n, err := pruneLogsByAccount(ctx, db, cutoff)
		total += n
		if err != nil {
			return total, err
		}
	} else {
		n, err := pruneBatches(ctx, db, pruneLogsSQLite, cutoff)
		total += n
		if err != nil {
			return total, err
		}
	}
	n, err := pruneBatches(ctx, db, pruneUnmatched, cutoff)
	return total + n, err
}

// pruneLogsByAccount prunes each account's old log rows in turn.
func pruneLogsByAccount(ctx context.Context, db *storage.DB, cutoff time.Time) (int64, error) {
	var total int64
	after := 0
	for {
		ids, err := accountPage(ctx, db, after)
		if err != nil {
			return total, err
		}
		for _, id := range ids {
			n, err := pruneBatches(ctx, db, pruneLogsPostgres, cutoff, id)
			total += n
			if err != nil {
				return total, err
			}
		}
		if len(ids) < BatchSize {
			return total, nil
		}
		after = ids[len(ids)-1]
	}
}

func accountPage(ctx context.Context, db *storage.DB, after int) ([]int, error) {
	rows, err := db.SQL.QueryContext(ctx, accountsAfter, after, BatchSize)
	if err != nil {
		return nil, fmt.Errorf("prune postback log: accounts: %w", err)
	}
	defer rows.Close()
	var ids []int
	for rows.Next() {
		var id int
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("prune postback log: accounts: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// pruneBatches runs q (cutoff, BatchSize, extra...) until a batch deletes less than a batch.
func pruneBatches(ctx context.Context, db *storage.DB, q string, cutoff time.Time, extra ...any) (int64, error) {
	var total int64
	args := append([]any{cutoff.UTC(), BatchSize}, extra...)
	for {
		res, err := db.SQL.ExecContext(ctx, q, args...)
		if err != nil {
			return total, fmt.Errorf("prune postback log: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("prune postback log: %w", err)
		}
		total += n
		if n < BatchSize {
			return total, nil
		}
		select {
		case <-ctx.Done():
			return total, ctx.Err()
		case <-time.After(pause):
		}
	}
}
