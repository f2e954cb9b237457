package bulk_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/offer"
	"github.com/gokart/gokart/internal/apitest"
	"github.com/gokart/gokart/internal/catalogue"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/lifecycle"
	"github.com/gokart/gokart/internal/money"
	"github.com/gokart/gokart/internal/storage"
	"github.com/gokart/gokart/internal/viewer"
)

var sys = viewer.AsSystem(context.Background())

// runDialects is dbtest.Run with the dialects' subtests in parallel: each has its own database
// (a SQLite file, a PostgreSQL schema), and this package's tests are long enough (thousands of
// rows, a transaction per line) that running SQLite's half beside PostgreSQL's, which waits on
// the server, shortens the package's wall time.
func runDialects(t *testing.T, fn func(t *testing.T, db *storage.DB)) {
	t.Helper()
	for _, d := range dbtest.Dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			fn(t, dbtest.Open(t, d))
		})
	}
}

const payout = money.Micros(2_500_000)

// t0 is the first seeded conversion's time.
var t0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

var seededStatuses = []lifecycle.Status{lifecycle.Pending, lifecycle.Approved, lifecycle.Reversed}

// seed stores an offer with one event and n clicks with one conversion each, a minute apart
// from t0, statuses cycling pending, approved, reversed, network ids prefix-i. They are stored
// directly (not charged): the export reads rows, it does not move spend.
func seed(t testing.TB, db *storage.DB, accountID, n int, prefix string) *ent.Offer {
	t.Helper()
	c := db.Client
	o := c.Offer.Create().SetAccountID(accountID).SetName(prefix + " offer").SetType(offer.TypeSINGLE_EVENT).
		SetIntegrationSystem(catalogue.Impact).SetStatus(offer.StatusACTIVE).
		SetTrackingLink("https://brand.sjv.io/c/1/2/3").SetClickURLTemplate("https://brand.sjv.io/c/1/2/3?subid1={gk_click_id}").
		SetCurrency("USD").SaveX(sys)
	ev := c.OfferEvent.Create().SetAccountID(accountID).SetOfferID(o.ID).SetName("Sale").SetEventID("sale").
		SetPosition(0).SetPayout(payout).SaveX(sys)
	const chunk = 500
	for start := 0; start < n; start += chunk {
		end := min(start+chunk, n)
		clicks := make([]*ent.ClickCreate, 0, end-start)
		for i := start; i < end; i++ {
			clicks = append(clicks, c.Click.Create().SetAccountID(accountID).SetOfferID(o.ID).
				SetGkClickID(fmt.Sprintf("%s-click-%d", prefix, i)).SetPubMemberID(fmt.Sprintf("m%d", i)).SetCreatedAt(t0.Add(time.Duration(i)*time.Minute)))
		}
		saved := c.Click.CreateBulk(clicks...).SaveX(sys)
		convs := make([]*ent.ConversionCreate, 0, end-start)
		for j, cl := range saved {
			i := start + j
			convs = append(convs, c.Conversion.Create().SetAccountID(accountID).SetClickID(cl.ID).SetOfferID(o.ID).
				SetOfferEventID(ev.ID).SetIntegrationSystem(catalogue.Impact).SetNetworkConversionID(fmt.Sprintf("%s-%d", prefix, i)).
				SetStatus(seededStatuses[i%3]).SetPayout(payout).SetCurrency("USD").SetPubMemberID(cl.PubMemberID).
				SetCreatedAt(cl.CreatedAt).SetUpdatedAt(cl.CreatedAt))
		}
		c.Conversion.CreateBulk(convs...).ExecX(sys)
	}
	return o
}

// get performs a GET with the API key and returns the status and body.
func get(t testing.TB, srv *apitest.Server, key, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read: %v", path, err)
	}
	return resp.StatusCode, string(b)
}

// post sends body with the API key and returns the status and body.
func post(t testing.TB, srv *apitest.Server, key, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/csv")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST %s: read: %v", path, err)
	}
	return resp.StatusCode, string(b)
}
