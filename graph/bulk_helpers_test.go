package graph_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/conversion"
	"github.com/gokart/gokart/ent/offer"
	"github.com/gokart/gokart/internal/accounts"
	"github.com/gokart/gokart/internal/apitest"
	"github.com/gokart/gokart/internal/budget"
	"github.com/gokart/gokart/internal/callbacks/vocab"
	"github.com/gokart/gokart/internal/catalogue"
	"github.com/gokart/gokart/internal/links"
	"github.com/gokart/gokart/internal/money"
	"github.com/gokart/gokart/internal/storage"
	"github.com/gokart/gokart/internal/viewer"
)

var sysCtx = viewer.AsSystem(context.Background())

// convFixture is an account with an active single-event offer (event "sale", payout 2.50) and
// a callback endpoint that hears every status change.
type convFixture struct {
	srv   *apitest.Server
	db    *storage.DB
	keys  accounts.Keys
	offer *ent.Offer
}

const salePayout = money.Micros(2_500_000)

func newConvFixture(t *testing.T, db *storage.DB, srv *apitest.Server, name string) *convFixture {
	t.Helper()
	if srv == nil {
		srv = apitest.Start(t, db)
	}
	keys := srv.NewAccount(t, name)
	link := "https://brand.sjv.io/c/1/2/3"
	tmpl, err := links.AppendClickMacro(link, "subid1")
	if err != nil {
		t.Fatal(err)
	}
	c := db.Client
	o := c.Offer.Create().SetAccountID(keys.ID).SetName(name + " offer").SetType(offer.TypeSINGLE_EVENT).
		SetIntegrationSystem(catalogue.Impact).SetStatus(offer.StatusACTIVE).
		SetTrackingLink(link).SetClickURLTemplate(tmpl).SetCurrency("USD").SetOneCompletionPerMember(false).SaveX(sysCtx)
	c.OfferEvent.Create().SetAccountID(keys.ID).SetOfferID(o.ID).SetName("Sale").SetEventID("sale").
		SetPosition(0).SetPayout(salePayout).SaveX(sysCtx)
	// Never called: no callback worker runs in these tests; the deliveries are only counted.
	c.CallbackEndpoint.Create().SetAccountID(keys.ID).SetURL("http://127.0.0.1:9/hook").SetSecret("whsec_test").
		SetEvents([]vocab.Event{vocab.ConversionPending, vocab.ConversionApproved, vocab.ConversionReversed, vocab.ConversionRejected}).
		SaveX(sysCtx)
	return &convFixture{srv: srv, db: db, keys: keys, offer: o}
}

// convert makes n conversions through the real routes (clicks stored directly, postbacks over
// HTTP, a few at once) with network ids prefix-0 … and returns their ids in that order.
func (f *convFixture) convert(t *testing.T, n int, prefix, status string) []int {
	t.Helper()
	clicks := make([]*ent.ClickCreate, n)
	for i := range clicks {
		clicks[i] = f.db.Client.Click.Create().SetAccountID(f.keys.ID).SetOfferID(f.offer.ID).
			SetGkClickID(fmt.Sprintf("%s-click-%d", prefix, i)).SetPubMemberID(fmt.Sprintf("m%d", i))
	}
	for start := 0; start < n; start += 500 {
		f.db.Client.Click.CreateBulk(clicks[start:min(start+500, n)]...).ExecX(sysCtx)
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 4)
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer func() { <-sem; wg.Done() }()
			q := url.Values{"key": {f.keys.PostbackKey}, "gk_click_id": {fmt.Sprintf("%s-click-%d", prefix, i)},
				"cnv_event_id": {"sale"}, "cnv_conversion_id": {fmt.Sprintf("%s-%d", prefix, i)}, "cnv_status": {status}}
			resp, err := http.Get(f.srv.URL + "/postback?" + q.Encode())
			if err != nil {
				errs <- err
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusConflict {
				errs <- fmt.Errorf("postback %d: HTTP %d", i, resp.StatusCode)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	ids := make([]int, n)
	for i := range ids {
		ids[i] = f.db.Client.Conversion.Query().Where(conversion.NetworkConversionID(fmt.Sprintf("%s-%d", prefix, i))).OnlyIDX(sysCtx)
	}
	return ids
}

// spent is the offer's spend as budgets see it (the shards).
func (f *convFixture) spent(t *testing.T) money.Micros {
	t.Helper()
	s, err := budget.Spent(sysCtx, f.db.Client, f.keys.ID, f.offer.ID)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type statusResult struct {
	ID                  *string
	NetworkConversionID *string
	Outcome             string
	Code, Message       *string
	Conversion          *struct{ ID, Status, Reason string }
}

type statusesPayload struct {
	Results                    []statusResult
	Changed, Unchanged, Failed int
}

const updateStatuses = `mutation($in: UpdateConversionStatusesInput!) { updateConversionStatuses(input: $in) {
  changed unchanged failed results { id networkConversionID outcome code message conversion { id status reason } } } }`

func (f *convFixture) updateStatuses(t *testing.T, in map[string]any) statusesPayload {
	t.Helper()
	var out struct{ UpdateConversionStatuses statusesPayload }
	f.srv.GraphQL(t, f.keys.APIKey, updateStatuses, map[string]any{"in": in}).Decode(t, &out)
	return out.UpdateConversionStatuses
}
