package graph_test

import (
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/gokart/gokart/internal/apitest"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/storage"
)

const offerFields = `id name type status integrationSystem trackingLink clickURLTemplate clickURL postbackURL
	missingSteps currency totalBudget dailyBudget capDaily countries platforms timeZone headline callToAction imageURLs
	advertiser { id name } events { id name eventID payout position postbackURL allowRepeats }`

type offerView struct {
	ID, Name, Type, Status, IntegrationSystem, TrackingLink, ClickURLTemplate, ClickURL string
	PostbackURL                                                                         *string
	MissingSteps                                                                        []string
	Currency                                                                            string
	TotalBudget, DailyBudget                                                            *string
	CapDaily                                                                            *int
	Countries, Platforms                                                                []string
	TimeZone, Headline, CallToAction                                                    string
	ImageURLs                                                                           []string
	Advertiser                                                                          *struct{ ID, Name string }
	Events                                                                              []struct {
		ID, Name, EventID, Payout string
		Position                  int
		PostbackURL               *string
		AllowRepeats              bool
	}
}

// step runs one wizard mutation and returns the offer it answers with.
func step(t *testing.T, srv *apitest.Server, key, mutation string, vars map[string]any) offerView {
	t.Helper()
	name := strings.SplitN(strings.TrimSpace(mutation), "(", 2)[0]
	params := []string{}
	for k := range vars {
		params = append(params, k)
	}
	sort.Strings(params)
	types := map[string]string{"id": "ID!", "input": map[string]string{
		"createOffer": "CreateOfferInput!", "updateOfferAdvertiserInfo": "AdvertiserInfoInput!",
		"updateOfferCreative": "OfferCreativeInput!", "updateOfferBudgetTargeting": "OfferBudgetTargetingInput!",
		"updateOfferType": "UpdateOfferTypeInput!"}[name], "events": "[OfferEventInput!]!"}
	decl := []string{}
	for _, p := range params {
		decl = append(decl, "$"+p+": "+types[p])
	}
	q := "mutation"
	if len(decl) > 0 {
		q += "(" + strings.Join(decl, ", ") + ")"
	}
	q += " { " + mutation + " { " + offerFields + " } }"
	var out map[string]offerView
	srv.GraphQL(t, key, q, vars).Decode(t, &out)
	return out[name]
}

func TestSingleEventImpactOfferGoesThroughEveryWizardStep(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		srv := apitest.Start(t, db)
		k := srv.NewAccount(t, "Brand team")

		o := step(t, srv, k.APIKey, `createOffer(input: $input)`, map[string]any{"input": map[string]any{
			"type": "SINGLE_EVENT", "integrationSystem": "IMPACT", "name": "Acme sign-up"}})
		if o.Status != "DRAFT" || len(o.Events) != 1 || len(o.MissingSteps) != 3 {
			t.Fatalf("new offer: status %s, %d events, missing %v; want a DRAFT with its one event and three steps to go", o.Status, len(o.Events), o.MissingSteps)
		}
		id := o.ID
		o = step(t, srv, k.APIKey, `updateOfferAdvertiserInfo(id: $id, input: $input)`, map[string]any{"id": id, "input": map[string]any{
			"advertiser":   map[string]any{"name": "Acme Outdoor", "website": "https://acme.example", "contactEmail": "p@acme.example"},
			"trackingLink": "https://acme.sjv.io/c/123/456/789?u=https%3A%2F%2Facme.example%2F#top"}})
		if want := "https://acme.sjv.io/c/123/456/789?u=https%3A%2F%2Facme.example%2F&subid1={gk_click_id}#top"; o.ClickURLTemplate != want {
			t.Errorf("clickURLTemplate = %q, want %q", o.ClickURLTemplate, want)
		}
		if o.Advertiser == nil || o.Advertiser.Name != "Acme Outdoor" {
			t.Errorf("advertiser = %+v, want the new Acme Outdoor", o.Advertiser)
		}
		step(t, srv, k.APIKey, `updateOfferCreative(id: $id, input: $input)`, map[string]any{"id": id, "input": map[string]any{
			"headline": "Get $5 for signing up", "callToAction": "Sign up", "imageURLs": []string{"https://acme.example/card.png"}}})
		o = step(t, srv, k.APIKey, `updateOfferBudgetTargeting(id: $id, input: $input)`, map[string]any{"id": id, "input": map[string]any{
			"currency": "usd", "totalBudget": "1000.00", "dailyBudget": "100", "payout": "5.25", "capDaily": 50,
			"countries": []string{"us", "CA", "US"}, "platforms": []string{"IOS", "BROWSER"},
			"startsAt": "2026-01-01T00:00:00Z", "endsAt": "2027-01-01T00:00:00Z", "timeZone": "America/New_York"}})
		if o.Currency != "USD" || *o.TotalBudget != "1000.00" || *o.DailyBudget != "100.00" || fmt.Sprint(o.Countries) != "[US CA]" ||
			o.TimeZone != "America/New_York" || o.Events[0].Payout != "5.25" || len(o.MissingSteps) != 0 {
			t.Errorf("after budget step: %+v", o)
		}
		o = step(t, srv, k.APIKey, `setOfferEvents(id: $id, events: $events)`, map[string]any{"id": id, "events": []map[string]any{
			{"id": o.Events[0].ID, "name": "Create an account", "eventID": "Sign Up", "payout": "5.25"}}})
		o = step(t, srv, k.APIKey, `publishOffer(id: $id)`, map[string]any{"id": id})
		if o.Status != "ACTIVE" {
			t.Fatalf("published offer is %s", o.Status)
		}
		if o.ClickURL != srv.URL+"/click/"+id {
			t.Errorf("clickURL = %q", o.ClickURL)
		}
		wantPostback := srv.URL + "/postback?key=" + url.QueryEscape(k.PostbackKey) +
			"&gk_click_id={SubId1}&cnv_event_id=Sign%20Up&cnv_conversion_id={ActionId}&cnv_status={Status}&cnv_payout={Payout}&cnv_amount={Amount}&cnv_currency={Currency}"
		if o.PostbackURL == nil || *o.PostbackURL != wantPostback {
			t.Errorf("offer postbackURL = %v\nwant %s", o.PostbackURL, wantPostback)
		}

		// Read it back as a frontend would.
		var back struct{ Node offerView }
		srv.GraphQL(t, k.APIKey, `query($id: ID!) { node(id: $id) { ... on Offer { `+offerFields+` } } }`, map[string]any{"id": id}).Decode(t, &back)
		if back.Node.Name != "Acme sign-up" || back.Node.Events[0].EventID != "Sign Up" || back.Node.Headline != "Get $5 for signing up" ||
			fmt.Sprint(back.Node.Platforms) != "[IOS BROWSER]" || *back.Node.CapDaily != 50 {
			t.Errorf("read back: %+v", back.Node)
		}
	})
}

func TestMultiEventImpactOfferGoesThroughEveryWizardStep(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		srv := apitest.Start(t, db)
		k := srv.NewAccount(t, "Brand team")
		var adv struct{ CreateAdvertiser struct{ ID string } }
		srv.GraphQL(t, k.APIKey, `mutation { createAdvertiser(input: {name: "Shoply"}) { id } }`, nil).Decode(t, &adv)

		o := step(t, srv, k.APIKey, `createOffer(input: $input)`, map[string]any{"input": map[string]any{
			"type": "MULTI_EVENT", "integrationSystem": "IMPACT", "name": "Shoply journey"}})
		id := o.ID
		if len(o.Events) != 0 || !slices.Contains(o.MissingSteps, "setOfferEvents") {
			t.Fatalf("new multi-event offer: %d events, missing %v", len(o.Events), o.MissingSteps)
		}
		step(t, srv, k.APIKey, `updateOfferAdvertiserInfo(id: $id, input: $input)`, map[string]any{"id": id, "input": map[string]any{
			"advertiserID": adv.CreateAdvertiser.ID, "trackingLink": "https://shoply.pxf.io/c/1/2/3?subid1=stale&sharedid=x"}})
		step(t, srv, k.APIKey, `updateOfferCreative(id: $id, input: $input)`, map[string]any{"id": id, "input": map[string]any{
			"headline": "Shop and earn", "callToAction": "Start"}})
		step(t, srv, k.APIKey, `updateOfferBudgetTargeting(id: $id, input: $input)`, map[string]any{"id": id, "input": map[string]any{
			"currency": "EUR", "totalBudget": "500"}})
		o = step(t, srv, k.APIKey, `setOfferEvents(id: $id, events: $events)`, map[string]any{"id": id, "events": []map[string]any{
			{"name": "Sign Up", "eventID": "Sign Up", "payout": "1.00"},
			{"name": "First Purchase", "eventID": "First Purchase", "payout": "10", "capDaily": 5, "allowRepeats": true}}})
		o = step(t, srv, k.APIKey, `publishOffer(id: $id)`, map[string]any{"id": id})
		if o.Status != "ACTIVE" || o.ClickURLTemplate != "https://shoply.pxf.io/c/1/2/3?subid1={gk_click_id}&sharedid=x" {
			t.Fatalf("published: status %s, template %q", o.Status, o.ClickURLTemplate)
		}
		if len(o.Events) != 2 || o.Events[0].Name != "Sign Up" || o.Events[1].Name != "First Purchase" || o.Events[1].Position != 1 {
			t.Fatalf("events = %+v, want Sign Up then First Purchase", o.Events)
		}
		if o.Events[0].AllowRepeats || !o.Events[1].AllowRepeats {
			t.Errorf("allowRepeats = %v, %v; want false (the default), true", o.Events[0].AllowRepeats, o.Events[1].AllowRepeats)
		}
		base := srv.URL + "/postback?key=" + url.QueryEscape(k.PostbackKey) + "&gk_click_id={SubId1}&cnv_event_id="
		rest := "&cnv_conversion_id={ActionId}&cnv_status={Status}&cnv_payout={Payout}&cnv_amount={Amount}&cnv_currency={Currency}"
		if *o.PostbackURL != base+"{ActionTrackerName}"+rest {
			t.Errorf("offer postbackURL = %s", *o.PostbackURL)
		}
		if *o.Events[0].PostbackURL != base+"Sign%20Up"+rest || *o.Events[1].PostbackURL != base+"First%20Purchase"+rest {
			t.Errorf("event postbackURLs = %s, %s", *o.Events[0].PostbackURL, *o.Events[1].PostbackURL)
		}

		// Reorder and rename after publishing: events keep their ids.
		o2 := step(t, srv, k.APIKey, `setOfferEvents(id: $id, events: $events)`, map[string]any{"id": id, "events": []map[string]any{
			{"id": o.Events[1].ID, "name": "Buy something", "eventID": "First Purchase", "payout": "12"},
			{"id": o.Events[0].ID, "name": "Join", "eventID": "Sign Up", "payout": "1"}}})
		if o2.Events[0].ID != o.Events[1].ID || o2.Events[0].Name != "Buy something" || o2.Events[1].ID != o.Events[0].ID {
			t.Errorf("reordered events = %+v", o2.Events)
		}
		// An event saved without allowRepeats turns it off again.
		if o2.Events[0].AllowRepeats {
			t.Errorf("First Purchase saved without allowRepeats still allows repeats")
		}
	})
}

func TestViewerPostbackURLAndRotatingTheKey(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		srv := apitest.Start(t, db)
		k := srv.NewAccount(t, "Rotator")
		var v struct {
			Viewer struct{ Impact, Everflow string }
		}
		q := `{ viewer { impact: postbackURL(system: IMPACT) everflow: postbackURL(system: EVERFLOW) } }`
		srv.GraphQL(t, k.APIKey, q, nil).Decode(t, &v)
		if !strings.HasPrefix(v.Viewer.Impact, srv.URL+"/postback?key="+url.QueryEscape(k.PostbackKey)+"&gk_click_id={SubId1}&cnv_event_id={ActionTrackerName}") {
			t.Errorf("Impact postback URL = %s", v.Viewer.Impact)
		}
		if !strings.Contains(v.Viewer.Everflow, "gk_click_id={sub1}") {
			t.Errorf("Everflow postback URL = %s", v.Viewer.Everflow)
		}
		var rot struct{ RotatePostbackKey struct{ PostbackURL string } }
		srv.GraphQL(t, k.APIKey, `mutation { rotatePostbackKey { postbackURL(system: IMPACT) } }`, nil).Decode(t, &rot)
		if rot.RotatePostbackKey.PostbackURL == v.Viewer.Impact || strings.Contains(rot.RotatePostbackKey.PostbackURL, url.QueryEscape(k.PostbackKey)) {
			t.Errorf("postback URL after rotation still carries the old key: %s", rot.RotatePostbackKey.PostbackURL)
		}
		var sys struct {
			IntegrationSystems []struct {
				System           string
				ClickIDParameter *string
				Macros           []struct{ Parameter, Macro string }
			}
		}
		srv.GraphQL(t, k.APIKey, `{ integrationSystems { system clickIDParameter macros { parameter macro } } }`, nil).Decode(t, &sys)
		if len(sys.IntegrationSystems) < 11 || sys.IntegrationSystems[0].System != "IMPACT" || *sys.IntegrationSystems[0].ClickIDParameter != "subid1" ||
			sys.IntegrationSystems[len(sys.IntegrationSystems)-1].System != "CUSTOM" {
			t.Errorf("integrationSystems = %+v", sys.IntegrationSystems)
		}
	})
}
