package postback_test

import (
	"database/sql"
	"fmt"
	"reflect"
	"testing"

	"entgo.io/ent/dialect"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/internal/apitest"
	"github.com/gokart/gokart/internal/dbtest"
)

// TestOneStatementWritesWhatTheTransactionWrites: an offer's first accepted postback takes the
// general path (its budget shards do not exist yet, so the one statement writes nothing and
// the transaction makes them), its second the one statement (acceptInOne). Both write the same
// rows but for ids, times and the click: the conversion with its charge, its first history step,
// the log row and the queued callback, and both charge the budget.
func TestOneStatementWritesWhatTheTransactionWrites(t *testing.T) {
	t.Parallel()
	t.Log("PostgreSQL only: SQLite has no one-statement path")
	if dbtest.Citus() {
		t.Log("Citus: both postbacks take the general path (Service.oneStatementOn); the rows must still match")
	}
	db := dbtest.Open(t, dialect.Postgres)
	srv := apitest.Start(t, db)
	keys := srv.NewAccount(t, "one statement")
	listen(t, db.Client, keys.ID)
	o := newOffer(t, db.Client, keys.ID, func(c *ent.OfferCreate) { c.SetBudgetTotal(100_000_000) }, eventSpec{id: "Sale", payout: payout})
	for i := 1; i <= 2; i++ {
		gk := click(t, srv, o.ID, fmt.Sprint("m", i))
		if status, body := pb(t, srv.URL, keys.PostbackKey, "gk_click_id="+gk, "cnv_event_id=Sale",
			fmt.Sprintf("cnv_conversion_id=N%d", i), "cnv_payout=9.99", "cnv_currency=EUR", "foo=bar"); status != 200 || body != "accepted" {
			t.Fatalf("postback %d: %d %s", i, status, body)
		}
	}
	rows := func(query string) [][]any {
		t.Helper()
		r, err := db.SQL.Query(query, keys.ID)
		if err != nil {
			t.Fatalf("%v\n%s", err, query)
		}
		defer r.Close()
		cols, _ := r.Columns()
		var out [][]any
		for r.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := r.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				if b, ok := v.([]byte); ok {
					vals[i] = string(b)
				}
			}
			out = append(out, vals)
		}
		if err := r.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	same := func(what, query string) {
		t.Helper()
		got := rows(query)
		if len(got) != 2 {
			t.Fatalf("%s: %d rows, want 2 (one per postback):\n%v", what, len(got), got)
		}
		if !reflect.DeepEqual(got[0], got[1]) {
			t.Errorf("%s differ:\n general path   %v\n one statement  %v", what, got[0], got[1])
		}
	}
	same("conversions", `SELECT integration_system, status, reason, payout, amount, currency, extras::text, budget_shard IS NOT NULL,
 charged_counters::text, offer_id, offer_event_id, reported_currency, repeat_key, test, created_at = updated_at,
 network_conversion_id IS NOT NULL, pub_member_id IS NOT NULL
FROM conversions WHERE account_id = $1 ORDER BY id`)
	same("history", `SELECT h.from_status, h.to_status, h.reason, h.source, h.kind, h.created_at = c.created_at
FROM conversion_status_changes h JOIN conversions c ON c.account_id = h.account_id AND c.id = h.conversion_id
WHERE h.account_id = $1 ORDER BY h.id`)
	same("postback logs", `SELECT l.outcome, l.http_status, l.reason, l.offer_id, l.test, l.source_ip, l.created_at = c.created_at,
 replace(l.raw_query, c.network_conversion_id, 'N') LIKE '%cnv_conversion_id=N%'
FROM postback_logs l JOIN conversions c ON c.account_id = l.account_id AND c.id = l.conversion_id
WHERE l.account_id = $1 ORDER BY l.id`)
	same("callbacks", `SELECT d.endpoint_id, d.sequence, d.event, d.from_status, d.to_status, d.status, d.attempts,
 d.next_attempt_at = c.created_at, d.created_at = c.created_at
FROM callback_deliveries d JOIN conversions c ON c.account_id = d.account_id AND c.id = d.conversion_id
WHERE d.account_id = $1 ORDER BY d.id`)
	var spent sql.NullInt64
	if err := db.SQL.QueryRow(`SELECT SUM(spent) FROM offer_budget_shards WHERE account_id = $1 AND offer_id = $2`, keys.ID, o.ID).Scan(&spent); err != nil {
		t.Fatal(err)
	}
	if spent.Int64 != 2*int64(payout) {
		t.Errorf("shards spent %d, want %d (both postbacks charged)", spent.Int64, 2*int64(payout))
	}
}

// TestARefusedOneStatementFallsBackToTheTransaction: a database that refuses the one statement
// as unsupported (feature_not_supported, as a distributed database may answer; planted here as
// a trigger on the inserts only that statement makes, which carry their charge) loses no
// postback: it and every later one are recorded by the general path.
func TestARefusedOneStatementFallsBackToTheTransaction(t *testing.T) {
	t.Parallel()
	for _, code := range []string{"feature_not_supported", "deadlock_detected"} {
		t.Run(code, func(t *testing.T) { t.Parallel(); refusedOneStatement(t, code) })
	}
}

// refusedOneStatement: the one statement fails with the SQLSTATE named code; every postback is
// still accepted and charged (deadlock_detected: the victim of a deadlock, which wrote nothing).
func refusedOneStatement(t *testing.T, code string) {
	t.Log("PostgreSQL only: SQLite has no one-statement path")
	db := dbtest.Open(t, dialect.Postgres)
	if _, err := db.SQL.Exec(`CREATE FUNCTION refuse_charged_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.budget_shard IS NOT NULL THEN
    RAISE EXCEPTION 'refused here' USING ERRCODE = '` + code + `';
  END IF;
  RETURN NEW;
END $$`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL.Exec(`CREATE TRIGGER refuse_charged_insert BEFORE INSERT ON conversions FOR EACH ROW EXECUTE FUNCTION refuse_charged_insert()`); err != nil {
		t.Fatal(err)
	}
	srv := apitest.Start(t, db)
	keys := srv.NewAccount(t, "refused")
	o := newOffer(t, db.Client, keys.ID, func(c *ent.OfferCreate) { c.SetBudgetTotal(100_000_000) }, eventSpec{id: "Sale", payout: payout})
	for i := 1; i <= 3; i++ {
		gk := click(t, srv, o.ID, fmt.Sprint("m", i))
		if status, body := pb(t, srv.URL, keys.PostbackKey, "gk_click_id="+gk, "cnv_event_id=Sale", fmt.Sprintf("cnv_conversion_id=R%d", i)); status != 200 || body != "accepted" {
			t.Fatalf("postback %d: %d %s", i, status, body)
		}
	}
	var n int
	var spent sql.NullInt64
	if err := db.SQL.QueryRow(`SELECT COUNT(*), (SELECT SUM(spent) FROM offer_budget_shards WHERE account_id = $1) FROM conversions
WHERE account_id = $1 AND budget_shard IS NOT NULL`, keys.ID).Scan(&n, &spent); err != nil {
		t.Fatal(err)
	}
	if n != 3 || spent.Int64 != 3*int64(payout) {
		t.Errorf("%d charged conversions, %d spent; want 3 and %d", n, spent.Int64, 3*int64(payout))
	}
}
