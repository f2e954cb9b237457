package postback_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/conversion"
	"github.com/gokart/gokart/ent/offer"
	"github.com/gokart/gokart/internal/accounts"
	"github.com/gokart/gokart/internal/apitest"
	"github.com/gokart/gokart/internal/budget"
	"github.com/gokart/gokart/internal/catalogue"
	"github.com/gokart/gokart/internal/lifecycle"
	"github.com/gokart/gokart/internal/links"
	"github.com/gokart/gokart/internal/money"
	"github.com/gokart/gokart/internal/viewer"
)

var sys = viewer.AsSystem(context.Background())

// demo loads the demo account and returns its keys and its single- and multi-event offers.
func demo(t testing.TB, srv *apitest.Server) (accounts.Keys, *ent.Offer, *ent.Offer) {
	t.Helper()
	keys, err := accounts.Demo(context.Background(), srv.DB.Client)
	if err != nil {
		t.Fatalf("demo: %v", err)
	}
	single := srv.DB.Client.Offer.Query().Where(offer.AccountID(keys.ID), offer.TypeEQ(offer.TypeSINGLE_EVENT)).OnlyX(sys)
	multi := srv.DB.Client.Offer.Query().Where(offer.AccountID(keys.ID), offer.TypeEQ(offer.TypeMULTI_EVENT)).OnlyX(sys)
	return keys, single, multi
}

type eventSpec struct {
	id     string
	payout money.Micros
	adjust func(*ent.OfferEventCreate)
}

// newOffer makes an active Impact offer in the account; adjust sets budgets, caps and the like.
func newOffer(t *testing.T, c *ent.Client, accountID int, adjust func(*ent.OfferCreate), events ...eventSpec) *ent.Offer {
	t.Helper()
	link := "https://brand.sjv.io/c/1/2/3"
	tmpl, err := links.AppendClickMacro(link, "subid1")
	if err != nil {
		t.Fatal(err)
	}
	create := c.Offer.Create().SetAccountID(accountID).SetName("test offer").SetType(offer.TypeSINGLE_EVENT).
		SetIntegrationSystem(catalogue.Impact).SetStatus(offer.StatusACTIVE).
		SetTrackingLink(link).SetClickURLTemplate(tmpl).SetCurrency("USD").SetOneCompletionPerMember(false)
	if len(events) > 1 {
		create.SetType(offer.TypeMULTI_EVENT)
	}
	if adjust != nil {
		adjust(create)
	}
	o := create.SaveX(sys)
	for i, e := range events {
		ec := c.OfferEvent.Create().SetAccountID(accountID).SetOfferID(o.ID).SetName(e.id).SetEventID(e.id).
			SetPosition(i).SetPayout(e.payout)
		if e.adjust != nil {
			e.adjust(ec)
		}
		ec.ExecX(sys)
	}
	return o
}

func ptr[T any](v T) *T { return &v }

// click follows GET /click/{offer} and returns the gk_click_id from the redirect.
func click(t testing.TB, srv *apitest.Server, offerID int, member string) string {
	t.Helper()
	q := url.Values{}
	if member != "" {
		q.Set("pub_member_id", member)
	}
	resp, body := srv.Get(t, fmt.Sprintf("/click/%d?%s", offerID, q.Encode()))
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("click on offer %d: %d %q", offerID, resp.StatusCode, body)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	id := loc.Query().Get("subid1")
	if id == "" {
		t.Fatalf("redirect %q carries no subid1", loc)
	}
	return id
}

// get performs a GET and returns status and trimmed body; it does not fail on a network error
// when lenient is set (for outage tests).
func get(t testing.TB, base, pathAndQuery string) (int, string) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(base + pathAndQuery)
	if err != nil {
		t.Errorf("GET %s: %v", pathAndQuery, err)
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// pb sends a postback with the given parameters (raw query fragments joined by &).
func pb(t testing.TB, base, key string, parts ...string) (int, string) {
	t.Helper()
	q := "key=" + url.QueryEscape(key)
	for _, p := range parts {
		q += "&" + p
	}
	return get(t, base, "/postback?"+q)
}

// spentOf is the offer's exact spend: the sum of its budget shards, which GraphQL's budgetSpent
// answers (offers.budget_spent is a copy refreshed shortly after, off the request path).
func spentOf(t *testing.T, c *ent.Client, offerID int) money.Micros {
	t.Helper()
	o := c.Offer.GetX(sys, offerID)
	spent, err := budget.Spent(sys, c, o.AccountID, offerID)
	if err != nil {
		t.Fatalf("spend of offer %d: %v", offerID, err)
	}
	return spent
}

func countConversions(t *testing.T, c *ent.Client, offerID int, st lifecycle.Status) int {
	t.Helper()
	return c.Conversion.Query().Where(conversion.OfferID(offerID), conversion.StatusEQ(st)).CountX(sys)
}
