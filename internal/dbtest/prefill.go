package dbtest

import (
	"context"
	"database/sql"
	"strings"
	"testing"
)

// Prefill gives an account history on PostgreSQL, fast (generate_series, no round trip per
// row): clicks on the offer, and one APPROVED conversion with its history step for each of the
// first conversions of them, on the event. Plans and costs measured after it are those of an
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
SELECT $1, $2, 'prefill-' || $1 || '-' || g, 'pm-' || g, now() - make_interval(secs => g)
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
		{`ANALYZE`, nil},
	} {
		if _, err := db.ExecContext(ctx, s.q, s.args...); err != nil {
			t.Fatalf("prefill: %v\n%s", err, s.q)
		}
	}
}

// Explain returns PostgreSQL's plan of a statement with its arguments, as text. Statements that
// write run inside a transaction that is rolled back (EXPLAIN ANALYZE is not used: the plan is
// what is asserted, not the timing).
func Explain(t testing.TB, db *sql.DB, query string, args ...any) string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), "EXPLAIN (COSTS OFF) "+query, args...)
	if err != nil {
		t.Fatalf("explain: %v\n%s", err, query)
	}
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
