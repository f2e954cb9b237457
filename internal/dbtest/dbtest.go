// Package dbtest gives each test its own fresh, migrated database: a temporary SQLite file, or a
// new schema on the test PostgreSQL server. Tests that touch the database run on both.
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"entgo.io/ent/dialect"

	"github.com/gokart/gokart/internal/storage"
	"github.com/gokart/gokart/migrations"
)

// DefaultPostgresURL is the PostgreSQL every developer machine and CI run has on loopback.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// PostgresURL is the server tests make their schemas on: TEST_DATABASE_URL, or the default.
func PostgresURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultPostgresURL
}

var (
	pgOnce  sync.Once
	pgAdmin *sql.DB
	pgErr   error
)

// requirePostgres returns an admin connection, or stops the test: in CI a missing PostgreSQL
// is a failure; on a developer's machine the test is skipped with a loud message.
func requirePostgres(t testing.TB) *sql.DB {
	t.Helper()
	pgOnce.Do(func() {
		pgAdmin, pgErr = sql.Open("postgres", PostgresURL())
		if pgErr == nil {
			pgErr = pgAdmin.Ping()
		}
	})
	if pgErr != nil {
		msg := fmt.Sprintf("PostgreSQL at %s is unreachable (%v): set TEST_DATABASE_URL or start PostgreSQL", redact(PostgresURL()), pgErr)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip("SKIPPING POSTGRESQL HALF OF THIS TEST: " + msg)
	}
	return pgAdmin
}

func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparseable URL)"
	}
	return p.Redacted()
}

// Dialects are the databases every database test runs on.
var Dialects = []string{dialect.SQLite, dialect.Postgres}

// Run runs fn once per dialect, each in a subtest with its own fresh database.
func Run(t *testing.T, fn func(t *testing.T, db *storage.DB)) {
	t.Helper()
	for _, d := range Dialects {
		t.Run(d, func(t *testing.T) {
			fn(t, Open(t, d))
		})
	}
}

// Open returns a fresh, migrated database of the dialect, removed when the test ends.
func Open(t testing.TB, dialectName string) *storage.DB {
	t.Helper()
	u := URL(t, dialectName)
	db, err := storage.Open(context.Background(), u)
	if err != nil {
		t.Fatalf("open %s: %v", dialectName, err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := migrations.Apply(context.Background(), db.SQL, db.Dialect); err != nil {
		t.Fatalf("migrate %s: %v", dialectName, err)
	}
	return db
}

// URL returns a DATABASE_URL for a fresh, empty database of the dialect (not migrated).
func URL(t testing.TB, dialectName string) string {
	t.Helper()
	switch dialectName {
	case dialect.SQLite:
		return "sqlite:" + filepath.Join(t.TempDir(), "gokart.db")
	case dialect.Postgres:
		admin := requirePostgres(t)
		schema := "t_" + randomHex(8)
		if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
			t.Fatalf("create schema: %v", err)
		}
		t.Cleanup(func() {
			if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
				t.Logf("drop schema %s: %v", schema, err)
			}
		})
		u := WithSearchPath(PostgresURL(), schema)
		if citus {
			// Some tests plant a failing trigger to make a transaction roll back; Citus refuses
			// triggers on distributed tables unless this is on (it then creates them on the shards).
			u += "&citus.enable_unsafe_triggers=on"
		}
		return u
	default:
		t.Fatalf("unknown dialect %q", dialectName)
		return ""
	}
}

// WithSearchPath points a PostgreSQL URL at one schema; lib/pq sends unknown URL parameters
// to the server as session settings.
func WithSearchPath(pgURL, schema string) string {
	u, err := url.Parse(pgURL)
	if err != nil {
		panic(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	if q.Get("sslmode") == "" {
		q.Set("sslmode", "disable")
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
