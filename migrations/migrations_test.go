package migrations_test

import (
	"context"
	"strings"
	"testing"

	"ariga.io/atlas/sql/migrate"
	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/schema"
	"github.com/lib/pq"

	entmigrate "github.com/gokart/gokart/ent/migrate"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/storage"
	"github.com/gokart/gokart/migrations"
	"github.com/gokart/gokart/migrations/internal/tenantkeys"
)

func TestMigrationsApplyToAnEmptyDatabaseOnceAndOnlyOnce(t *testing.T) {
	t.Parallel()
	for _, d := range dbtest.Dialects {
		t.Run(d, func(t *testing.T) {
			ctx := context.Background()
			db, err := storage.Open(ctx, dbtest.URL(t, d))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			dir, err := migrations.Dir(d)
			if err != nil {
				t.Fatal(err)
			}
			files, _ := dir.Files()
			applied, err := migrations.Apply(ctx, db.SQL, db.Dialect)
			if err != nil {
				t.Fatalf("migrate up on an empty %s database: %v", d, err)
			}
			if len(applied) != len(files) || len(files) == 0 {
				t.Fatalf("applied %v, want all %d files", applied, len(files))
			}
			again, err := migrations.Apply(ctx, db.SQL, db.Dialect)
			if err != nil || len(again) != 0 {
				t.Fatalf("second migrate applied %v (err %v), want nothing", again, err)
			}
			// The tables are really there.
			if _, err := db.SQL.ExecContext(ctx, "SELECT count(*) FROM offers"); err != nil {
				t.Errorf("offers table missing after migrating: %v", err)
			}
		})
	}
}

// TestMigrationsMatchTheEntSchema fails when someone changes an Ent schema without generating a
// migration (go generate ./migrations): Atlas inspects the migrated database and diffs it with
// the schema, and any difference would be a new migration file.
func TestMigrationsMatchTheEntSchema(t *testing.T) {
	t.Parallel()
	// The generator's rewrite of the PostgreSQL schema: keys by account.
	tenantKeys, err := tenantkeys.Hook("../ent/schema")
	if err != nil {
		t.Fatal(err)
	}
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		dir := &migrate.MemDir{}
		opts := []schema.MigrateOption{
			schema.WithDir(dir),
			schema.WithMigrationMode(schema.ModeInspect),
			schema.WithDialect(db.Dialect),
			schema.WithDropColumn(true),
			schema.WithDropIndex(true),
		}
		if db.Dialect == dialect.Postgres {
			opts = append(opts, schema.WithDiffHook(tenantKeys))
		}
		m, err := schema.NewMigrate(entsql.OpenDB(db.Dialect, db.SQL), opts...)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.NamedDiff(context.Background(), "drift", entmigrate.Tables...); err != nil {
			t.Fatal(err)
		}
		files, _ := dir.Files()
		for _, f := range files {
			body := string(f.Bytes())
			if strings.TrimSpace(body) != "" {
				t.Errorf("the %s migrations disagree with the Ent schema; run `go generate ./migrations`. Missing change:\n%s", db.Dialect, body)
			}
		}
	})
}

func TestDirRefusesAnUnknownDialect(t *testing.T) {
	t.Parallel()
	if _, err := migrations.Dir(dialect.MySQL); err == nil {
		t.Error("Dir(mysql) returned no error")
	}
}

// TestTenantKeysMigrateAnExistingDatabase applies the migrations before tenant_keys, writes rows
// as the older schema allowed (a postback log without an account among them), then the rest: the
// account-less log is gone, the others keep their rows, and on PostgreSQL the keys lead with
// account_id.
func TestTenantKeysMigrateAnExistingDatabase(t *testing.T) {
	t.Parallel()
	for _, d := range dbtest.Dialects {
		t.Run(d, func(t *testing.T) {
			ctx := context.Background()
			db, err := storage.Open(ctx, dbtest.URL(t, d))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			dir, err := migrations.Dir(d)
			if err != nil {
				t.Fatal(err)
			}
			files, _ := dir.Files()
			if _, err := db.SQL.ExecContext(ctx, "CREATE TABLE gokart_schema_revisions (version VARCHAR(64) PRIMARY KEY, description VARCHAR(255) NOT NULL, applied_at TIMESTAMP NOT NULL)"); err != nil {
				t.Fatal(err)
			}
			found := false
			for _, f := range files {
				if f.Desc() == "tenant_keys" {
					found = true
					break
				}
				stmts, err := f.Stmts()
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range stmts {
					if _, err := db.SQL.ExecContext(ctx, s); err != nil {
						t.Fatalf("%s: %v", f.Name(), err)
					}
				}
				if _, err := db.SQL.ExecContext(ctx, "INSERT INTO gokart_schema_revisions VALUES ($1, $2, CURRENT_TIMESTAMP)", f.Version(), f.Desc()); err != nil {
					t.Fatal(err)
				}
			}
			if !found {
				t.Fatal("no tenant_keys migration")
			}
			for _, s := range []string{
				`INSERT INTO accounts (id, created_at, updated_at, name, postback_key) VALUES (7, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 'A', 'pk')`,
				`INSERT INTO offers (id, created_at, updated_at, name, type, integration_system, account_id) VALUES (70, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 'O', 'SINGLE_EVENT', 'IMPACT', 7)`,
				`INSERT INTO clicks (id, gk_click_id, created_at, account_id, offer_id) VALUES (700, 'gk-1', CURRENT_TIMESTAMP, 7, 70)`,
				`INSERT INTO postback_logs (raw_query, outcome, http_status, created_at, account_id) VALUES ('a', 'ACCEPTED', 200, CURRENT_TIMESTAMP, 7)`,
				`INSERT INTO postback_logs (raw_query, outcome, http_status, created_at) VALUES ('b', 'UNAUTHORIZED', 401, CURRENT_TIMESTAMP)`,
			} {
				if _, err := db.SQL.ExecContext(ctx, s); err != nil {
					t.Fatalf("%s: %v", s, err)
				}
			}
			applied, err := migrations.Apply(ctx, db.SQL, db.Dialect)
			if err != nil {
				t.Fatalf("migrate an existing database: %v", err)
			}
			if len(applied) == 0 {
				t.Fatal("tenant_keys was not applied")
			}
			var logs, clicks int
			if err := db.SQL.QueryRowContext(ctx, "SELECT count(*) FROM postback_logs").Scan(&logs); err != nil {
				t.Fatal(err)
			}
			if err := db.SQL.QueryRowContext(ctx, "SELECT count(*) FROM clicks WHERE account_id = 7 AND gk_click_id = 'gk-1'").Scan(&clicks); err != nil {
				t.Fatal(err)
			}
			if logs != 1 || clicks != 1 {
				t.Errorf("after migrating: %d postback logs (want the 1 with an account), %d clicks (want 1)", logs, clicks)
			}
			// offer_routes: the existing offer is routed to its account.
			var routed int
			if err := db.SQL.QueryRowContext(ctx, "SELECT account_id FROM offer_routes WHERE id = 70").Scan(&routed); err != nil || routed != 7 {
				t.Errorf("after migrating: offer 70 routed to account %d (%v), want 7", routed, err)
			}
			if d != dialect.Postgres {
				return
			}
			var pk string
			if err := db.SQL.QueryRowContext(ctx, `SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'conversions'::regclass AND contype = 'p'`).Scan(&pk); err != nil {
				t.Fatal(err)
			}
			if pk != "PRIMARY KEY (account_id, id)" {
				t.Errorf("conversions key %q, want PRIMARY KEY (account_id, id)", pk)
			}
		})
	}
}

// TestEveryTenantKeyIncludesAccountID is the schema check of issue 11 on PostgreSQL: in every
// table with an account_id (but dbtest.SharedWithAccountID: an API key is found by its hash,
// and an offer's account by the offer id, before the account is known), the primary key and every unique index include account_id, every foreign key to a
// table other than accounts is by account, and no foreign key sets NULL on delete.
func TestEveryTenantKeyIncludesAccountID(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := storage.Open(ctx, dbtest.URL(t, dialect.Postgres))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := migrations.Apply(ctx, db.SQL, db.Dialect); err != nil {
		t.Fatal(err)
	}
	rows, err := db.SQL.QueryContext(ctx, `
WITH tenant AS (
  SELECT c.oid, c.relname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'account_id'
  WHERE c.relkind = 'r' AND c.relnamespace = current_schema()::regnamespace AND c.relname <> ALL ($1)),
keys AS (
  SELECT t.relname, i.indexrelid::regclass::text AS name, i.indisprimary AS primary_key,
    EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = t.oid AND a.attname = 'account_id' AND a.attnum = ANY (i.indkey)) AS by_account
  FROM tenant t JOIN pg_index i ON i.indrelid = t.oid AND i.indisunique),
fks AS (
  SELECT t.relname, k.conname::text AS name, k.confrelid::regclass::text AS ref, k.confdeltype,
    EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = t.oid AND a.attname = 'account_id' AND a.attnum = ANY (k.conkey)) AS by_account
  FROM tenant t JOIN pg_constraint k ON k.conrelid = t.oid AND k.contype = 'f')
SELECT relname, name, 'unique key without account_id' FROM keys WHERE NOT by_account
UNION ALL SELECT relname, 'primary key', 'missing' FROM tenant t WHERE NOT EXISTS (SELECT 1 FROM keys k WHERE k.relname = t.relname AND k.primary_key)
UNION ALL SELECT relname, name, 'foreign key to ' || ref || ' without account_id' FROM fks WHERE ref <> 'accounts' AND NOT by_account
UNION ALL SELECT relname, name, 'ON DELETE SET NULL' FROM fks WHERE confdeltype = 'n'`, pq.Array(dbtest.SharedWithAccountID))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var table, key, problem string
		if err := rows.Scan(&table, &key, &problem); err != nil {
			t.Fatal(err)
		}
		t.Errorf("%s: %s: %s", table, key, problem)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var tenants int
	// This schema's primary keys first (MATERIALIZED), then their definitions: the planner may
	// otherwise call pg_get_indexdef on an index of another test's schema that is being dropped
	// meanwhile ("could not open relation with OID").
	if err := db.SQL.QueryRowContext(ctx, `WITH mine AS MATERIALIZED (SELECT i.indexrelid FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
WHERE i.indisprimary AND c.relnamespace = current_schema()::regnamespace)
SELECT count(*) FROM mine WHERE pg_get_indexdef(indexrelid) LIKE '%(account_id, id)'`).Scan(&tenants); err != nil {
		t.Fatal(err)
	}
	if tenants != 15 {
		t.Errorf("%d tables keyed (account_id, id), want the 15 tenant tables", tenants)
	}
}
