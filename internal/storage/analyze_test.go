package storage_test

import (
	"context"
	"testing"

	"entgo.io/ent/dialect"

	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/storage"
)

// A table that filled up since its statistics is analyzed; one that did not is left alone.
func TestAnalyzeStaleAnalyzesTablesThatOutgrewTheirStatistics(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := storage.Open(ctx, dbtest.URL(t, dialect.Postgres))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.SQL.ExecContext(ctx, `CREATE TABLE grown (id bigint); CREATE TABLE small (id bigint);
		INSERT INTO grown SELECT g FROM generate_series(1, 5000) g; INSERT INTO small VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	reltuples := func(table string) float64 {
		var n float64
		if err := db.SQL.QueryRowContext(ctx, "SELECT reltuples FROM pg_class WHERE oid = $1::regclass", table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// The activity counters reach pg_stat_user_tables when a backend reports them; wait for it.
	if _, err := db.SQL.ExecContext(ctx, "SELECT pg_stat_force_next_flush()"); err != nil {
		t.Logf("pg_stat_force_next_flush: %v (PostgreSQL before 15 flushes on its own)", err)
	}
	if err := storage.AnalyzeStale(ctx, db.SQL); err != nil {
		t.Fatal(err)
	}
	if got := reltuples("grown"); got != 5000 {
		t.Errorf("grown: reltuples %v after AnalyzeStale, want 5000 (analyzed)", got)
	}
	if got := reltuples("small"); got > 0 {
		t.Errorf("small: reltuples %v, want it left unanalyzed", got)
	}
}
