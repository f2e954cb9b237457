package accounts

import (
	"context"
	"fmt"
	"time"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/account"
	"github.com/gokart/gokart/ent/offer"
	"github.com/gokart/gokart/internal/catalogue"
	"github.com/gokart/gokart/internal/links"
	"github.com/gokart/gokart/internal/money"
	"github.com/gokart/gokart/internal/viewer"
)

// DemoAccountName names the demo account; Demo finds it by this name on later runs.
const DemoAccountName = "gokart demo"

// Demo loads, once, a demo account with one advertiser, an active single-event Impact offer and
// an active multi-event Impact offer ("Sign Up", "First Purchase"). Every run issues a fresh API
// key for it (keys are stored hashed, so an old one cannot be shown again) and returns the keys.
func Demo(ctx context.Context, client *ent.Client) (Keys, error) {
	ctx = viewer.AsSystem(ctx)
	var keys Keys
	err := withTx(ctx, client, func(tx *ent.Tx) error {
		acc, err := tx.Account.Query().Where(account.Name(DemoAccountName)).Order(account.ByID()).First(ctx)
		if ent.IsNotFound(err) {
			acc, err = loadDemo(ctx, tx.Client())
		}
		if err != nil {
			return err
		}
		key, err := issueAPIKey(ctx, tx.Client(), acc.ID, fmt.Sprintf("demo %s", time.Now().UTC().Format(time.RFC3339)))
		if err != nil {
			return err
		}
		keys = Keys{ID: acc.ID, APIKey: key, PostbackKey: acc.PostbackKey}
		return nil
	})
	return keys, err
}

type demoEvent struct {
	name   string
	payout money.Micros
}

func loadDemo(ctx context.Context, c *ent.Client) (*ent.Account, error) {
	acc, err := c.Account.Create().SetName(DemoAccountName).SetPostbackKey(NewPostbackKey()).Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("create demo account: %w", err)
	}
	adv, err := c.Advertiser.Create().SetAccountID(acc.ID).
		SetName("Acme Outdoor").SetWebsite("https://acme-outdoor.example").
		SetContactName("Dana Brand").SetContactEmail("partners@acme-outdoor.example").
		Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("create demo advertiser: %w", err)
	}
	offers := []struct {
		name, link string
		typ        offer.Type
		events     []demoEvent
	}{
		{"Acme Outdoor: create an account", "https://acme-outdoor.sjv.io/c/1234567/890123/4567", offer.TypeSINGLE_EVENT,
			[]demoEvent{{"Sign Up", 2_500_000}}},
		{"Acme Outdoor: sign up and shop", "https://acme-outdoor.sjv.io/c/1234567/890124/4567?u=https%3A%2F%2Facme-outdoor.example%2Fshop", offer.TypeMULTI_EVENT,
			[]demoEvent{{"Sign Up", 1_000_000}, {"First Purchase", 10_000_000}}},
	}
	impact, _ := catalogue.Lookup(catalogue.Impact)
	now := time.Now()
	for _, o := range offers {
		tmpl, err := links.AppendClickMacro(o.link, impact.ClickIDParam)
		if err != nil {
			return nil, fmt.Errorf("demo tracking link: %w", err)
		}
		total := money.Micros(1_000 * money.Scale)
		off, err := c.Offer.Create().SetAccountID(acc.ID).SetAdvertiserID(adv.ID).
			SetName(o.name).SetType(o.typ).SetIntegrationSystem(catalogue.Impact).
			SetStatus(offer.StatusACTIVE).SetPublishedAt(now).
			SetTrackingLink(o.link).SetClickURLTemplate(tmpl).
			SetHeadline(o.name).SetDescription("Demo offer loaded by `gokart demo`.").
			SetCallToAction("Get started").SetImageUrls([]string{"https://acme-outdoor.example/card.png"}).
			SetCurrency("USD").SetBudgetTotal(total).
			Save(ctx)
		if err != nil {
			return nil, fmt.Errorf("create demo offer: %w", err)
		}
		for i, e := range o.events {
			if err := c.OfferEvent.Create().SetAccountID(acc.ID).SetOfferID(off.ID).
				SetName(e.name).SetEventID(e.name).SetPosition(i).SetPayout(e.payout).Exec(ctx); err != nil {
				return nil, fmt.Errorf("create demo event %q: %w", e.name, err)
			}
		}
	}
	return acc, nil
}
