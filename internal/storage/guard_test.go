package storage_test

import (
	"context"
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
