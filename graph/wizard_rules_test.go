package graph_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/gokart/gokart/internal/apitest"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/storage"
)

// draft makes a DRAFT offer of the type through the API and returns its id.
func draft(t *testing.T, srv *apitest.Server, key, typ string) offerView {
	t.Helper()
	return step(t, srv, key, `createOffer(input: $input)`, map[string]any{"input": map[string]any{
		"type": typ, "integrationSystem": "IMPACT", "name": "Rules " + typ}})
}

// fields runs a mutation and returns the extensions.field of every VALIDATION error.
func fields(t *testing.T, srv *apitest.Server, key, q string, vars map[string]any) []string {
	t.Helper()
	resp := srv.GraphQL(t, key, q, vars)
	var out []string
	for _, e := range resp.Errors {
		if e.Code() != "VALIDATION" {
			t.Errorf("error %q has code %s, want VALIDATION", e.Message, e.Code())
		}
		out = append(out, e.Field())
	}
	slices.Sort(out)
	return out
}

func TestWizardReportsEveryInvalidFieldAtOnce(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		srv := apitest.Start(t, db)
		k := srv.NewAccount(t, "Validator")
		single := draft(t, srv, k.APIKey, "SINGLE_EVENT").ID
		multi := draft(t, srv, k.APIKey, "MULTI_EVENT").ID
		const adv = `mutation($id: ID!, $input: AdvertiserInfoInput!) { updateOfferAdvertiserInfo(id: $id, input: $input) { id } }`
		const budget = `mutation($id: ID!, $input: OfferBudgetTargetingInput!) { updateOfferBudgetTargeting(id: $id, input: $input) { id } }`
		const events = `mutation($id: ID!, $events: [OfferEventInput!]!) { setOfferEvents(id: $id, events: $events) { id } }`
		cases := []struct {
			name string
			q    string
			vars map[string]any
			want []string
		}{
			{"an empty offer name", `mutation { createOffer(input: {type: SINGLE_EVENT, integrationSystem: IMPACT, name: "  "}) { id } }`, nil,
				[]string{"input.name"}},
			{"a tracking link that is not http", adv, map[string]any{"id": single, "input": map[string]any{
				"advertiser": map[string]any{"name": "A"}, "trackingLink": "ftp://x.example/file"}}, []string{"input.trackingLink"}},
			{"a tracking link with a space, no advertiser", adv, map[string]any{"id": single, "input": map[string]any{
				"trackingLink": "https://x.example/a b"}}, []string{"input.advertiserID", "input.trackingLink"}},
			{"a tracking link over 2048 characters", adv, map[string]any{"id": single, "input": map[string]any{
				"advertiser": map[string]any{"name": "A"}, "trackingLink": "https://x.example/?q=" + string(make([]byte, 0)) + repeat("a", 2100)}},
				[]string{"input.trackingLink"}},
			{"a new advertiser with a bad email and website", adv, map[string]any{"id": single, "input": map[string]any{
				"advertiser": map[string]any{"name": "", "website": "acme", "contactEmail": "nobody"}, "trackingLink": "https://x.example/"}},
				[]string{"input.advertiser.contactEmail", "input.advertiser.name", "input.advertiser.website"}},
			{"every budget rule broken", budget, map[string]any{"id": single, "input": map[string]any{
				"currency": "XXX", "totalBudget": "0", "dailyBudget": "-1", "capDaily": 0, "capTotal": -3,
				"countries": []string{"US", "UK"}, "startsAt": "2026-02-01T00:00:00Z", "endsAt": "2026-01-01T00:00:00Z",
				"timeZone": "Local", "payout": "-1"}},
				[]string{"input.capDaily", "input.capTotal", "input.countries[1]", "input.currency", "input.dailyBudget",
					"input.endsAt", "input.payout", "input.timeZone", "input.totalBudget"}},
			{"a daily budget above the total", budget, map[string]any{"id": single, "input": map[string]any{
				"currency": "USD", "totalBudget": "10", "dailyBudget": "20", "payout": "1"}}, []string{"input.dailyBudget"}},
			{"a single-event offer without a payout", budget, map[string]any{"id": single, "input": map[string]any{
				"currency": "USD", "totalBudget": "10"}}, []string{"input.payout"}},
			{"a multi-event offer with an offer-level payout", budget, map[string]any{"id": multi, "input": map[string]any{
				"currency": "USD", "totalBudget": "10", "payout": "1"}}, []string{"input.payout"}},
			{"event ids that collide ignoring case and spaces", events, map[string]any{"id": multi, "events": []map[string]any{
				{"name": "Sign Up", "eventID": "Sign Up", "payout": "1"}, {"name": "Again", "eventID": " sign up ", "payout": "1"}}},
				[]string{"events[1].eventID"}},
			{"events with empty names, ids, negative payouts and caps", events, map[string]any{"id": multi, "events": []map[string]any{
				{"name": "", "eventID": "a", "payout": "-1"}, {"name": "B", "eventID": " ", "payout": "1", "capDaily": 0}}},
				[]string{"events[0].name", "events[0].payout", "events[1].capDaily", "events[1].eventID"}},
			{"a multi-event offer with one event", events, map[string]any{"id": multi, "events": []map[string]any{
				{"name": "Only", "eventID": "only", "payout": "1"}}}, []string{"events"}},
			{"a single-event offer with two events", events, map[string]any{"id": single, "events": []map[string]any{
				{"name": "A", "eventID": "a", "payout": "1"}, {"name": "B", "eventID": "b", "payout": "1"}}}, []string{"events"}},
			// The field is the argument at fault; extensions.step names the step (TestPublishingNamesTheMissingSteps).
			{"publishing an empty draft blames its id once per missing step", `mutation($id: ID!) { publishOffer(id: $id) { id } }`,
				map[string]any{"id": multi}, []string{"id", "id", "id", "id"}},
			{"a page larger than the maximum", `{ advertisers(first: 500) { totalCount } }`, nil, []string{"first"}},
		}
		for _, c := range cases {
			got := fields(t, srv, k.APIKey, c.q, c.vars)
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("%s: fields %v, want %v", c.name, got, c.want)
			}
		}
	})
}

func repeat(s string, n int) string {
	b := make([]byte, 0, n*len(s))
	for i := 0; i < n; i++ {
		b = append(b, s...)
	}
	return string(b)
}

// publishable builds a complete single-event draft.
func publishable(t *testing.T, srv *apitest.Server, key string) string {
	t.Helper()
	id := draft(t, srv, key, "SINGLE_EVENT").ID
	step(t, srv, key, `updateOfferAdvertiserInfo(id: $id, input: $input)`, map[string]any{"id": id, "input": map[string]any{
		"advertiser": map[string]any{"name": "Brand of offer " + id}, "trackingLink": "https://brand.sjv.io/c/1/2/3"}})
	step(t, srv, key, `updateOfferCreative(id: $id, input: $input)`, map[string]any{"id": id, "input": map[string]any{
		"headline": "H", "callToAction": "Go"}})
	step(t, srv, key, `updateOfferBudgetTargeting(id: $id, input: $input)`, map[string]any{"id": id, "input": map[string]any{
		"currency": "USD", "totalBudget": "100", "payout": "1"}})
	return id
}

func TestOfferStatusTransitions(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		srv := apitest.Start(t, db)
		k := srv.NewAccount(t, "Lifecycle")
		id := publishable(t, srv, k.APIKey)
		do := func(mutation string) (string, string) {
			resp := srv.GraphQL(t, k.APIKey, fmt.Sprintf(`mutation($id: ID!) { %s(id: $id) { status } }`, mutation), map[string]any{"id": id})
			if len(resp.Errors) > 0 {
				return "", resp.Errors[0].Code()
			}
			var out map[string]struct{ Status string }
			resp.Decode(t, &out)
			return out[mutation].Status, ""
		}
		steps := []struct{ mutation, status, code string }{
			{"pauseOffer", "", "CONFLICT"}, // a draft cannot pause
			{"resumeOffer", "", "CONFLICT"},
			{"publishOffer", "ACTIVE", ""},
			{"publishOffer", "", "CONFLICT"}, // only drafts publish
			{"resumeOffer", "", "CONFLICT"},  // active is not paused
			{"pauseOffer", "PAUSED", ""},
			{"pauseOffer", "", "CONFLICT"},
			{"resumeOffer", "ACTIVE", ""},
			{"endOffer", "ENDED", ""},
			{"endOffer", "", "CONFLICT"}, // final
			{"resumeOffer", "", "CONFLICT"},
			{"pauseOffer", "", "CONFLICT"},
		}
		for i, s := range steps {
			status, code := do(s.mutation)
			if status != s.status || code != s.code {
				t.Fatalf("step %d %s: status %q code %q, want %q %q", i, s.mutation, status, code, s.status, s.code)
			}
		}
		// An ended offer's steps refuse to change.
		resp := srv.GraphQL(t, k.APIKey, `mutation($id: ID!) { updateOfferCreative(id: $id, input: {headline: "x", callToAction: "y"}) { id } }`, map[string]any{"id": id})
		if fmt.Sprint(resp.Codes()) != "[CONFLICT]" {
			t.Errorf("editing an ended offer: %v, want CONFLICT", resp.Codes())
		}

		// Type and integration system change while a draft, not after publishing.
		other := publishable(t, srv, k.APIKey)
		changed := step(t, srv, k.APIKey, `updateOfferType(id: $id, input: $input)`, map[string]any{"id": other, "input": map[string]any{
			"integrationSystem": "EVERFLOW"}})
		if changed.IntegrationSystem != "EVERFLOW" || changed.ClickURLTemplate != "https://brand.sjv.io/c/1/2/3?sub1={gk_click_id}" {
			t.Errorf("changing a draft's system: %s %q", changed.IntegrationSystem, changed.ClickURLTemplate)
		}
		step(t, srv, k.APIKey, `publishOffer(id: $id)`, map[string]any{"id": other})
		for _, in := range []map[string]any{{"type": "MULTI_EVENT"}, {"integrationSystem": "IMPACT"}} {
			resp := srv.GraphQL(t, k.APIKey, `mutation($id: ID!, $input: UpdateOfferTypeInput!) { updateOfferType(id: $id, input: $input) { id } }`,
				map[string]any{"id": other, "input": in})
			if fmt.Sprint(resp.Codes()) != "[CONFLICT]" {
				t.Errorf("changing %v after publishing: %v, want CONFLICT", in, resp.Codes())
			}
		}
		renamed := step(t, srv, k.APIKey, `updateOfferType(id: $id, input: $input)`, map[string]any{"id": other, "input": map[string]any{"name": "Renamed"}})
		if renamed.Name != "Renamed" {
			t.Errorf("renaming a published offer: %q", renamed.Name)
		}
	})
}

func TestAnotherAccountsOffersAndAdvertisersReadAsNotFound(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		srv := apitest.Start(t, db)
		owner := srv.NewAccount(t, "Owner")
		intruder := srv.NewAccount(t, "Intruder")
		id := publishable(t, srv, owner.APIKey)
		var adv struct{ CreateAdvertiser struct{ ID string } }
		srv.GraphQL(t, owner.APIKey, `mutation { createAdvertiser(input: {name: "Owned"}) { id } }`, nil).Decode(t, &adv)
		attempts := []struct {
			q    string
			vars map[string]any
		}{
			{`mutation($id: ID!) { publishOffer(id: $id) { id } }`, map[string]any{"id": id}},
			{`mutation($id: ID!) { endOffer(id: $id) { id } }`, map[string]any{"id": id}},
			{`mutation($id: ID!) { updateOfferCreative(id: $id, input: {headline: "pwned", callToAction: "x"}) { id } }`, map[string]any{"id": id}},
			{`mutation($id: ID!) { setOfferEvents(id: $id, events: [{name: "x", eventID: "x", payout: "1"}]) { id } }`, map[string]any{"id": id}},
			{`mutation($id: ID!) { updateAdvertiser(id: $id, input: {name: "pwned"}) { id } }`, map[string]any{"id": adv.CreateAdvertiser.ID}},
			{`mutation($id: ID!, $adv: ID!) { updateOfferAdvertiserInfo(id: $id, input: {advertiserID: $adv, trackingLink: "https://x.example/"}) { id } }`,
				map[string]any{"id": id, "adv": adv.CreateAdvertiser.ID}},
		}
		for _, a := range attempts {
			if codes := srv.GraphQL(t, intruder.APIKey, a.q, a.vars).Codes(); fmt.Sprint(codes) != "[NOT_FOUND]" {
				t.Errorf("%s as another account: %v, want NOT_FOUND", a.q, codes)
			}
		}
		// The intruder's own offer cannot borrow the owner's advertiser either.
		mine := draft(t, srv, intruder.APIKey, "SINGLE_EVENT").ID
		resp := srv.GraphQL(t, intruder.APIKey, `mutation($id: ID!, $adv: ID!) { updateOfferAdvertiserInfo(id: $id, input: {advertiserID: $adv, trackingLink: "https://x.example/"}) { id } }`,
			map[string]any{"id": mine, "adv": adv.CreateAdvertiser.ID})
		if fmt.Sprint(resp.Codes()) != "[NOT_FOUND]" {
			t.Errorf("borrowing another account's advertiser: %v, want NOT_FOUND", resp.Codes())
		}
		var o struct{ Node offerView }
		srv.GraphQL(t, owner.APIKey, `query($id: ID!) { node(id: $id) { ... on Offer { `+offerFields+` } } }`, map[string]any{"id": id}).Decode(t, &o)
		if o.Node.Status != "DRAFT" || o.Node.Headline != "H" {
			t.Errorf("owner's offer changed by the intruder: %+v", o.Node)
		}
	})
}
