package budget

import (
	"strings"
	"testing"

	"entgo.io/ent/dialect"

	"github.com/gokart/gokart/internal/dbtest"
)

// TestChargeAndSpendStatementsUseTheKeysByAccount plans the budget charge and the offer lock of
// manual review and spend sync on PostgreSQL, with 64 shards for each of 201 offers and an
// account's worth of history: the shard is found by (account_id, offer_id, ...), the offer by its
// key (account_id, id). SQLite is not planned: single-column keys, never distributed.
func TestChargeAndSpendStatementsUseTheKeysByAccount(t *testing.T) {
	t.Parallel()
	t.Log("PostgreSQL only: the plans asserted here are PostgreSQL's (SQLite has single-column keys)")
	db := dbtest.Open(t, dialect.Postgres)
	acc, offerID, eventID := dbtest.Tenant(t, db.SQL, "pk-budget-plan")
	dbtest.Prefill(t, db.SQL, acc, offerID, eventID, 2000, 1000)
	if _, err := db.SQL.Exec(`INSERT INTO offer_budget_shards (account_id, offer_id, shard, budget_total, allotted, spent)
SELECT o.account_id, o.id, s, 100000000, 1000000, 0 FROM offers o CROSS JOIN generate_series(0, 63) s; ANALYZE offer_budget_shards`); err != nil {
		t.Fatal(err)
	}
	plan := dbtest.Explain(t, db.SQL, chargeShardSQL, 1000000, acc, offerID, 7, 100000000)
	dbtest.RequireKeyed(t, "budget charge", plan, "budgetshard_account_id_offer_id_shard")
	plan = dbtest.Explain(t, db.SQL, lockOfferSQL, acc, offerID)
	dbtest.RequireKeyed(t, "offer lock", plan, "offers_pkey")
	t.Logf("offer lock:\n%s", plan)
}

// TestAChargeReadsTheShardsFromItsStartOnly runs the budget charge on PostgreSQL over an offer's
// 64 shards: with room at the random start it takes that shard and reads no other (the wrapped
// half is never executed); with every shard from the start up full, it wraps to the first shard
// with room below it.
func TestAChargeReadsTheShardsFromItsStartOnly(t *testing.T) {
	t.Parallel()
	t.Log("PostgreSQL only: the charge statement is PostgreSQL's")
	db := dbtest.Open(t, dialect.Postgres)
	acc, offerID, _ := dbtest.Tenant(t, db.SQL, "pk-budget-charge")
	if _, err := db.SQL.Exec(`INSERT INTO offer_budget_shards (account_id, offer_id, shard, budget_total, allotted, spent)
SELECT $1, $2, s, 640000000, 10000000, 0 FROM generate_series(0, 63) s`, acc, offerID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL.Exec(`ANALYZE offer_budget_shards`); err != nil {
		t.Fatal(err)
	}
	var citus bool
	if err := db.SQL.QueryRow(`SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')`).Scan(&citus); err != nil {
		t.Fatal(err)
	}
	charge := func(start int) int {
		t.Helper()
		var shard int
		if err := db.SQL.QueryRow(chargeShardSQL, 1000000, acc, offerID, start, 640000000).Scan(&shard); err != nil {
			t.Fatalf("charge from %d: %v", start, err)
		}
		return shard
	}
	if got := charge(7); got != 7 {
		t.Errorf("charge from 7 took shard %d, want 7 (it has room)", got)
	}
	if !citus {
		tx, err := db.SQL.Begin()
		if err != nil {
			t.Fatal(err)
		}
		rows, err := tx.Query("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) "+chargeShardSQL, 1000000, acc, offerID, 7, 640000000)
		if err != nil {
			t.Fatal(err)
		}
		var plan strings.Builder
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan.WriteString(line + "\n")
		}
		rows.Close()
		_ = tx.Rollback()
		p := plan.String()
		wrapped, _, _ := strings.Cut(p[strings.Index(p, "CTE wrapped")+1:], "InitPlan")
		if !strings.Contains(p, "CTE wrapped") || !strings.Contains(wrapped, "never executed") {
			t.Errorf("the wrapped half ran although shard 7 had room:\n%s", p)
		}
		if !strings.Contains(p, "budgetshard_account_id_offer_id_shard on offer_budget_shards offer_budget_shards_1 (actual rows=1 loops=1)") {
			t.Errorf("the first half did not stop at the first shard with room:\n%s", p)
		}
	}
	// Shards 7 and up have no room left: the charge wraps to shard 0.
	if _, err := db.SQL.Exec(`UPDATE offer_budget_shards SET spent = allotted WHERE account_id = $1 AND offer_id = $2 AND shard >= 7`, acc, offerID); err != nil {
		t.Fatal(err)
	}
	if got := charge(7); got != 0 {
		t.Errorf("charge from 7 with shards 7-63 full took shard %d, want 0", got)
	}
}
