package storage

import (
	"context"
	"database/sql"
	"log/slog"
	"time"

	"entgo.io/ent/dialect"
)

// staleTablesSQL names the tables of the current schema changed a lot since their statistics:
// more rows written since the last ANALYZE than twice the rows it counted (and at least 50,
// autovacuum's own base threshold).
// PostgreSQL plans with those statistics, and keeps plans it made on an empty table (the
// foreign-key checks' among them, which gokart cannot prepare again) until an ANALYZE
// invalidates them: on a fresh database a composite key check then read an account's every
// conversion through whichever index leads with account_id. Small tables matter as much: with
// 100 offers written since an ANALYZE that saw one, the postback's look-up kept a plan that read
// the account's every offer for each postback (190 buffers instead of 28, cmd/gokart-bench),
// and a minimum of 1000 changes never came. ANALYZE of a small table costs a few milliseconds,
// and the doubling rule keeps the count of them logarithmic in the table's size.
const staleTablesSQL = `SELECT s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
WHERE s.schemaname = current_schema() AND s.n_mod_since_analyze >= 50
  AND s.n_mod_since_analyze > 2 * GREATEST(c.reltuples, 0)`

// KeepStatistics analyzes, every interval, the tables that grew past their statistics, until
// ctx ends. Autovacuum does the same, but its thresholds grow with the table and its first
// visit may come minutes after a database starts filling; this one only acts while a table
// is young relative to its statistics, so on a database with history it does nothing. The
// server checks every second: on a fresh database every postback until the first ANALYZE
// checks its conversion's key by scanning the account's conversions, and with a 10 s interval
// a fresh database's spread postbacks ran at 616/s against 848/s with 1 s (cmd/gokart-bench).
func KeepStatistics(ctx context.Context, db *DB, log *slog.Logger, interval time.Duration) {
	if db.Dialect != dialect.Postgres || interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := AnalyzeStale(ctx, db.SQL); err != nil && ctx.Err() == nil {
			log.Warn("analyze stale tables", "err", err)
		}
	}
}

// AnalyzeStale runs ANALYZE on each table staleTablesSQL names.
func AnalyzeStale(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, staleTablesSQL)
	if err != nil {
		return err
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return err
		}
		tables = append(tables, name)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	for _, name := range tables {
		if _, err := db.ExecContext(ctx, `ANALYZE "`+name+`"`); err != nil {
			return err
		}
	}
	return nil
}
