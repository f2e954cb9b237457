package storage_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/storage"
)

// A statement kept prepared whose result type a migration changed fails once, then is prepared
// again; it must not fail on that connection for the rest of the process's life.
func TestAPreparedStatementOutdatedByASchemaChangeRecovers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := storage.Open(ctx, dbtest.URL(t, dialect.Postgres))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SQL.SetMaxOpenConns(1) // one connection, so the statement is the cached one
	if _, err := db.SQL.ExecContext(ctx, "CREATE TABLE probe (a int)"); err != nil {
		t.Fatal(err)
	}
	count := func() error {
		rows, err := db.SQL.QueryContext(ctx, "SELECT * FROM probe WHERE a = $1", 1)
		if err != nil {
			return err
		}
		return rows.Close()
	}
	if err := count(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL.ExecContext(ctx, "ALTER TABLE probe ADD COLUMN b int"); err != nil {
		t.Fatal(err)
	}
	_ = count() // may fail once with "cached plan must not change result type"
	if err := count(); err != nil {
		t.Fatalf("the statement still fails after the schema change: %v", err)
	}
}

func TestJSONAndBinaryArgumentsRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := storage.Open(ctx, dbtest.URL(t, dialect.Postgres))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.SQL.ExecContext(ctx, "CREATE TABLE probe (j jsonb, b bytea)"); err != nil {
		t.Fatal(err)
	}
	bin := []byte{0, 1, 2, 0xff, '\\'}
	if _, err := db.SQL.ExecContext(ctx, "INSERT INTO probe VALUES ($1, $2)", []byte(`{"k":"a\"b"}`), bin); err != nil {
		t.Fatal(err)
	}
	var j string
	var b []byte
	if err := db.SQL.QueryRowContext(ctx, "SELECT j::text, b FROM probe").Scan(&j, &b); err != nil {
		t.Fatal(err)
	}
	if j != `{"k": "a\"b"}` || string(b) != string(bin) {
		t.Errorf("round trip: json %q, bytes %v", j, b)
	}
}

// A statement prepared while its table was empty gets a generic plan that may read by any
// index leading with account_id; once replanAfter has passed it is prepared again, and the
// new plan, made with the table's real size, probes the primary key.
// Not parallel: it shortens replanAfter for the package.
func TestAPreparedStatementIsPlannedAgainAsItsTableGrows(t *testing.T) {
	ctx := context.Background()
	db, err := storage.Open(ctx, dbtest.URL(t, dialect.Postgres))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.SQL.Conn(ctx) // one connection: its cached statement is the one looked at
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `CREATE TABLE probe (account_id bigint, id bigint, k text, v int,
		PRIMARY KEY (account_id, id)); CREATE UNIQUE INDEX probe_k ON probe (account_id, k)`); err != nil {
		t.Fatal(err)
	}
	const q = "UPDATE probe SET v = v + 1 WHERE account_id = $1 AND id = $2"
	plan := func() (name, text string, runs int64) {
		if err := conn.QueryRowContext(ctx, "SELECT name, generic_plans + custom_plans FROM pg_prepared_statements WHERE statement = '"+q+"'").Scan(&name, &runs); err != nil {
			t.Fatal(err)
		}
		rows, err := conn.QueryContext(ctx, `EXPLAIN EXECUTE "`+name+`"(1, 5)`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			text += line + "\n"
		}
		return name, text, runs
	}
	for range 10 { // past PostgreSQL's five custom plans: the generic one is kept
		if _, err := conn.ExecContext(ctx, q, 1, 5); err != nil {
			t.Fatal(err)
		}
	}
	first, _, _ := plan()
	if _, err := conn.ExecContext(ctx, `INSERT INTO probe SELECT 1, g, 'k' || g, 0 FROM generate_series(1, 20000) g`); err != nil {
		t.Fatal(err)
	}
	restore := storage.SetReplanAfter(50 * time.Millisecond)
	defer restore()
	time.Sleep(100 * time.Millisecond)
	for range 10 {
		if _, err := conn.ExecContext(ctx, q, 1, 5); err != nil {
			t.Fatal(err)
		}
	}
	name, text, runs := plan()
	if name == first || runs > 20 {
		t.Fatalf("the statement was not prepared again (%s then %s, %d plans)", first, name, runs)
	}
	if !strings.Contains(text, "probe_pkey") || strings.Contains(text, "Filter") {
		t.Errorf("the new plan does not probe the primary key:\n%s", text)
	}
}
