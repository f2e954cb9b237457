package bulk_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/conversion"
	"github.com/gokart/gokart/internal/apitest"
	"github.com/gokart/gokart/internal/budget"
	"github.com/gokart/gokart/internal/bulk"
	"github.com/gokart/gokart/internal/lifecycle"
	"github.com/gokart/gokart/internal/money"
	"github.com/gokart/gokart/internal/storage"
)

// importStatuses cycle over the lines of conversionsCSV: blank is PENDING.
var importStatuses = []string{"", "APPROVED", "pending", "REVERSED"}

// clicksOnly stores an offer (event "sale", payout 2.50) and n clicks prefix-click-i without
// conversions.
func clicksOnly(t testing.TB, db *storage.DB, accountID, n int, prefix string) *ent.Offer {
	t.Helper()
	o := seed(t, db, accountID, 0, prefix)
	for start := 0; start < n; start += 500 {
		clicks := make([]*ent.ClickCreate, 0, 500)
		for i := start; i < min(start+500, n); i++ {
			clicks = append(clicks, db.Client.Click.Create().SetAccountID(accountID).SetOfferID(o.ID).
				SetGkClickID(fmt.Sprintf("%s-click-%d", prefix, i)).SetPubMemberID(fmt.Sprintf("m%d", i)).SetCreatedAt(t0))
		}
		db.Client.Click.CreateBulk(clicks...).ExecX(sys)
	}
	return o
}

// conversionsCSV is n lines, one per click, completed a minute apart from t0+1h, every other
// one with a network id and an amount.
func conversionsCSV(n int, prefix string) string {
	var b strings.Builder
	b.WriteString("gk_click_id,event_id,completed_at,network_conversion_id,amount,payout,status\n")
	for i := 0; i < n; i++ {
		ncid, amount := "", ""
		if i%2 == 0 {
			ncid, amount = fmt.Sprintf("%s-%d", prefix, i), "19.99"
		}
		fmt.Fprintf(&b, "%s-click-%d,sale,%s,%s,%s,,%s\n", prefix, i, t0.Add(time.Hour+time.Duration(i)*time.Minute).Format(time.RFC3339),
			ncid, amount, importStatuses[i%len(importStatuses)])
	}
	return b.String()
}

// importTwice imports n conversions, then the same file again: the first run accepts every
// line, the second answers every line DUPLICATE and changes nothing.
func importTwice(t *testing.T, db *storage.DB, n int) {
	srv := apitest.Start(t, db)
	keys := srv.NewAccount(t, "Importer")
	o := clicksOnly(t, db, keys.ID, n, "i")
	body := conversionsCSV(n, "i")

	status, resp := post(t, srv, keys.APIKey, "/import/conversions", body)
	if status != 200 {
		t.Fatalf("import: %d %.300s", status, resp)
	}
	recs := readCSV(t, resp)
	if strings.Join(recs[0], ",") != "line,outcome,code,message" || len(recs) != n+1 {
		t.Fatalf("header %v, %d result lines for %d", recs[0], len(recs)-1, n)
	}
	for i, r := range recs[1:] {
		if r[0] != fmt.Sprint(i+2) || r[1] != "ACCEPTED" {
			t.Fatalf("first run, result %d: %v", i, r)
		}
	}
	convs := db.Client.Conversion.Query().Where(conversion.OfferID(o.ID)).Order(conversion.ByCreatedAt()).AllX(sys)
	if len(convs) != n {
		t.Fatalf("%d conversions after the first run, want %d", len(convs), n)
	}
	var spends money.Micros
	for i, c := range convs {
		want := lifecycle.Status(strings.ToUpper(importStatuses[i%len(importStatuses)]))
		if want == "" {
			want = lifecycle.Pending
		}
		if !c.CreatedAt.Equal(t0.Add(time.Hour+time.Duration(i)*time.Minute)) || c.Status != want {
			t.Fatalf("conversion %d: created %s, %s; want completed_at and %s", i, c.CreatedAt, c.Status, want)
		}
		if (i%2 == 0) != (c.NetworkConversionID != nil) || (i%2 == 0) != (c.Amount != nil) {
			t.Fatalf("conversion %d: network id %v, amount %v", i, c.NetworkConversionID, c.Amount)
		}
		if c.Status.Spends() {
			spends += c.Payout
		}
	}
	spent, err := budget.Spent(sys, db.Client, keys.ID, o.ID)
	if err != nil || spent != spends {
		t.Fatalf("spent %s (%v), want %s", spent, err, spends)
	}
	logs := db.Client.PostbackLog.Query().CountX(sys)

	// Again: every line DUPLICATE, nothing written but the postback log.
	status, resp = post(t, srv, keys.APIKey, "/import/conversions", body)
	if status != 200 {
		t.Fatalf("second import: %d %.300s", status, resp)
	}
	recs = readCSV(t, resp)
	for i, r := range recs[1:] {
		if r[1] != "DUPLICATE" {
			t.Fatalf("second run, result %d: %v", i, r)
		}
	}
	if len(recs) != n+1 {
		t.Fatalf("second run: %d results", len(recs)-1)
	}
	again := db.Client.Conversion.Query().Where(conversion.OfferID(o.ID)).Order(conversion.ByCreatedAt()).AllX(sys)
	if len(again) != n {
		t.Fatalf("%d conversions after the second run, want %d", len(again), n)
	}
	for i := range again {
		if a, b := again[i], convs[i]; a.ID != b.ID || a.Status != b.Status || !a.UpdatedAt.Equal(b.UpdatedAt) || a.Payout != b.Payout {
			t.Fatalf("conversion %d changed: %+v → %+v", i, b, a)
		}
	}
	if s, _ := budget.Spent(sys, db.Client, keys.ID, o.ID); s != spends {
		t.Errorf("spent %s after the second run, want %s", s, spends)
	}
	if l := db.Client.PostbackLog.Query().CountX(sys); l != 2*logs || logs != n {
		t.Errorf("%d then %d postback log rows, want %d then %d", logs, l, n, 2*n)
	}
}

func TestImportConversionsTwiceChangesNothing(t *testing.T) {
	t.Parallel()
	runDialects(t, func(t *testing.T, db *storage.DB) { importTwice(t, db, 300) })
}

func TestImportConversionsReportsBadLines(t *testing.T) {
	t.Parallel()
	runDialects(t, func(t *testing.T, db *storage.DB) {
		srv := apitest.Start(t, db)
		keys := srv.NewAccount(t, "Careful")
		other := srv.NewAccount(t, "Other")
		o := clicksOnly(t, db, keys.ID, 5, "b")
		clicksOnly(t, db, other.ID, 1, "o")
		at := t0.Add(time.Hour).Format(time.RFC3339)
		body := strings.Join([]string{
			"Status,GK_Click_ID,event_id,completed_at,amount,payout,network_conversion_id",
			"approved,b-click-0,sale," + at + ",,,n-0",
			",,sale," + at + ",,,",
			",b-click-1,sale,yesterday,,,",
			",b-nope,sale," + at + ",,,",
			",o-click-0,sale," + at + ",,,",
			",b-click-1,signup," + at + ",,,",
			"PAID,b-click-1,sale," + at + ",,,",
			",b-click-1,sale," + at + ",abc,,",
			",b-click-1,sale,2999-01-01T00:00:00Z,,,",
			",b-click-1,," + at + ",,,",
			"pending,b-click-2,sale,2026-11-01T03:00:00+02:00,12.50,,n-2",
		}, "\n") + "\n"
		status, resp := post(t, srv, keys.APIKey, "/import/conversions", body)
		if status != 200 {
			t.Fatalf("import: %d %s", status, resp)
		}
		want := []string{
			"2 ACCEPTED",
			"3 ERROR VALIDATION gk_click_id",
			"4 ERROR VALIDATION completed_at",
			"5 ERROR NOT_FOUND",
			"6 ERROR NOT_FOUND",
			"7 ERROR NOT_FOUND",
			"8 ERROR VALIDATION",
			"9 ERROR VALIDATION",
			"10 ERROR VALIDATION completed_at",
			"11 ERROR VALIDATION event_id",
			"12 ACCEPTED",
		}
		recs := readCSV(t, resp)[1:]
		if len(recs) != len(want) {
			t.Fatalf("%d results, want %d: %v", len(recs), len(want), recs)
		}
		for i, r := range recs {
			got := strings.TrimSpace(strings.Join(r[:3], " ") + " " + strings.SplitN(r[3], ":", 2)[0])
			if !strings.HasPrefix(got, want[i]) || r[1] != "ERROR" && r[3] != "" {
				t.Errorf("line %d: %v, want %s", i+2, r, want[i])
			}
		}
		convs := db.Client.Conversion.Query().Order(conversion.ByNetworkConversionID()).AllX(sys)
		if len(convs) != 2 || convs[0].OfferID != o.ID || convs[0].Status != lifecycle.Approved ||
			convs[1].Status != lifecycle.Pending || !convs[1].CreatedAt.Equal(t0.Add(time.Hour)) || convs[1].Amount == nil || *convs[1].Amount != 12_500_000 {
			t.Errorf("conversions %+v", convs)
		}

		for _, c := range []struct {
			key, body string
			status    int
			text      string
		}{
			{"", body, 401, ""},
			{keys.APIKey, "", 400, "header"},
			{keys.APIKey, "gk_click_id,event_id,status\nb-click-3,sale,\n", 400, "completed_at"},
			{keys.APIKey, "gk_click_id,event_id,completed_at\n" + strings.Repeat("x", bulk.MaxImportBytes), 413, "at most"},
		} {
			status, resp := post(t, srv, c.key, "/import/conversions", c.body)
			if status != c.status || !strings.Contains(resp, c.text) {
				t.Errorf("%.40q: %d %q, want %d with %q", c.body, status, resp, c.status, c.text)
			}
		}
		if n := db.Client.Conversion.Query().CountX(sys); n != 2 {
			t.Errorf("%d conversions after refused files", n)
		}
	})
}
