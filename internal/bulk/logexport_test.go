package bulk_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/postbacklog"
	"github.com/gokart/gokart/internal/accounts"
	"github.com/gokart/gokart/internal/apitest"
	"github.com/gokart/gokart/internal/bulk"
	"github.com/gokart/gokart/internal/storage"
)

var seededOutcomes = []postbacklog.Outcome{postbacklog.OutcomeACCEPTED, postbacklog.OutcomeDUPLICATE, postbacklog.OutcomeREJECTED, postbacklog.OutcomeMALFORMED}

// seedLogs stores n postback log rows a minute apart from t0, outcomes cycling
// ACCEPTED, DUPLICATE, REJECTED, MALFORMED, raw queries naming prefix-i.
func seedLogs(t testing.TB, db *storage.DB, accountID, n int, prefix string) {
	t.Helper()
	for start := 0; start < n; start += 500 {
		end := min(start+500, n)
		logs := make([]*ent.PostbackLogCreate, 0, end-start)
		for i := start; i < end; i++ {
			l := db.Client.PostbackLog.Create().SetAccountID(accountID).SetOutcome(seededOutcomes[i%4]).SetHTTPStatus(200).
				SetRawQuery(fmt.Sprintf("gk_click_id=%s-%d&cnv_event_id=sale", prefix, i)).SetSourceIP("127.0.0.1").
				SetCreatedAt(t0.Add(time.Duration(i) * time.Minute))
			if i%4 == 2 {
				l.SetReason("offer paused, with a comma").SetHTTPStatus(409)
			}
			logs = append(logs, l)
		}
		db.Client.PostbackLog.CreateBulk(logs...).ExecX(sys)
	}
}

func TestExportPostbackLogsStreamsTheRangeAndContinues(t *testing.T) {
	t.Parallel()
	runDialects(t, func(t *testing.T, db *storage.DB) {
		srv := apitest.Start(t, db)
		keys := srv.NewAccount(t, "Logger")
		other := srv.NewAccount(t, "Other")
		seedLogs(t, db, keys.ID, 2500, "x")
		seedLogs(t, db, other.ID, 30, "y")
		q := url.Values{"from": {t0.Format(time.RFC3339)}, "to": {t0.Add(2400 * time.Minute).Format(time.RFC3339)}}

		status, body := get(t, srv, keys.APIKey, "/export/postback-logs.csv?"+q.Encode())
		if status != 200 {
			t.Fatalf("export: %d %s", status, body)
		}
		recs := readCSV(t, body)
		if strings.Join(recs[0], ",") != strings.Join(bulk.LogExportColumns, ",") || len(recs) != 2401 {
			t.Fatalf("header %v and %d rows, want 2400 rows (to is exclusive)", recs[0], len(recs)-1)
		}
		first, third := recs[1], recs[3]
		if first[1] != t0.Format(time.RFC3339Nano) || first[2] != "ACCEPTED" || first[3] != "200" || first[4] != "" ||
			first[5] != "" || first[6] != "" || first[7] != "127.0.0.1" || first[8] != "gk_click_id=x-0&cnv_event_id=sale" {
			t.Errorf("first row %v", first)
		}
		if third[2] != "REJECTED" || third[3] != "409" || third[4] != "offer paused, with a comma" {
			t.Errorf("third row %v", third)
		}
		if last := recs[2400]; !strings.HasPrefix(last[8], "gk_click_id=x-2399&") {
			t.Errorf("last row %v", last)
		}

		// Outcome filter, any case, comma-separated.
		q.Set("outcome", "rejected,MALFORMED")
		_, body = get(t, srv, keys.APIKey, "/export/postback-logs.csv?"+q.Encode())
		recs = readCSV(t, body)
		if len(recs)-1 != 1200 || recs[1][2] != "REJECTED" || recs[2][2] != "MALFORMED" {
			t.Errorf("filtered: %d rows, first %v", len(recs)-1, recs[1])
		}
		q.Del("outcome")

		// limit, then after= the last id: the pages join without gap or overlap.
		var queries []string
		after := ""
		for page := 0; ; page++ {
			pq := url.Values{"from": q["from"], "to": q["to"], "limit": {"700"}}
			if after != "" {
				pq.Set("after", after)
			}
			status, body := get(t, srv, keys.APIKey, "/export/postback-logs.csv?"+pq.Encode())
			if status != 200 {
				t.Fatalf("page %d: %d %s", page, status, body)
			}
			recs := readCSV(t, body)[1:]
			for _, r := range recs {
				queries = append(queries, r[8])
			}
			if len(recs) < 700 {
				break
			}
			after = recs[len(recs)-1][0]
		}
		for i, rq := range queries {
			if want := fmt.Sprintf("gk_click_id=x-%d&", i); !strings.HasPrefix(rq, want) {
				t.Fatalf("paged export row %d: %s, want %s…", i, rq, want)
			}
		}
		if len(queries) != 2400 {
			t.Errorf("paged export: %d rows", len(queries))
		}

		// Another account sees only its own.
		_, body = get(t, srv, other.APIKey, "/export/postback-logs.csv?"+q.Encode())
		if recs := readCSV(t, body); len(recs)-1 != 30 || !strings.HasPrefix(recs[1][8], "gk_click_id=y-0&") {
			t.Errorf("other account: %d rows", len(recs)-1)
		}

		pub, err := accounts.CreatePublishableKey(sys, db.Client, keys.ID, "wall")
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			key, query string
			status     int
			body       string
		}{
			{"", "", 401, ""},
			{"gk_nope", "", 401, ""},
			{pub.Secret, "", 403, "publishable"},
			{keys.APIKey, "to=tomorrow", 400, "to"},
			{keys.APIKey, "from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z", 400, "before"},
			{keys.APIKey, "from=2024-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", 400, "366 days"},
			{keys.APIKey, "outcome=ACCEPTED,LOST", 400, "outcome"},
			{keys.APIKey, "limit=-3", 400, "limit"},
			{keys.APIKey, fmt.Sprintf("limit=%d", bulk.MaxExportRows+1), 400, "limit"},
			{keys.APIKey, "after=x", 400, "after"},
			{keys.APIKey, "after=1", 400, "after"},
		} {
			status, body := get(t, srv, c.key, "/export/postback-logs.csv?"+c.query)
			if status != c.status || !strings.Contains(body, c.body) {
				t.Errorf("%q: %d %q, want %d with %q", c.query, status, body, c.status, c.body)
			}
		}
	})
}
