package callbacks

import (
	"testing"

	"entgo.io/ent/dialect"

	"github.com/gokart/gokart/internal/dbtest"
)

// TestLoadingAnAccountsDeliveriesUsesTheKeysByAccount plans the read of a claimed batch of one
// account's deliveries on PostgreSQL, in an account with history: every table by its key
// (account_id, id), so that on Citus the read stays on the account's shard. SQLite is not
// planned: single-column keys, never distributed.
func TestLoadingAnAccountsDeliveriesUsesTheKeysByAccount(t *testing.T) {
	t.Parallel()
	t.Log("PostgreSQL only: the plans asserted here are PostgreSQL's (SQLite has single-column keys)")
	db := dbtest.Open(t, dialect.Postgres)
	acc, offerID, eventID := dbtest.Tenant(t, db.SQL, "pk-callback-plan")
	dbtest.Prefill(t, db.SQL, acc, offerID, eventID, 2000, 1000)
	// A delivered callback for each conversion.
	for _, q := range []string{`INSERT INTO callback_endpoints (created_at, updated_at, url, events, secret, account_id)
VALUES (now(), now(), 'https://receiver.example/cb', '["CONVERSION_APPROVED"]', 's', $1)`,
		`INSERT INTO callback_deliveries (account_id, endpoint_id, conversion_id, sequence, event, to_status, status, attempts, next_attempt_at, created_at)
SELECT c.account_id, e.id, c.id, 1, 'conversion.approved', 'APPROVED', 'DELIVERED', 1, c.created_at, c.created_at
FROM conversions c JOIN callback_endpoints e ON e.account_id = c.account_id WHERE c.account_id = $1`,
		`ANALYZE`,
	} {
		args := []any{acc}
		if q == `ANALYZE` {
			args = nil
		}
		if _, err := db.SQL.Exec(q, args...); err != nil {
			t.Fatal(err)
		}
	}
	plan := dbtest.Explain(t, db.SQL, loadQuery(true, 3), acc, 1, 2, 3)
	t.Logf("callback load:\n%s", plan)
	dbtest.RequireKeyed(t, "callback load", plan, "callback_deliveries_pkey", "callback_endpoints_pkey",
		"conversions_pkey", "offers_pkey", "offer_events_pkey", "clicks_pkey")
}
