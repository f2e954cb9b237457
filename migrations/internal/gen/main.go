// Command gen writes a new versioned migration for each dialect when the Ent schema has moved
// past the migration files: Atlas replays the files on an empty dev database and diffs the
// result against the schema. An up-to-date directory gets no new file, so `go generate` in CI
// doubles as the staleness check.
//
// PostgreSQL needs a dev server: GOKART_DEV_DATABASE_URL, or the local one on 127.0.0.1:5432.
//
// On PostgreSQL the tables of the Ent schemas annotated schema.Tenant get keys by account
// (package tenantkeys): Ent knows only single-column keys, so the desired schema is rewritten before the
// diff, and the files stay the only place the composite keys are spelled out.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"time"

	"ariga.io/atlas/sql/migrate"
	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/schema"
	_ "github.com/lib/pq"
	_ "modernc.org/sqlite"

	entmigrate "github.com/gokart/gokart/ent/migrate"
	"github.com/gokart/gokart/migrations/internal/tenantkeys"
)

func main() {
	name := flag.String("name", "change", "name of a new migration")
	rehash := flag.Bool("rehash", false, "only rewrite atlas.sum of both directories, after a hand edit of a new file")
	flag.Parse()
	ctx := context.Background()
	if *rehash {
		for _, d := range []string{"sqlite", "postgres"} {
			if err := writeSum(d); err != nil {
				log.Fatal(err)
			}
		}
		return
	}
	hook, err := tenantkeys.Hook("../ent/schema")
	if err != nil {
		log.Fatal(err)
	}
	if err := diff(ctx, dialect.SQLite, "sqlite", "file:migrategen?mode=memory&_pragma=foreign_keys(1)", "sqlite", *name, nil); err != nil {
		log.Fatal(err)
	}
	pgURL := os.Getenv("GOKART_DEV_DATABASE_URL")
	if pgURL == "" {
		pgURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	devURL, drop, err := scratchDatabase(ctx, pgURL)
	if err != nil {
		log.Fatalf("postgres dev database (set GOKART_DEV_DATABASE_URL): %v", err)
	}
	defer drop()
	if err := diff(ctx, dialect.Postgres, "postgres", devURL, "postgres", *name, hook); err != nil {
		drop()
		log.Fatal(err)
	}
}

func diff(ctx context.Context, dialectName, driver, dsn, dirName, name string, hook schema.DiffHook) error {
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	dir, err := migrate.NewLocalDir(dirName)
	if err != nil {
		return fmt.Errorf("open %s: %w", dirName, err)
	}
	opts := []schema.MigrateOption{
		schema.WithDir(dir),
		schema.WithMigrationMode(schema.ModeReplay),
		schema.WithDialect(dialectName),
		schema.WithFormatter(migrate.DefaultFormatter),
		schema.WithDropColumn(true),
		schema.WithDropIndex(true),
	}
	if hook != nil {
		opts = append(opts, schema.WithDiffHook(hook))
	}
	m, err := schema.NewMigrate(entsql.OpenDB(dialectName, db), opts...)
	if err != nil {
		return err
	}
	if err := m.NamedDiff(ctx, name, entmigrate.Tables...); err != nil {
		return fmt.Errorf("diff %s: %w", dirName, err)
	}
	return nil
}

// scratchDatabase makes an empty database on the dev server and returns its URL and a dropper.
func scratchDatabase(ctx context.Context, serverURL string) (string, func(), error) {
	admin, err := sql.Open("postgres", serverURL)
	if err != nil {
		return "", nil, err
	}
	name := fmt.Sprintf("gokart_migrategen_%d_%d", os.Getpid(), time.Now().UnixNano()%1e6)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		return "", nil, err
	}
	u, err := url.Parse(serverURL)
	if err != nil {
		return "", nil, err
	}
	u.Path = "/" + name
	return u.String(), func() {
		_, _ = admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		admin.Close()
	}, nil
}

// writeSum rewrites a directory's atlas.sum.
func writeSum(dirName string) error {
	dir, err := migrate.NewLocalDir(dirName)
	if err != nil {
		return err
	}
	sum, err := dir.Checksum()
	if err != nil {
		return err
	}
	return migrate.WriteSumFile(dir, sum)
}
