package callbacks_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/offer"
	"github.com/gokart/gokart/internal/accounts"
	"github.com/gokart/gokart/internal/apitest"
	"github.com/gokart/gokart/internal/callbacks"
	"github.com/gokart/gokart/internal/catalogue"
	"github.com/gokart/gokart/internal/links"
	"github.com/gokart/gokart/internal/money"
	"github.com/gokart/gokart/internal/storage"
	"github.com/gokart/gokart/internal/viewer"
)

var sys = viewer.AsSystem(context.Background())

// fixture is a server with an account, an active single-event offer (event "sale") and the
// account's keys.
type fixture struct {
	srv   *apitest.Server
	keys  accounts.Keys
	offer *ent.Offer
	event *ent.OfferEvent
}

func newFixture(t *testing.T, db *storage.DB) *fixture {
	t.Helper()
	srv := apitest.Start(t, db)
	keys := srv.NewAccount(t, "Acme")
	c := db.Client
	link := "https://brand.sjv.io/c/1/2/3"
	tmpl, err := links.AppendClickMacro(link, "subid1")
	if err != nil {
		t.Fatal(err)
	}
	o := c.Offer.Create().SetAccountID(keys.ID).SetName("Shoes & more").SetType(offer.TypeSINGLE_EVENT).
		SetIntegrationSystem(catalogue.Impact).SetStatus(offer.StatusACTIVE).
		SetTrackingLink(link).SetClickURLTemplate(tmpl).SetCurrency("USD").SetOneCompletionPerMember(false).SaveX(sys)
	ev := c.OfferEvent.Create().SetAccountID(keys.ID).SetOfferID(o.ID).SetName("Sale").SetEventID("sale").
		SetPosition(0).SetPayout(money.Micros(2_500_000)).SaveX(sys)
	return &fixture{srv: srv, keys: keys, offer: o, event: ev}
}

// click follows GET /click/{offer} with the publisher's values and returns the gk_click_id.
func (f *fixture) click(t *testing.T, q url.Values) string {
	t.Helper()
	resp, body := f.srv.Get(t, fmt.Sprintf("/click/%d?%s", f.offer.ID, q.Encode()))
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("click: %d %q", resp.StatusCode, body)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return loc.Query().Get("subid1")
}

// postback reports the conversion of a click in a status and checks the answer's status code.
func (f *fixture) postback(t *testing.T, gk, ncid, status string, want int) {
	t.Helper()
	q := url.Values{"key": {f.keys.PostbackKey}, "gk_click_id": {gk}, "cnv_event_id": {"sale"},
		"cnv_conversion_id": {ncid}, "cnv_status": {status}, "cnv_amount": {"49.99"}}
	resp, body := f.srv.Get(t, "/postback?"+q.Encode())
	if resp.StatusCode != want {
		t.Fatalf("postback %s: %d %q, want %d", status, resp.StatusCode, body, want)
	}
}

// endpoint creates a callback endpoint through GraphQL and returns its id and secret.
func (f *fixture) endpoint(t *testing.T, input map[string]any) (string, string) {
	t.Helper()
	var out struct {
		CreateCallbackEndpoint struct{ ID, Secret string }
	}
	f.srv.GraphQL(t, f.keys.APIKey, `mutation($in: CreateCallbackEndpointInput!) {
  createCallbackEndpoint(input: $in) { id secret }
}`, map[string]any{"in": input}).Decode(t, &out)
	if !strings.HasPrefix(out.CreateCallbackEndpoint.Secret, callbacks.SecretPrefix) {
		t.Fatalf("secret %q has no %s prefix", out.CreateCallbackEndpoint.Secret, callbacks.SecretPrefix)
	}
	return out.CreateCallbackEndpoint.ID, out.CreateCallbackEndpoint.Secret
}

// received is one request a receiver got.
type received struct {
	Method string
	URL    *url.URL
	Header http.Header
	Body   []byte
}

// receiver is a loopback HTTP server that records requests and answers with answer(n), n
// counting from 1.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []received
	answer func(n int, w http.ResponseWriter)
}

func newReceiver(t *testing.T, answer func(n int, w http.ResponseWriter)) *receiver {
	t.Helper()
	rc := &receiver{answer: answer}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, received{Method: r.Method, URL: r.URL, Header: r.Header.Clone(), Body: b})
		n := len(rc.got)
		rc.mu.Unlock()
		if rc.answer != nil {
			rc.answer(n, w)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// clock is a fake clock that tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().UTC()} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// drain runs the worker until a round claims nothing.
func drain(t *testing.T, w *callbacks.Worker) int {
	t.Helper()
	total := 0
	for i := 0; i < 20; i++ {
		n, err := w.RunOnce(context.Background())
		if err != nil {
			t.Fatalf("worker round: %v", err)
		}
		if n == 0 {
			return total
		}
		total += n
	}
	t.Fatalf("worker still busy after 20 rounds")
	return total
}

func decodeBody(t *testing.T, b []byte) callbacks.Body {
	t.Helper()
	var body callbacks.Body
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatalf("body %s: %v", b, err)
	}
	return body
}

// deliveries lists the account's deliveries through GraphQL, newest first.
func (f *fixture) deliveries(t *testing.T, where map[string]any) []delivery {
	t.Helper()
	var out struct {
		CallbackDeliveries struct {
			Edges []struct{ Node delivery }
		}
	}
	f.srv.GraphQL(t, f.keys.APIKey, `query($w: CallbackDeliveryWhereInput) {
  callbackDeliveries(first: 50, where: $w) { edges { node {
    id webhookID status event sequence attempts lastError conversionID
    attemptLog { httpStatus response error durationMs }
  } } }
}`, map[string]any{"w": where}).Decode(t, &out)
	var ds []delivery
	for _, e := range out.CallbackDeliveries.Edges {
		ds = append(ds, e.Node)
	}
	return ds
}

type delivery struct {
	ID, WebhookID, Status, Event, LastError string
	ConversionID                            *string
	Sequence, Attempts                      int
	AttemptLog                              []struct {
		HTTPStatus *int
		Response   string
		Error      string
		DurationMs int
	}
}
