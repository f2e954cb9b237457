package dbtest

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Prefill gives an account history on PostgreSQL, fast (generate_series, no round trip per
// row): clicks on the offer, and one APPROVED conversion with its history step for each of the
// first conversions of them, on the event; and 200 more offers of 5 events each. Plans and costs measured after it are those of an
// account with history, not of tables so small that any plan is a sequential scan. The tables
// are analyzed afterwards, as autovacuum would.
func Prefill(t testing.TB, db *sql.DB, accountID, offerID, eventID, clicks, conversions int) {
	t.Helper()
	ctx := context.Background()
	for _, s := range []struct {
		q    string
		args []any
	}{
		{`INSERT INTO clicks (account_id, offer_id, gk_click_id, pub_member_id, created_at)
SELECT CAST($1 AS BIGINT), CAST($2 AS BIGINT), 'prefill-' || CAST($1 AS BIGINT) || '-' || g, 'pm-' || g, now() - make_interval(secs => g)
FROM generate_series(1, $3) g`, []any{accountID, offerID, clicks}},
		{`INSERT INTO conversions (account_id, click_id, offer_id, offer_event_id, integration_system, network_conversion_id,
 status, payout, currency, pub_member_id, created_at, updated_at)
SELECT c.account_id, c.id, c.offer_id, $3, o.integration_system, 'prefill-' || c.id, 'APPROVED', 1000000, o.currency,
 c.pub_member_id, c.created_at, c.created_at
FROM clicks c JOIN offers o ON o.account_id = c.account_id AND o.id = c.offer_id
WHERE c.account_id = $1 AND c.offer_id = $2 AND c.gk_click_id LIKE 'prefill-%' ORDER BY c.id LIMIT $4`,
			[]any{accountID, offerID, eventID, conversions}},
		{`INSERT INTO conversion_status_changes (account_id, conversion_id, to_status, source, created_at)
SELECT account_id, id, 'APPROVED', 'POSTBACK', created_at FROM conversions
WHERE account_id = $1 AND network_conversion_id LIKE 'prefill-%'`, []any{accountID}},
		// A catalogue beside the offer: 200 more offers of 5 events each.
		{`INSERT INTO offers (created_at, updated_at, name, type, integration_system, status, currency, account_id)
SELECT now(), now(), 'prefill ' || g, 'MULTI_EVENT', 'IMPACT', 'PAUSED', 'USD', CAST($1 AS BIGINT) FROM generate_series(1, 200) g`, []any{accountID}},
		{`INSERT INTO offer_events (created_at, updated_at, name, event_id, match_key, payout, offer_id, account_id)
SELECT now(), now(), 'e' || g, 'e' || g, 'e' || g, 1000, o.id, o.account_id
FROM offers o CROSS JOIN generate_series(1, 5) g WHERE o.account_id = $1 AND o.name LIKE 'prefill %'`, []any{accountID}},
		{`ANALYZE`, nil},
	} {
		if _, err := db.ExecContext(ctx, s.q, s.args...); err != nil {
			t.Fatalf("prefill: %v\n%s", err, s.q)
		}
	}
}

// Explain returns PostgreSQL's plan of a statement with its arguments, as text. The statement
// is planned, not run (no ANALYZE): the plan is what tests assert, and a write writes nothing.
// Sequential scans are disabled for the plan: a test's accounts, offers and events are a few
// rows, which a scan reads faster than an index, while production's are not; with scans
// disabled the planner still scans a table that no index can answer, so a scan left in the plan
// is a missing key. The big tables (clicks, conversions) are prefilled and would be planned the
// same with scans enabled.
func Explain(t testing.TB, db *sql.DB, query string, args ...any) string {
	t.Helper()
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck
	query, args = explainOnCitus(t, tx, query, args)
	if _, err := tx.ExecContext(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
		t.Fatal(err)
	}
	rows, err := tx.QueryContext(ctx, "EXPLAIN (COSTS OFF) "+query, args...)
	if err != nil {
		t.Fatalf("explain: %v\n%s", err, query)
	}
	plan := planText(t, rows)
	var indexes []string
	if citus {
		indexes = indexNames(t, tx)
	}
	return citusShardNames(plan, indexes)
}

// ExplainGeneric is Explain of the plan a session of pool keeps for query once prepared: with
// pool's plan_cache_mode=force_generic_plan (storage.DB.GenericSQL), the generic plan, its
// arguments unbound. The arguments are written into EXECUTE as literals.
func ExplainGeneric(t testing.TB, pool *sql.DB, query string, args ...any) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pool.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Back to the pool as it came (but the driver's own prepared statements): the reset is
	// registered before anything it undoes.
	prepared := false
	defer func() {
		reset := "RESET enable_seqscan"
		if prepared {
			reset = "DEALLOCATE explain_probe; " + reset
		}
		if _, err := conn.ExecContext(ctx, reset); err != nil {
			t.Errorf("reset the connection: %v", err)
		}
	}()
	for _, q := range []string{"SET enable_seqscan = off", "PREPARE explain_probe AS " + query} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
	}
	prepared = true
	literals := make([]string, len(args))
	for i, a := range args {
		if v, ok := a.(driver.Valuer); ok {
			a, _ = v.Value()
		}
		switch v := a.(type) {
		case int, int64:
			literals[i] = fmt.Sprint(v)
		case string:
			literals[i] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
		case time.Time:
			literals[i] = "'" + v.UTC().Format(time.RFC3339Nano) + "'"
		default:
			t.Fatalf("argument %d: no literal for %T", i+1, a)
		}
	}
	rows, err := conn.QueryContext(ctx, "EXPLAIN (COSTS OFF) EXECUTE explain_probe("+strings.Join(literals, ", ")+")")
	if err != nil {
		t.Fatal(err)
	}
	return planText(t, rows)
}

// planText reads an EXPLAIN's lines, one per row, and closes rows.
func planText(t testing.TB, rows *sql.Rows) string {
	t.Helper()
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		b.WriteString(line + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// indexNames lists the indexes of the schema the transaction works in.
func indexNames(t testing.TB, tx *sql.Tx) []string {
	t.Helper()
	rows, err := tx.Query(`SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		out = append(out, name)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// Tenant makes an account with an ACTIVE Impact offer and one event (payout 1 USD) on
// PostgreSQL, by SQL, for the plan tests and benchmarks of packages that cannot import the
// account helpers.
func Tenant(t testing.TB, db *sql.DB, postbackKey string) (accountID, offerID, eventID int) {
	t.Helper()
	ctx := context.Background()
	err := db.QueryRowContext(ctx, `INSERT INTO accounts (created_at, updated_at, name, postback_key)
VALUES (now(), now(), $1, $1) RETURNING id`, postbackKey).Scan(&accountID)
	if err == nil {
		err = db.QueryRowContext(ctx, `INSERT INTO offers (created_at, updated_at, name, type, integration_system, status,
 tracking_link, click_url_template, currency, one_completion_per_member, account_id)
VALUES (now(), now(), 'plan offer', 'SINGLE_EVENT', 'IMPACT', 'ACTIVE', 'https://brand.sjv.io/c/1/2/3',
 'https://brand.sjv.io/c/1/2/3?subid1={gk_click_id}', 'USD', false, $1) RETURNING id`, accountID).Scan(&offerID)
	}
	if err == nil {
		err = db.QueryRowContext(ctx, `INSERT INTO offer_events (created_at, updated_at, name, event_id, match_key, payout, offer_id, account_id)
VALUES (now(), now(), 'sale', 'sale', 'sale', 1000000, $1, $2) RETURNING id`, offerID, accountID).Scan(&eventID)
	}
	if err != nil {
		t.Fatalf("tenant fixture: %v", err)
	}
	return accountID, offerID, eventID
}

// seqScan is a sequential scan of a tenant table; scans of tiny relations such as a VALUES list
// are not it.
var seqScan = regexp.MustCompile(`Seq Scan on (\w+)`)

// scanOf is the relation a plan line scans.
var scanOf = regexp.MustCompile(`Scan (?:Backward )?(?:using \w+ )?on (\w+)`)

// idFilter is a row's id compared after the index: the row was found some other way, reading
// every row of the account the index returned (a redundant offer_id after a key probe is fine).
var idFilter = regexp.MustCompile(`Filter: [^\n]*[(. ]id = `)

// RequireKeyed fails the test unless the plan reads tenant tables only through indexes, with no
// id left to a filter, and uses each of the indexes named, each with account_id as an index
// condition.
func RequireKeyed(t testing.TB, name, plan string, indexes ...string) {
	t.Helper()
	requireRouter(t, name, plan)
	if m := seqScan.FindStringSubmatch(plan); m != nil {
		t.Errorf("%s: sequential scan on %s:\n%s", name, m[1], plan)
	}
	// The account row, found by its unique postback key, may check its id as a filter: accounts
	// is no tenant table (a reference table on Citus) and the key returns one row.
	relation := ""
	for _, line := range strings.Split(plan, "\n") {
		if m := scanOf.FindStringSubmatch(line); m != nil {
			relation = m[1]
		}
		if m := idFilter.FindString(line); m != "" && relation != "accounts" {
			t.Errorf("%s: %q on %s: an id is filtered, not looked up:\n%s", name, m, relation, plan)
		}
	}
	for _, idx := range indexes {
		re := regexp.MustCompile(`(?:Index|Index Only|Bitmap Index) Scan (?:Backward )?(?:using|on) ` + regexp.QuoteMeta(idx) + `\b[^\n]*\n(?:[^\n]*\n)*?\s+Index Cond: \([^\n]*account_id = `)
		if !re.MatchString(plan) {
			t.Errorf("%s: no index scan of %s with account_id in its condition:\n%s", name, idx, plan)
		}
	}
}
