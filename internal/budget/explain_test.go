package budget

import (
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
