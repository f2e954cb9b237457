// Package storage opens the database named by DATABASE_URL: PostgreSQL through lib/pq in
// production, or an embedded SQLite file through a pure-Go driver for a zero-setup first run.
package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	_ "modernc.org/sqlite" // registers "sqlite"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/hook"
	_ "github.com/gokart/gokart/ent/runtime" // registers schema hooks and interceptors
)

// DefaultSQLitePath is where the database lives when DATABASE_URL is unset.
const DefaultSQLitePath = "gokart.db"

// PostgresPoolSize is the most connections to PostgreSQL one process opens, DB.GenericSQL's
// aside (GenericPoolSize more). More connections than the database has cores to run them only
// queue inside PostgreSQL, where waiting costs lock and snapshot work; queueing in the pool is
// cheaper.
var PostgresPoolSize = 12

// DB is an open database: the raw handle for migrations and health checks, and the Ent client.
type DB struct {
	SQL     *sql.DB
	Dialect string
	Client  *ent.Client
	// GenericSQL, on PostgreSQL, is a second, smaller pool whose sessions plan a prepared
	// statement once for every argument (plan_cache_mode=force_generic_plan), and GenericClient
	// the Ent client on it: for reads of many parts, such as the offerwall's, whose custom plans
	// PostgreSQL estimates cheaper than the generic one and so makes afresh on every run, which
	// costs more than running them. Nil on SQLite and on Citus (onCitus), where Generic is Client.
	GenericSQL    *sql.DB
	GenericClient *ent.Client
}

// GenericPoolSize is the most connections of DB.GenericSQL's pool, besides PostgresPoolSize.
var GenericPoolSize = 4

// Generic is the client for statements that cost more to plan than to run: GenericClient, or
// Client where there is none.
func (d *DB) Generic() *ent.Client {
	if d.GenericClient != nil {
		return d.GenericClient
	}
	return d.Client
}

// Open connects to url: "" or "sqlite:PATH" or a path ending in .db for SQLite, postgres:// or
// postgresql:// for PostgreSQL. It does not migrate.
func Open(ctx context.Context, url string, opts ...ent.Option) (*DB, error) {
	drv, name, err := openSQL(url)
	if err != nil {
		return nil, err
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := drv.PingContext(pingCtx); err != nil {
		drv.Close()
		return nil, fmt.Errorf("connect to %s database: %w", name, err)
	}
	db := &DB{SQL: drv, Dialect: name, Client: newClient(name, drv, opts)}
	if name == dialect.Postgres && !onCitus(pingCtx, drv) {
		generic, err := openPostgres(url, GenericPoolSize, true)
		if err != nil {
			drv.Close()
			return nil, err
		}
		// A server or pooler that refuses the setting (PgBouncer: "unsupported startup
		// parameter") leaves those statements on the main pool, planned as before.
		if err := generic.PingContext(pingCtx); err != nil {
			generic.Close()
			slog.Default().Warn("no generic-plan pool: the offerwall's page statement is planned on every page", "err", err)
			return db, nil
		}
		db.GenericSQL, db.GenericClient = generic, newClient(name, generic, opts)
	}
	return db, nil
}

// onCitus says whether the database has the citus extension, true when it cannot tell. A Citus
// coordinator keeps PostgreSQL's default planning: how it routes a multi-part statement planned
// generically has not been checked on a cluster.
func onCitus(ctx context.Context, db *sql.DB) bool {
	citus := true
	_ = db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')`).Scan(&citus)
	return citus
}

// newClient is the Ent client on pool, with the hooks every client of the database needs.
func newClient(name string, pool *sql.DB, opts []ent.Option) *ent.Client {
	client := ent.NewClient(append([]ent.Option{ent.Driver(entsql.OpenDB(name, pool))}, opts...)...)
	client.Offer.Use(hook.On(routeOffers, ent.OpCreate))
	return client
}

// openPostgres is a pool of at most size connections to url; with genericPlans its sessions
// plan prepared statements once (DB.GenericSQL). Connections open when first used.
func openPostgres(url string, size int, genericPlans bool) (*sql.DB, error) {
	conn, err := postgresConnector(url, genericPlans)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(size)
	db.SetMaxIdleConns(size)
	db.SetConnMaxIdleTime(5 * time.Minute)
	return db, nil
}

func openSQL(url string) (*sql.DB, string, error) {
	switch {
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		db, err := openPostgres(url, PostgresPoolSize, false)
		if err != nil {
			return nil, "", err
		}
		return db, dialect.Postgres, nil
	case url == "", strings.HasPrefix(url, "sqlite:"), strings.HasSuffix(url, ".db"):
		path := strings.TrimPrefix(strings.TrimPrefix(url, "sqlite://"), "sqlite:")
		if path == "" {
			path = DefaultSQLitePath
		}
		db, err := sql.Open("sqlite", SQLiteDSN(path))
		if err != nil {
			return nil, "", fmt.Errorf("open sqlite %s: %w", path, err)
		}
		// One connection: SQLite takes one writer at a time, so requests queue in the pool
		// instead of failing with "database is locked".
		db.SetMaxOpenConns(1)
		return db, dialect.SQLite, nil
	default:
		return nil, "", fmt.Errorf("DATABASE_URL %q: want postgres://… or a SQLite file (sqlite:PATH)", redact(url))
	}
}

// SQLiteDSN is the modernc DSN for a file with WAL, a busy timeout and foreign keys on. SQLite
// keeps times as text, which orders correctly only when every one has the same offset:
// _timezone=UTC writes and reads them in UTC whatever the host's zone.
func SQLiteDSN(path string) string {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return "file:" + path + sep + "_timezone=UTC&_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(FULL)&_txlock=immediate"
}

// redact hides a password in a URL for error messages.
func redact(url string) string {
	if at := strings.LastIndex(url, "@"); at > 0 {
		if i := strings.Index(url, "://"); i >= 0 && i < at {
			return url[:i+3] + "…" + url[at:]
		}
	}
	return url
}

// Close closes the clients and their pools.
func (d *DB) Close() error {
	var generic error
	if d.GenericClient != nil {
		generic = d.GenericClient.Close()
	}
	return errors.Join(d.Client.Close(), generic)
}
