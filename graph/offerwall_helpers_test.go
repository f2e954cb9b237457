package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/offer"
	"github.com/gokart/gokart/internal/apitest"
	"github.com/gokart/gokart/internal/budget"
	"github.com/gokart/gokart/internal/catalogue"
	"github.com/gokart/gokart/internal/money"
	"github.com/gokart/gokart/internal/storage"
	"github.com/gokart/gokart/internal/viewer"
)

// liveOffer makes a published single-event offer that takes clicks (a valid tracking link, one
// event paying 1.00), changed by adjust before it is saved.
func liveOffer(t testing.TB, c *ent.Client, accountID int, name string, adjust func(*ent.OfferCreate)) *ent.Offer {
	t.Helper()
	ctx := viewer.ForAccount(context.Background(), accountID)
	create := c.Offer.Create().SetName(name).SetType(offer.TypeSINGLE_EVENT).SetIntegrationSystem(catalogue.Impact).
		SetStatus(offer.StatusACTIVE).SetTrackingLink("https://track.example.com/c/1?x=1").
		SetClickURLTemplate("https://track.example.com/c/1?x=1&subid1={gk_click_id}").
		SetHeadline(name + " headline").SetDescription("Earn by signing up").SetCallToAction("Go").
		SetImageUrls([]string{"https://img.example.com/" + name + ".png"}).SetTerms("New members only")
	if adjust != nil {
		adjust(create)
	}
	o, err := create.Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c.OfferEvent.Create().SetOfferID(o.ID).SetName("Sign Up").SetEventID("signup").SetPayout(money.Scale).ExecX(ctx)
	return c.Offer.Query().Where(offer.ID(o.ID)).WithEvents().OnlyX(ctx)
}

// charge books one conversion of the offer's first event the way the postback path does
// (budget.ChargeConversion in a transaction), for member (none when "").
func charge(t testing.TB, db *storage.DB, o *ent.Offer, member string, conversionID int) {
	t.Helper()
	ctx := viewer.ForAccount(context.Background(), o.AccountID)
	o = db.Client.Offer.Query().Where(offer.ID(o.ID)).WithEvents().OnlyX(ctx)
	tx, err := db.Client.Tx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ev := o.Edges.Events[0]
	if _, err := budget.ChargeConversion(ctx, tx.Client(), db.Dialect, budget.Subject{
		AccountID: o.AccountID, Terms: budget.TermsOf(o, ev), Payout: ev.Payout, Member: member,
		At: time.Now(), ConversionID: conversionID,
	}); err != nil {
		_ = tx.Rollback()
		t.Fatalf("charge offer %d: %v", o.ID, err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// postGraphQL is apitest's GraphQL with request headers of our own (User-Agent, X-Forwarded-For).
func postGraphQL(t testing.TB, srv *apitest.Server, key, query string, vars map[string]any, headers map[string]string) apitest.Response {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/query", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out apitest.Response
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("HTTP %d %q: %v", resp.StatusCode, raw, err)
	}
	out.Status = resp.StatusCode
	return out
}
