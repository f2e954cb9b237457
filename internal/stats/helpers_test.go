package stats_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/axiomhq/hyperloglog"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/offer"
	"github.com/gokart/gokart/internal/apitest"
	"github.com/gokart/gokart/internal/catalogue"
	"github.com/gokart/gokart/internal/links"
	"github.com/gokart/gokart/internal/money"
	"github.com/gokart/gokart/internal/storage"
	"github.com/gokart/gokart/internal/viewer"
)

var sys = viewer.AsSystem(context.Background())

type event struct {
	id       string
	payout   money.Micros
	capTotal int
}

// newOffer makes an active Impact offer in USD with a total budget of 100 and a daily budget of 50.
func newOffer(t testing.TB, c *ent.Client, accountID int, name string, events ...event) *ent.Offer {
	t.Helper()
	link := "https://brand.sjv.io/c/1/2/3"
	tmpl, err := links.AppendClickMacro(link, "subid1")
	if err != nil {
		t.Fatal(err)
	}
	typ := offer.TypeSINGLE_EVENT
	if len(events) > 1 {
		typ = offer.TypeMULTI_EVENT
	}
	o := c.Offer.Create().SetAccountID(accountID).SetName(name).SetType(typ).
		SetIntegrationSystem(catalogue.Impact).SetStatus(offer.StatusACTIVE).
		SetTrackingLink(link).SetClickURLTemplate(tmpl).SetCurrency("USD").SetOneCompletionPerMember(false).
		SetBudgetTotal(100 * money.Scale).SetBudgetDaily(50 * money.Scale).SaveX(sys)
	for i, e := range events {
		ec := c.OfferEvent.Create().SetAccountID(accountID).SetOfferID(o.ID).SetName(e.id).SetEventID(e.id).
			SetPosition(i).SetPayout(e.payout)
		if e.capTotal > 0 {
			ec.SetCapTotal(e.capTotal)
		}
		ec.ExecX(sys)
	}
	return o
}

// click follows GET /click/{offer} and returns the gk_click_id of the redirect.
func click(t testing.TB, srv *apitest.Server, offerID int, member string) string {
	t.Helper()
	resp, body := srv.Get(t, fmt.Sprintf("/click/%d?pub_member_id=%s", offerID, url.QueryEscape(member)))
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("click on offer %d: %d %q", offerID, resp.StatusCode, body)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	id := loc.Query().Get("subid1")
	if id == "" {
		t.Fatalf("redirect %q carries no click id", loc)
	}
	return id
}

// postback sends GET /postback and checks the answer.
func postback(t testing.TB, srv *apitest.Server, key, gk, eventID, conversionID, status string, wantStatus int) {
	t.Helper()
	q := url.Values{"key": {key}, "gk_click_id": {gk}, "cnv_event_id": {eventID}, "cnv_conversion_id": {conversionID}, "cnv_status": {status}}
	resp, err := http.Get(srv.URL + "/postback?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus {
		t.Fatalf("postback %s %s %s: %d %q, want %d", conversionID, eventID, status, resp.StatusCode, b, wantStatus)
	}
}

// shiftBack moves every click, conversion and status change back by d, as if they had happened
// then: it lets a test put rows behind the watermark and add new ones after it.
func shiftBack(t testing.TB, db *storage.DB, d time.Duration) {
	t.Helper()
	for _, table := range []string{"clicks", "conversions", "conversion_status_changes"} {
		rows, err := db.SQL.Query("SELECT id, created_at FROM " + table)
		if err != nil {
			t.Fatal(err)
		}
		type row struct {
			id int
			at time.Time
		}
		var all []row
		for rows.Next() {
			var r row
			var at any
			if err := rows.Scan(&r.id, &at); err != nil {
				t.Fatal(err)
			}
			r.at = scanTime(t, at)
			all = append(all, r)
		}
		rows.Close()
		for _, r := range all {
			if _, err := db.SQL.Exec("UPDATE "+table+" SET created_at = $1 WHERE id = $2", r.at.Add(-d).UTC(), r.id); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func scanTime(t testing.TB, v any) time.Time {
	t.Helper()
	switch x := v.(type) {
	case time.Time:
		return x
	case string:
		for _, l := range []string{"2006-01-02 15:04:05.999999999 -0700 MST", "2006-01-02 15:04:05.999999999-07:00", time.RFC3339Nano} {
			if p, err := time.Parse(l, x); err == nil {
				return p
			}
		}
	}
	t.Fatalf("unreadable time %T %v", v, v)
	return time.Time{}
}

// rollupSnapshot prints the rollup tables in a canonical order, member sketches as estimates.
func rollupSnapshot(t testing.TB, db *storage.DB) string {
	t.Helper()
	var lines []string
	rows, err := db.SQL.Query("SELECT account_id, offer_id, bucket, clicks, members FROM stats_click_rollups")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var acct, offerID int
		var bucket any
		var clicks int64
		var members []byte
		if err := rows.Scan(&acct, &offerID, &bucket, &clicks, &members); err != nil {
			t.Fatal(err)
		}
		est := uint64(0)
		if len(members) > 0 {
			sk := hyperloglog.New14()
			if err := sk.UnmarshalBinary(members); err != nil {
				t.Fatal(err)
			}
			est = sk.Estimate()
		}
		lines = append(lines, fmt.Sprintf("click %d %d %s %d members~%d", acct, offerID, scanTime(t, bucket).UTC().Format(time.RFC3339), clicks, est))
	}
	rows.Close()
	rows, err = db.SQL.Query("SELECT account_id, offer_id, offer_event_id, bucket, conversions, pending, approved, reversed, rejected, spend FROM stats_conversion_rollups")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var acct, offerID, eventID int
		var bucket any
		var n [6]int64
		if err := rows.Scan(&acct, &offerID, &eventID, &bucket, &n[0], &n[1], &n[2], &n[3], &n[4], &n[5]); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, fmt.Sprintf("conv %d %d %d %s %v", acct, offerID, eventID, scanTime(t, bucket).UTC().Format(time.RFC3339), n))
	}
	rows.Close()
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}
