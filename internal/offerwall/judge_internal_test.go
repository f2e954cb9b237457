package offerwall

import (
	"strings"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/offer"
	"github.com/gokart/gokart/internal/clicks"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/money"
)

// TestAWindowIsJudgedByTheKeysOfItsAccount: the one statement a catalog window costs (the
// version, the member's completions, spend and counters) reads every table through its key by
// account, however many offers the window has, and its text is the same for 3 offers as for
// 59, so one prepared statement serves every page.
func TestAWindowIsJudgedByTheKeysOfItsAccount(t *testing.T) {
	db := dbtest.Open(t, dialect.Postgres)
	accountID, _, _ := dbtest.Tenant(t, db.SQL, "judge-plan")
	// 200 offers with their budget shards and a week of daily counters, analyzed: the plan of a
	// table with rows, not of an empty one.
	if _, err := db.SQL.Exec(`INSERT INTO offers (created_at, updated_at, name, type, integration_system, status,
 tracking_link, click_url_template, currency, one_completion_per_member, account_id)
SELECT now(), now(), 'plan ' || g, 'SINGLE_EVENT', 'IMPACT', 'ACTIVE', 'https://brand.sjv.io/c/1/2/3',
 'https://brand.sjv.io/c/1/2/3?subid1={gk_click_id}', 'USD', true, $1 FROM generate_series(1, 200) g`, accountID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL.Exec(`INSERT INTO offer_budget_shards (account_id, offer_id, shard, budget_total, allotted, spent)
SELECT o.account_id, o.id, s, 100000000, 1000000, 0 FROM offers o CROSS JOIN generate_series(0, 63) s;
INSERT INTO offer_counters (account_id, offer_id, "key", "value")
SELECT o.account_id, o.id, 'cap:offer:D:2026-11-2' || d, 1 FROM offers o CROSS JOIN generate_series(0, 6) d;
ANALYZE offers; ANALYZE offer_budget_shards; ANALYZE offer_counters`); err != nil {
		t.Fatal(err)
	}
	var ids []int
	rows, err := db.SQL.Query(`SELECT id FROM offers WHERE account_id = $1 ORDER BY id LIMIT 59`, accountID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	window := func(n int) []*ent.Offer {
		var out []*ent.Offer
		for i := range n {
			total, limit := money.Micros(100*money.Scale), 10
			out = append(out, &ent.Offer{ID: ids[i], AccountID: accountID, Status: offer.StatusACTIVE,
				TrackingLink: "https://brand.sjv.io/c/1/2/3", ClickURLTemplate: "https://brand.sjv.io/c/1/2/3?subid1={gk_click_id}",
				BudgetTotal: &total, CapDaily: &limit, OneCompletionPerMember: true, TimeZone: "UTC",
				Edges: ent.OfferEdges{Events: []*ent.OfferEvent{{ID: 5000 + i, Payout: money.Scale}}}})
		}
		return out
	}
	now := time.Now()
	sqlOf := func(w []*ent.Offer) (string, []any) {
		return judgeSQL(dialect.Postgres, accountID, "m1", w, true, clicks.NewAvailabilityCheck(w, now).Limits())
	}
	small, _ := sqlOf(window(3))
	query, args := sqlOf(window(59))
	if !strings.Contains(query, "offer_budget_shards") || !strings.Contains(query, "offer_counters") {
		t.Fatalf("the window's offers are not judged clickable by their own rules, so no limits are read:\n%s", query)
	}
	if small != query {
		t.Errorf("the statement's text depends on the window's size:\n%s\n---\n%s", small, query)
	}
	keys := []string{"offer_account_id_updated_at", "offerevent_account_id_updated_at",
		"membercompletion_account_id_pub_member_id_offer_event_id", "budgetshard_account_id_offer_id_shard",
		"offercounter_account_id_offer_id_key"}
	dbtest.RequireKeyed(t, "window", dbtest.Explain(t, db.SQL, query, args...), keys...)
	// The server prepares it on a session of the generic pool (NewCatalog's reads), where it is
	// planned once for every window: that plan must read by the same keys.
	if db.GenericSQL == nil {
		if !dbtest.Citus() { // a coordinator has no generic pool (storage.onCitus)
			t.Error("no generic pool on PostgreSQL")
		}
		return
	}
	generic := dbtest.ExplainGeneric(t, db.GenericSQL, query, args...)
	if !strings.Contains(generic, "account_id = $1") {
		t.Errorf("the generic pool's plan has its arguments filled in:\n%s", generic)
	}
	dbtest.RequireKeyed(t, "generic window", generic, keys...)
}
