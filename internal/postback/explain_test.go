package postback

import (
	"fmt"
	"regexp"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/gokart/gokart/ent/offer"
	"github.com/gokart/gokart/internal/budget"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/lifecycle"
	"github.com/gokart/gokart/internal/money"
)

// TestPostbackStatementsUseTheKeysByAccount plans the statements of an accepted postback on
// PostgreSQL in an account with thousands of clicks and conversions (and a second account with
// as many): each reads its tenant tables through a key that starts with account_id, the
// conversion by its primary key (account_id, id), never a scan nor an id filtered out of an
// account's rows. SQLite is not planned: its keys are single-column (AUTOINCREMENT) and it is
// never distributed; the same statements run there in every other test.
func TestPostbackStatementsUseTheKeysByAccount(t *testing.T) {
	t.Parallel()
	t.Log("PostgreSQL only: the plans asserted here are PostgreSQL's (SQLite has single-column keys)")
	db := dbtest.Open(t, dialect.Postgres)
	other, otherOffer, otherEvent := dbtest.Tenant(t, db.SQL, "pk-plan-other")
	dbtest.Prefill(t, db.SQL, other, otherOffer, otherEvent, 4000, 3000)
	acc, offerID, eventID := dbtest.Tenant(t, db.SQL, "pk-plan")
	dbtest.Prefill(t, db.SQL, acc, offerID, eventID, 4000, 3000)
	var convID, clickID int
	if err := db.SQL.QueryRow(`SELECT id, click_id FROM conversions WHERE account_id = $1 ORDER BY id DESC LIMIT 1`, acc).Scan(&convID, &clickID); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()

	plan := dbtest.Explain(t, db.SQL, lookupSQL, "pk-plan", fmt.Sprintf("prefill-%d-17", acc), "sale", acc)
	dbtest.RequireKeyed(t, "postback lookup", plan,
		"click_account_id_gk_click_id", "offers_pkey")
	// Either index of the offer's events by (account_id, offer_id, ...) reads the offer's few events.
	if !eventsByOffer.MatchString(plan) {
		t.Errorf("postback lookup: the event is not read by (account_id, offer_id):\n%s", plan)
	}
	t.Logf("postback lookup:\n%s", plan)

	plan = dbtest.Explain(t, db.SQL, insertConversionSQL, now, "IMPACT", "plan-1", "PENDING", 1000000, nil, "USD", "m",
		nil, clickID, acc, offerID, eventID, nil, "", false, nil)
	dbtest.RequireKeyed(t, "conversion insert", plan)

	// The common accepted postback's one statement (acceptInOne): the shard by the offer's
	// key, the endpoints by the account's.
	var clickOfOffer int
	if err := db.SQL.QueryRow(`SELECT id FROM clicks WHERE account_id = $1 ORDER BY id LIMIT 1`, acc).Scan(&clickOfOffer); err != nil {
		t.Fatal(err)
	}
	total := money.Micros(1_000_000_000)
	args, _, ok, err := acceptInOneArgs(Request{RawQuery: "key=pk-plan&gk_click_id=x", SourceIP: "127.0.0.1", Now: now}, Params{ConversionID: "plan-one"},
		target{accountID: acc, clickID: clickOfOffer, offerID: offerID, system: "IMPACT", currency: "USD", payout: 1_000_000,
			terms: budget.Terms{OfferID: offerID, Status: offer.StatusACTIVE, BudgetTotal: &total, EventID: eventID}}, lifecycle.Pending)
	if err != nil || !ok {
		t.Fatalf("one-statement arguments: %v %v", ok, err)
	}
	if dbtest.Citus() {
		t.Log("Citus: the one statement is not planned, the postbacks take the general path (Service.oneStatementOn)")
	} else {
		plan = dbtest.Explain(t, db.SQL, acceptInOneSQL, args...)
		dbtest.RequireKeyed(t, "accepted postback in one statement", plan,
			"budgetshard_account_id_offer_id_shard", "offer_budget_shards_pkey", "callback_endpoints_pkey")
		t.Logf("accepted postback in one statement:\n%s", plan)
	}

	approved := lifecycle.Approved
	change := conversionChange{accountID: acc, id: convID, status: &approved, at: now}
	s, err := change.stmt()
	if err != nil {
		t.Fatal(err)
	}
	plan = dbtest.Explain(t, db.SQL, s.sql, s.args...)
	dbtest.RequireKeyed(t, "conversion update", plan, "conversions_pkey")
	if !pkProbe.MatchString(plan) {
		t.Errorf("conversion update: not a probe of (account_id, id):\n%s", plan)
	}
	t.Logf("conversion update:\n%s", plan)
}

// eventsByOffer reads an offer's events by an index that starts (account_id, offer_id).
var eventsByOffer = regexp.MustCompile(`using offerevent_account_id_offer_id_\w+ on offer_events e\s+Index Cond: \(\(account_id = [^)]+\) AND \(offer_id = o\.id\)`)

// pkProbe is a primary-key probe of one conversion: both key columns are index conditions.
var pkProbe = regexp.MustCompile(`Index Scan using conversions_pkey on conversions\s+Index Cond: \(\(account_id = [^)]+\) AND \(id = `)
