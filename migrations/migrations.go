// Package migrations applies the versioned schema migrations embedded in the binary. The files
// are generated from the Ent schema by Atlas (`go generate ./migrations`), one directory per
// dialect, and checked against their atlas.sum before anything runs.
package migrations

//go:generate go run ./internal/gen

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"time"

	"ariga.io/atlas/sql/migrate"
	"entgo.io/ent/dialect"
)

//go:embed postgres/*.sql postgres/atlas.sum sqlite/*.sql sqlite/atlas.sum
var files embed.FS

// revisionsTable records which migration files have run.
const revisionsTable = "gokart_schema_revisions"

// lockID is the PostgreSQL advisory lock that keeps replicas starting together from migrating twice.
const lockID = 7_212_042_526

// Dir returns the migration directory for a dialect, verified against its atlas.sum.
func Dir(dialectName string) (migrate.Dir, error) {
	sub := map[string]string{dialect.Postgres: "postgres", dialect.SQLite: "sqlite"}[dialectName]
	if sub == "" {
		return nil, fmt.Errorf("no migrations for dialect %q", dialectName)
	}
	mem := &migrate.MemDir{}
	entries, err := fs.ReadDir(files, sub)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		b, err := fs.ReadFile(files, sub+"/"+e.Name())
		if err != nil {
			return nil, err
		}
		if err := mem.WriteFile(e.Name(), b); err != nil {
			return nil, err
		}
	}
	if err := migrate.Validate(mem); err != nil {
		return nil, fmt.Errorf("migration directory %s does not match its atlas.sum: %w", sub, err)
	}
	return mem, nil
}

// AfterApply, when set, runs at the end of every Apply on PostgreSQL, on the migrating connection
// while the migration lock is still held. Only tests set it: internal/dbtest distributes the
// tables when the test server is a Citus coordinator (TEST_CITUS=1).
var AfterApply func(ctx context.Context, conn *sql.Conn) error

// Apply runs every migration file not yet applied, each in its own transaction, and returns the
// versions it applied.
func Apply(ctx context.Context, db *sql.DB, dialectName string) ([]string, error) {
	dir, err := Dir(dialectName)
	if err != nil {
		return nil, err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if dialectName == dialect.Postgres {
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", lockID); err != nil {
			return nil, fmt.Errorf("take migration lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", lockID) //nolint:errcheck
	}
	if _, err := conn.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS "+revisionsTable+
		" (version VARCHAR(64) PRIMARY KEY, description VARCHAR(255) NOT NULL, applied_at TIMESTAMP NOT NULL)"); err != nil {
		return nil, fmt.Errorf("create %s: %w", revisionsTable, err)
	}
	applied := map[string]bool{}
	rows, err := conn.QueryContext(ctx, "SELECT version FROM "+revisionsTable)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return nil, err
		}
		applied[v] = true
	}
	rows.Close()
	migFiles, err := dir.Files()
	if err != nil {
		return nil, err
	}
	var done []string
	for _, f := range migFiles {
		if applied[f.Version()] {
			continue
		}
		if err := applyFile(ctx, conn, dialectName, f); err != nil {
			return done, err
		}
		done = append(done, f.Version())
	}
	if AfterApply != nil && dialectName == dialect.Postgres {
		if err := AfterApply(ctx, conn); err != nil {
			return done, fmt.Errorf("after migrating: %w", err)
		}
	}
	return done, nil
}

func applyFile(ctx context.Context, conn *sql.Conn, dialectName string, f migrate.File) error {
	stmts, err := f.Stmts()
	if err != nil {
		return fmt.Errorf("read migration %s: %w", f.Name(), err)
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("migration %s: %w\n%s", f.Name(), err, s)
		}
	}
	insert := "INSERT INTO " + revisionsTable + " (version, description, applied_at) VALUES (?, ?, ?)"
	if dialectName == dialect.Postgres {
		insert = "INSERT INTO " + revisionsTable + " (version, description, applied_at) VALUES ($1, $2, $3)"
	}
	if _, err := tx.ExecContext(ctx, insert, f.Version(), f.Desc(), time.Now().UTC()); err != nil {
		return fmt.Errorf("record migration %s: %w", f.Name(), err)
	}
	return tx.Commit()
}
