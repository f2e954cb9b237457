package callbacks

import (
	"regexp"
	"strings"
	"testing"
	"time"

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
		`ANALYZE clicks, conversions, callback_endpoints, callback_deliveries`,
	} {
		args := []any{acc}
		if strings.HasPrefix(q, `ANALYZE`) {
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

// TestClaimingChecksEarlierChangesByTheirKey plans a worker's claim on PostgreSQL when the
// statistics say almost nothing is pending (they were taken when every callback had been
// delivered) but a backlog has built up since: the check that a conversion's earlier change to
// the endpoint is no longer pending must probe the unique (account, endpoint, conversion,
// sequence) index. Probing the status index instead read the whole backlog for each due row:
// a claim of 100 took 21 s with 7 000 pending under the prefilled benchmark, and the workers
// fell further behind the longer the backlog grew.
func TestClaimingChecksEarlierChangesByTheirKey(t *testing.T) {
	t.Parallel()
	t.Log("PostgreSQL only: the plans asserted here are PostgreSQL's")
	db := dbtest.Open(t, dialect.Postgres)
	acc, offerID, eventID := dbtest.Tenant(t, db.SQL, "pk-callback-claim")
	dbtest.Prefill(t, db.SQL, acc, offerID, eventID, 4000, 3000)
	for _, q := range []string{`INSERT INTO callback_endpoints (created_at, updated_at, url, events, secret, account_id)
VALUES (now(), now(), 'https://receiver.example/cb', '["CONVERSION_APPROVED"]', 's', $1)`,
		`INSERT INTO callback_deliveries (account_id, endpoint_id, conversion_id, sequence, event, to_status, status, attempts, next_attempt_at, created_at)
SELECT c.account_id, e.id, c.id, 1, 'conversion.approved', 'APPROVED', 'DELIVERED', 1, c.created_at, c.created_at
FROM conversions c JOIN callback_endpoints e ON e.account_id = c.account_id WHERE c.account_id = $1`,
		`ANALYZE clicks, conversions, callback_endpoints, callback_deliveries`,
		// The backlog, after the statistics.
		`INSERT INTO callback_deliveries (account_id, endpoint_id, conversion_id, sequence, event, to_status, status, attempts, next_attempt_at, created_at)
SELECT c.account_id, e.id, c.id, 2, 'conversion.reversed', 'REVERSED', 'PENDING', 0, c.created_at, c.created_at
FROM conversions c JOIN callback_endpoints e ON e.account_id = c.account_id WHERE c.account_id = $1`,
	} {
		args := []any{acc}
		if strings.HasPrefix(q, `ANALYZE`) {
			args = nil
		}
		if _, err := db.SQL.Exec(q, args...); err != nil {
			t.Fatal(err)
		}
	}
	plan := dbtest.Explain(t, db.SQL, claimLocked, time.Now(), 100, acc)
	t.Logf("claim:\n%s", plan)
	earlier := regexp.MustCompile(`(?m)Index (Only )?Scan using (\S+) on callback_deliveries p\b`).FindStringSubmatch(plan)
	if earlier == nil || earlier[2] != "callbackdelivery_account_id_endpoint_id_conversion_id_sequence" {
		t.Errorf("the earlier-change check does not probe the unique key:\n%s", plan)
	}
}
