package migrations_test

import (
	"context"
	"strings"
	"testing"

	"ariga.io/atlas/sql/migrate"
	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/schema"

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
