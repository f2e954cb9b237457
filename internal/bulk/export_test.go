package bulk_test

import (
	"encoding/csv"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gokart/gokart/internal/accounts"
	"github.com/gokart/gokart/internal/apitest"
	"github.com/gokart/gokart/internal/bulk"
	"github.com/gokart/gokart/internal/storage"
)

func readCSV(t *testing.T, body string) [][]string {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("CSV: %v in %.200q", err, body)
	}
	return recs
}

func TestExportStreamsTheRangeInOrderAndContinues(t *testing.T) {
	t.Parallel()
	runDialects(t, func(t *testing.T, db *storage.DB) {
		srv := apitest.Start(t, db)
		keys := srv.NewAccount(t, "Exporter")
		other := srv.NewAccount(t, "Other")
		o := seed(t, db, keys.ID, 2500, "x")
		seed(t, db, other.ID, 50, "y")
		q := url.Values{"from": {t0.Format(time.RFC3339)}, "to": {t0.Add(2400 * time.Minute).Format(time.RFC3339)}}

		status, body := get(t, srv, keys.APIKey, "/export/conversions.csv?"+q.Encode())
		if status != 200 {
			t.Fatalf("export: %d %s", status, body)
		}
		recs := readCSV(t, body)
		if strings.Join(recs[0], ",") != strings.Join(bulk.ExportColumns, ",") || len(recs) != 2401 {
			t.Fatalf("header %v and %d rows, want 2400 rows (to is exclusive)", recs[0], len(recs)-1)
		}
		first, last := recs[1], recs[2400]
		if first[1] != t0.Format(time.RFC3339Nano) || first[3] != "PENDING" || first[6] != "sale" || first[7] != "x-0" ||
			first[8] != "x-click-0" || first[9] != "m0" || first[10] != "2.50" || first[12] != "USD" || first[14] != "false" || first[5] != strconv.Itoa(o.ID) {
			t.Errorf("first row %v", first)
		}
		if last[7] != "x-2399" {
			t.Errorf("last row %v", last)
		}
		for i := 2; i < len(recs); i++ {
			if recs[i][1] < recs[i-1][1] {
				t.Fatalf("row %d out of order: %s after %s", i, recs[i][1], recs[i-1][1])
			}
		}

		// Status and offer filters.
		q.Set("status", "approved,REVERSED")
		q.Set("offer", strconv.Itoa(o.ID))
		_, body = get(t, srv, keys.APIKey, "/export/conversions.csv?"+q.Encode())
		recs = readCSV(t, body)
		if len(recs)-1 != 1600 || recs[1][3] != "APPROVED" || recs[2][3] != "REVERSED" {
			t.Errorf("filtered: %d rows, first %v", len(recs)-1, recs[1])
		}
		q.Del("status")
		q.Del("offer")

		// limit, then after= the last id: the pages join without gap or overlap.
		var ids []string
		after := ""
		for page := 0; ; page++ {
			pq := url.Values{"from": q["from"], "to": q["to"], "limit": {"1000"}}
			if after != "" {
				pq.Set("after", after)
			}
			status, body := get(t, srv, keys.APIKey, "/export/conversions.csv?"+pq.Encode())
			if status != 200 {
				t.Fatalf("page %d: %d %s", page, status, body)
			}
			recs := readCSV(t, body)[1:]
			for _, r := range recs {
				ids = append(ids, r[7])
			}
			if len(recs) < 1000 {
				break
			}
			after = recs[len(recs)-1][0]
		}
		if len(ids) != 2400 || ids[999] != "x-999" || ids[1000] != "x-1000" || ids[2399] != "x-2399" {
			t.Errorf("paged export: %d rows (%v … %v)", len(ids), ids[:2], ids[len(ids)-2:])
		}

		// Another account sees only its own.
		_, body = get(t, srv, other.APIKey, "/export/conversions.csv?"+q.Encode())
		if recs := readCSV(t, body); len(recs)-1 != 50 || recs[1][7] != "y-0" {
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
			{keys.APIKey, "from=yesterday", 400, "from"},
			{keys.APIKey, "from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z", 400, "before"},
			{keys.APIKey, "from=2024-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", 400, "366 days"},
			{keys.APIKey, "status=PAID", 400, "status"},
			{keys.APIKey, "limit=0", 400, "limit"},
			{keys.APIKey, fmt.Sprintf("limit=%d", bulk.MaxExportRows+1), 400, "limit"},
			{keys.APIKey, "offer=abc", 400, "offer"},
			{keys.APIKey, "after=1", 400, "after"},
		} {
			status, body := get(t, srv, c.key, "/export/conversions.csv?"+c.query)
			if status != c.status || !strings.Contains(body, c.body) {
				t.Errorf("%q: %d %q, want %d with %q", c.query, status, body, c.status, c.body)
			}
		}
	})
}
