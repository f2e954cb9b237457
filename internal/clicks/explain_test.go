package clicks

import (
	"context"
	"regexp"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/gokart/gokart/internal/budget"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/viewer"
)

// TestClickStatementsUseTheKeysByAccount plans a click's INSERT with its guard (offer status,
// budget shards, counters) on PostgreSQL in an account with history and 300 offers: the offer is probed by
// (account_id, id), shards and counters by (account_id, offer_id, ...). And the recorder keeps
// the offer's account, so that a reload reads the offer inside it. SQLite is not planned: single-column keys, never
// distributed.
var offerProbe = regexp.MustCompile(`Index (?:Only )?Scan using (?:offers_pkey|offer_account_id_status_id) on offers o\n\s+Index Cond: \(\(account_id = [^\n]*\bid = ANY `)

func TestClickStatementsUseTheKeysByAccount(t *testing.T) {
	t.Parallel()
	t.Log("PostgreSQL only: the plans asserted here are PostgreSQL's (SQLite has single-column keys)")
	db := dbtest.Open(t, dialect.Postgres)
	acc, offerID, eventID := dbtest.Tenant(t, db.SQL, "pk-click-plan")
	dbtest.Prefill(t, db.SQL, acc, offerID, eventID, 4000, 2000)
	ctx := viewer.AsSystem(context.Background())
	// A total budget and a daily cap, so that the guard reads shards and counters.
	db.Client.Offer.UpdateOneID(offerID).SetBudgetTotal(100_000_000).SetCapDaily(1000).ExecX(ctx)
	// Many ACTIVE offers in the account: a plan that reads them all instead of probing the
	// click's offer by its key shows.
	if _, err := db.SQL.Exec(`INSERT INTO offers (created_at, updated_at, name, type, integration_system, status,
 tracking_link, click_url_template, currency, one_completion_per_member, account_id)
SELECT created_at, updated_at, name || g, type, integration_system, status, tracking_link, click_url_template,
 currency, one_completion_per_member, account_id FROM offers CROSS JOIN generate_series(1, 300) g WHERE id = $1`, offerID); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`INSERT INTO offer_budget_shards (account_id, offer_id, shard, budget_total, allotted, spent)
SELECT o.account_id, o.id, s, 100000000, 1000000, 0 FROM offers o CROSS JOIN generate_series(0, 63) s`,
		`INSERT INTO offer_counters (account_id, offer_id, "key", "value") SELECT account_id, id, 'daily:2026-12-02', 0 FROM offers`,
	} {
		if _, err := db.SQL.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	// The test's tables only: a bare ANALYZE takes every schema's, other tests' too (it deadlocked
	// with one on Citus).
	if _, err := db.SQL.Exec(`ANALYZE offers, offer_events, offer_budget_shards, offer_counters`); err != nil {
		t.Fatal(err)
	}

	r := &Recorder{Client: db.Client, Dialect: db.Dialect}
	e, err := r.load(ctx, offerID)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.accounts[offerID]; got != acc {
		t.Fatalf("the recorder remembers account %d for the offer, want %d", got, acc)
	}
	now := time.Now()
	args := append([]any{"plan-gk", offerID, acc, "m1", nil, nil, nil, nil, nil, nil, "203.0.113.1", "ua", now},
		budget.ClickTerms(e.o, e.cheapest, now)...)
	q, qargs := newBatcher(db.SQL, db.Dialect).statement([]*row{{args: args, gkID: "plan-gk"}})
	plan := dbtest.Explain(t, db.SQL, q, qargs...)
	t.Logf("click insert:\n%s", plan)
	dbtest.RequireKeyed(t, "click insert", plan, "budgetshard_account_id_offer_id_shard", "offercounter_account_id_offer_id_key")
	// The offer by its key: the primary key or (account_id, status, id), the batch's ids in
	// the index condition either way.
	if !offerProbe.MatchString(plan) {
		t.Errorf("click insert: the offer is not probed by account and id:\n%s", plan)
	}

	// A reload (after the cache's TTL) reads the offer inside the account it remembers.
	r.mu.Lock()
	delete(r.offers, offerID)
	r.mu.Unlock()
	if e, err = r.load(ctx, offerID); err != nil || e.o.AccountID != acc {
		t.Fatalf("reload by account: %v", err)
	}
}
