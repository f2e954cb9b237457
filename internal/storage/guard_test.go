package storage_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/storage"
)

func TestPostgresSessionsGetTheStatementTimeoutUnlessTheURLSetsOne(t *testing.T) {
	// Not parallel: StatementTimeout is process-wide, as serve sets it once at start.
	defer func(old time.Duration) { storage.StatementTimeout = old }(storage.StatementTimeout)
	storage.StatementTimeout = 7 * time.Second
	show := func(url string) string {
		t.Helper()
		db, err := storage.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var v string
		if err := db.SQL.QueryRow(`SHOW statement_timeout`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	url := dbtest.URL(t, dialect.Postgres)
	if got := show(url); got != "7s" {
		t.Errorf("statement_timeout = %q, want 7s", got)
	}
	if got := show(url + "&statement_timeout=0"); got != "0" {
		t.Errorf("with statement_timeout=0 in the URL: %q, want 0", got)
	}
}

// The generic pool's sessions plan a prepared statement once for every argument; the main
// pool's plan it for each of its first runs, as PostgreSQL does by default. On SQLite and on a
// Citus coordinator there is one client.
func TestTheGenericPoolPlansAPreparedStatementOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := storage.Open(ctx, dbtest.URL(t, dialect.Postgres))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if dbtest.Citus() {
		if db.GenericSQL != nil {
			t.Error("a Citus coordinator got the generic pool")
		}
		return
	}
	if db.GenericSQL == nil || db.Generic() == db.Client {
		t.Fatal("no generic pool on PostgreSQL")
	}
	// plans runs a statement with an argument three times on one connection of pool and
	// returns its generic and custom plans.
	plans := func(pool *sql.DB) (generic, custom int) {
		conn, err := pool.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		const q = "SELECT count(*) FROM pg_class WHERE relpages > $1"
		for range 3 {
			var n int
			if err := conn.QueryRowContext(ctx, q, 1).Scan(&n); err != nil {
				t.Fatal(err)
			}
		}
		if err := conn.QueryRowContext(ctx, "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement = '"+q+"'").Scan(&generic, &custom); err != nil {
			t.Fatal(err)
		}
		return generic, custom
	}
	if g, c := plans(db.GenericSQL); g != 3 || c != 0 {
		t.Errorf("generic pool: %d generic and %d custom plans, want 3 and 0", g, c)
	}
	if g, c := plans(db.SQL); g != 0 || c != 3 {
		t.Errorf("main pool: %d generic and %d custom plans, want 0 and 3", g, c)
	}

	lite, err := storage.Open(ctx, dbtest.URL(t, dialect.SQLite))
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	if lite.GenericSQL != nil || lite.Generic() != lite.Client {
		t.Error("SQLite has a second pool")
	}
}
