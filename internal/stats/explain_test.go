package stats

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/gokart/gokart/internal/dbtest"
)

// TestRecentHistoryJoinsConversionsByAccount plans the report's read of the status changes
// since the watermark on PostgreSQL with an account's history: both tables are read through
// indexes by account (the statement joins on account_id as well as id: the join Citus keeps on
// one shard). SQLite is not planned: single-column keys, never distributed.
func TestRecentHistoryJoinsConversionsByAccount(t *testing.T) {
	t.Parallel()
	t.Log("PostgreSQL only: the plans asserted here are PostgreSQL's (SQLite has single-column keys)")
	db := dbtest.Open(t, dialect.Postgres)
	acc, offerID, eventID := dbtest.Tenant(t, db.SQL, "pk-stats-plan")
	dbtest.Prefill(t, db.SQL, acc, offerID, eventID, 4000, 3000)
	now := time.Now().UTC()
	plan := dbtest.Explain(t, db.SQL, recentHistorySQL, acc, now.Add(-10*time.Minute), now.Add(-24*time.Hour), now)
	dbtest.RequireKeyed(t, "recent history", plan, "conversionstatuschange_account_id_created_at")
	if !conversionsByAccount.MatchString(plan) || !strings.Contains(plan, "id = h.conversion_id") {
		t.Errorf("recent history: conversions not read by account and joined by id:\n%s", plan)
	}
	t.Logf("recent history:\n%s", plan)
}

// conversionsByAccount is a read of the conversions with account_id as an index condition: the
// planner carries h.account_id = $1 over to v through the join's account_id equality, so the
// join itself needs only the id.
var conversionsByAccount = regexp.MustCompile(`on conversions v\n(?:[^\n]*\n)*?\s+(?:Index|Recheck) Cond: \(+(?:v\.)?account_id = `)
