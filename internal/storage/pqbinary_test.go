package storage_test

import (
	"context"
	"testing"

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
