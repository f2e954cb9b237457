package dbtest

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/gokart/gokart/migrations"
)

// With TEST_CITUS=1 and TEST_DATABASE_URL pointing at a Citus coordinator, the PostgreSQL half of
// the suite runs with gokart's tables distributed as docs/citus.md says: every table with an
// account_id column is distributed by it (all colocated), the others become reference tables.
//
// Each test keeps its own schema on the one coordinator database rather than a database of its
// own: Citus propagates CREATE SCHEMA and DROP SCHEMA ... CASCADE to the workers, while a new
// database would need the citus extension created in it and propagated by hand on every node.
// The hook runs after every migrations.Apply, wherever a test migrates, so the tables are
// distributed before any row is written.
var citus = os.Getenv("TEST_CITUS") == "1"

// Citus says whether the tests run against a Citus coordinator (TEST_CITUS=1).
func Citus() bool { return citus }

func init() {
	if citus {
		migrations.AfterApply = distribute
	}
}

// citusShardCount keeps each test's set-up short (every shard is a table on a worker) while still
// spreading accounts over both workers, so a statement without account_id still fans out.
const citusShardCount = 4

// notDistributed are tables that stay local to the coordinator: gokart's own bookkeeping.
var notDistributed = []string{"gokart_schema_revisions"}

// SharedWithAccountID are the tables with an account_id that are not tenant tables (reference
// tables on Citus): an API key is found by its hash, and an offer's account by the offer id,
// before the account is known.
var SharedWithAccountID = []string{"api_keys", "offer_routes"}

// distribute makes every table of the current schema a distributed or reference table, as an
// operator would on an empty database. The foreign keys between the tables are dropped first and
// added back after: a local table with a key to a reference table becomes a "Citus local table",
// which create_distributed_table then has to convert, and Citus refuses to convert a table with
// an identity column (every gokart table has one). Adding them back is where Citus checks them
// (colocated, on account_id, no SET NULL of the distribution column). A second Apply finds the
// tables distributed and does nothing.
func distribute(ctx context.Context, conn *sql.Conn) error {
	var schema string
	if err := conn.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return err
	}
	var undistributed int
	if err := conn.QueryRowContext(ctx, `
		SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relkind = 'r' AND c.relname <> ALL($2)
		  AND NOT EXISTS (SELECT 1 FROM pg_dist_partition p WHERE p.logicalrelid = c.oid)`,
		schema, pq.Array(notDistributed)).Scan(&undistributed); err != nil {
		return fmt.Errorf("list tables (is the citus extension installed on %s?): %w", redact(PostgresURL()), err)
	}
	if undistributed == 0 {
		return nil
	}
	var stmts, readd []string
	if err := collect(ctx, conn, &readd, `
		SELECT format('ALTER TABLE %I.%I ADD CONSTRAINT %I %s', $1::text, c.relname, k.conname, pg_get_constraintdef(k.oid))
		FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND k.contype = 'f' ORDER BY c.relname, k.conname`, schema); err != nil {
		return err
	}
	if err := collect(ctx, conn, &stmts, `
		SELECT format('ALTER TABLE %I.%I DROP CONSTRAINT %I', $1::text, c.relname, k.conname)
		FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND k.contype = 'f' ORDER BY c.relname, k.conname`, schema); err != nil {
		return err
	}
	// Tables with account_id are distributed by it, the first with citusShardCount shards in a
	// colocation group of its own (tests run in parallel, and DDL on one group's tables takes the
	// group's locks) and the others colocated with it; the rest (and SharedWithAccountID) are
	// reference tables.
	if err := collect(ctx, conn, &stmts, `
		WITH t AS (
			SELECT format('%I.%I', $1::text, c.relname) AS name,
			       EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'account_id' AND NOT a.attisdropped)
			       AND c.relname <> ALL($4) AS tenant
			FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = $1 AND c.relkind = 'r' AND c.relname <> ALL($2))
		SELECT CASE
			WHEN NOT tenant THEN format('SELECT create_reference_table(%L)', name)
			WHEN row_number() OVER (PARTITION BY tenant ORDER BY name) = 1
				THEN format('SELECT create_distributed_table(%L, ''account_id'', shard_count => %s, colocate_with => ''none'')', name, $3::int)
			ELSE format('SELECT create_distributed_table(%L, ''account_id'', colocate_with => %L)', name,
				first_value(name) OVER (PARTITION BY tenant ORDER BY name))
			END
		FROM t ORDER BY tenant, name`, schema, pq.Array(notDistributed), citusShardCount, pq.Array(SharedWithAccountID)); err != nil {
		return err
	}
	for _, s := range stmts {
		if err := execRetried(ctx, conn, s); err != nil {
			return fmt.Errorf("distribute on Citus: %s: %w", s, err)
		}
	}
	var errs []error
	for _, s := range readd {
		if err := execRetried(ctx, conn, s); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("foreign keys Citus refuses on distributed tables: %w", errors.Join(errs...))
	}
	return nil
}

// execRetried runs a statement again when Citus cancels it as part of a distributed deadlock:
// parallel tests add foreign keys to their reference tables at once, and these take locks on
// every node.
func execRetried(ctx context.Context, conn *sql.Conn, stmt string) error {
	var err error
	for range 5 {
		if _, err = conn.ExecContext(ctx, stmt); err == nil {
			return nil
		}
		var pqErr *pq.Error
		if !errors.As(err, &pqErr) || pqErr.Code != "40P01" {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
	return err
}

// collect appends the one text column of every row the query returns.
func collect(ctx context.Context, conn *sql.Conn, into *[]string, query string, args ...any) error {
	rows, err := conn.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return err
		}
		*into = append(*into, s)
	}
	return rows.Err()
}

// explainOnCitus makes the SET LOCAL that follows reach the workers, which plan each shard's
// statement (without it they would plan with sequential scans enabled), and writes the arguments
// into the statement: Citus cannot plan an EXPLAIN whose parameters feed a CTE ("could not
// create distributed plan"), while the server's executions, with bound values, run fine.
func explainOnCitus(t testing.TB, tx *sql.Tx, query string, args []any) (string, []any) {
	t.Helper()
	if !citus {
		return query, args
	}
	if _, err := tx.Exec("SET LOCAL citus.propagate_set_commands = 'local'"); err != nil {
		t.Fatal(err)
	}
	lits := make([]string, len(args))
	for i, a := range args {
		lits[i] = literal(t, a)
	}
	query = placeholder.ReplaceAllStringFunc(query, func(p string) string {
		n, _ := strconv.Atoi(p[1:])
		if n < 1 || n > len(lits) {
			t.Fatalf("explain: %s without an argument", p)
		}
		return lits[n-1]
	})
	return query, nil
}

var placeholder = regexp.MustCompile(`\$\d+`)

// literal writes one argument as SQL, typed by the context it lands in as a parameter would be.
func literal(t testing.TB, a any) string {
	t.Helper()
	v, err := driver.DefaultParameterConverter.ConvertValue(a)
	if err != nil {
		t.Fatalf("explain argument %v: %v", a, err)
	}
	switch v := v.(type) {
	case nil:
		return "NULL"
	case int64, float64, bool:
		return fmt.Sprintf("'%v'", v)
	case time.Time:
		return pq.QuoteLiteral(v.UTC().Format(time.RFC3339Nano))
	case []byte:
		return pq.QuoteLiteral(string(v))
	case string:
		return pq.QuoteLiteral(v)
	}
	t.Fatalf("explain argument of type %T", v)
	return ""
}

// shardSuffix is the number Citus appends to a table or index name on its shards; shardAlias is
// a shard scanned under its table's name, which PostgreSQL prints after it ("on t_102008 t").
var (
	shardSuffix = regexp.MustCompile(`\b(\w+?)_\d{6,}\b`)
	shardAlias  = regexp.MustCompile(`\bon (\w+?)_\d{6,} (\w+)`)
)

// shortenedName is a shard index's name that Citus cut to fit 63 bytes with the shard id: a
// prefix of the index's name, then an 8-digit hexadecimal hash (the shard id follows).
var shortenedName = regexp.MustCompile(`\b(\w+)_[0-9a-f]{8}(_\d{6,})\b`)

// citusShardNames names a shard's tables and indexes as the tables and indexes they are shards
// of, so a plan assertion holds on Citus as on PostgreSQL; indexes are the schema's index
// names, to name the shortened ones by (one prefix names one index among gokart's).
func citusShardNames(plan string, indexes []string) string {
	if !citus {
		return plan
	}
	plan = shortenedName.ReplaceAllStringFunc(plan, func(m string) string {
		p := shortenedName.FindStringSubmatch(m)
		var match string
		for _, name := range indexes {
			if len(name) > len(p[1]) && strings.HasPrefix(name, p[1]) {
				if match != "" {
					return m // two indexes share the prefix: leave the name as Citus wrote it
				}
				match = name
			}
		}
		if match == "" {
			return m
		}
		return match + p[2]
	})
	plan = shardAlias.ReplaceAllStringFunc(plan, func(m string) string {
		p := shardAlias.FindStringSubmatch(m)
		if p[1] == p[2] {
			return "on " + p[1]
		}
		return "on " + p[1] + " " + p[2]
	})
	return shardSuffix.ReplaceAllString(plan, "$1")
}

// multiTask is a step of a Citus plan that runs on more than one shard.
var multiTask = regexp.MustCompile(`Task Count: (?:[02-9]|\d\d)`)

// requireRouter fails a hot statement's Citus plan unless it runs on one shard: a router
// query, one task, never a fan-out to every shard. (Plans without Citus's scan are PostgreSQL's,
// such as the ones RequireKeyed's own test feeds it.)
func requireRouter(t testing.TB, name, plan string) {
	t.Helper()
	if !citus || !strings.Contains(plan, "Custom Scan (Citus") {
		return
	}
	// A subplan is a statement of its own, run before this one (and read back on the coordinator).
	if strings.Contains(plan, "Distributed Subplan") || multiTask.MatchString(plan) {
		t.Errorf("%s: not a single-shard router query on Citus:\n%s", name, plan)
	}
}
