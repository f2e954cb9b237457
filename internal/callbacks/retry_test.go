package callbacks_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/gokart/gokart/internal/callbacks"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/storage"
)

func TestAReceiverFailingThreeTimesGetsTheFourthAttemptWithTheSameWebhookID(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		f := newFixture(t, db)
		rc := newReceiver(t, func(n int, w http.ResponseWriter) {
			switch n {
			case 1:
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = w.Write([]byte("down for maintenance"))
			case 2:
				w.Header().Set("Retry-After", "7200")
				w.WriteHeader(http.StatusTooManyRequests)
			case 3:
				w.WriteHeader(http.StatusRequestTimeout)
			default:
				w.WriteHeader(http.StatusOK)
			}
		})
		_, secret := f.endpoint(t, map[string]any{"url": rc.URL})
		f.postback(t, f.click(t, url.Values{"pub_member_id": {"m"}}), "R-1", "approved", http.StatusOK)
		clk := newClock()
		w := callbacks.NewWorker(db, callbacks.Options{AllowPrivate: true, Clock: clk.Now})

		drain(t, w) // 503
		clk.Advance(30 * time.Second)
		if drain(t, w); len(rc.requests()) != 1 {
			t.Fatalf("retried after 30 s: %d requests", len(rc.requests()))
		}
		clk.Advance(2 * time.Minute)
		drain(t, w) // 429, Retry-After two hours
		clk.Advance(time.Hour)
		if drain(t, w); len(rc.requests()) != 2 {
			t.Fatalf("retried an hour into a two-hour Retry-After: %d requests", len(rc.requests()))
		}
		clk.Advance(time.Hour + time.Minute)
		drain(t, w) // 408
		clk.Advance(10 * time.Minute)
		drain(t, w) // 200

		got := rc.requests()
		if len(got) != 4 {
			t.Fatalf("receiver got %d requests, want 4", len(got))
		}
		wh, _ := standardwebhooks.NewWebhook(secret)
		for i, r := range got {
			if r.Header.Get("webhook-id") != got[0].Header.Get("webhook-id") {
				t.Errorf("attempt %d has webhook-id %q, the first had %q", i+1, r.Header.Get("webhook-id"), got[0].Header.Get("webhook-id"))
			}
			if err := wh.VerifyIgnoringTimestamp(r.Body, r.Header); err != nil {
				t.Errorf("attempt %d: %v", i+1, err)
			}
		}
		ds := f.deliveries(t, nil)
		if len(ds) != 1 || ds[0].Status != "DELIVERED" || ds[0].Attempts != 4 || len(ds[0].AttemptLog) != 4 {
			t.Fatalf("delivery: %+v", ds)
		}
		first := ds[0].AttemptLog[0]
		if first.HTTPStatus == nil || *first.HTTPStatus != 503 || first.Response != "down for maintenance" {
			t.Errorf("first attempt kept as %+v", first)
		}
		if ds[0].WebhookID != got[0].Header.Get("webhook-id") {
			t.Errorf("API shows webhook-id %q, sent %q", ds[0].WebhookID, got[0].Header.Get("webhook-id"))
		}
	})
}

func TestARefusalOtherThan408And429FailsAtOnceAndRedeliverSendsItAgain(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		f := newFixture(t, db)
		rc := newReceiver(t, func(n int, w http.ResponseWriter) {
			if n == 1 {
				http.Error(w, "unknown member", http.StatusUnprocessableEntity)
				return
			}
			w.WriteHeader(http.StatusOK)
		})
		f.endpoint(t, map[string]any{"url": rc.URL})
		f.postback(t, f.click(t, url.Values{"pub_member_id": {"m"}}), "F-1", "approved", http.StatusOK)
		clk := newClock()
		w := callbacks.NewWorker(db, callbacks.Options{AllowPrivate: true, Clock: clk.Now})
		drain(t, w)
		clk.Advance(24 * time.Hour)
		drain(t, w)
		ds := f.deliveries(t, map[string]any{"status": "FAILED"})
		if len(rc.requests()) != 1 || len(ds) != 1 || ds[0].Attempts != 1 || ds[0].LastError != "HTTP 422" {
			t.Fatalf("after a 422: %d requests, failed deliveries %+v", len(rc.requests()), ds)
		}
		var out struct{ RedeliverCallback struct{ Status string } }
		f.srv.GraphQL(t, f.keys.APIKey, `mutation($id: ID!) { redeliverCallback(id: $id) { status } }`,
			map[string]any{"id": ds[0].ID}).Decode(t, &out)
		drain(t, w)
		got := rc.requests()
		if out.RedeliverCallback.Status != "PENDING" || len(got) != 2 || got[0].Header.Get("webhook-id") != got[1].Header.Get("webhook-id") {
			t.Fatalf("redeliver: %+v, %d requests", out, len(got))
		}
		if ds := f.deliveries(t, nil); ds[0].Status != "DELIVERED" || len(ds[0].AttemptLog) != 2 {
			t.Fatalf("after redelivery: %+v", ds)
		}
	})
}

func TestAnEndpointFailingEveryAttemptFor72HoursIsDisabledWithTheReason(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		f := newFixture(t, db)
		rc := newReceiver(t, func(int, http.ResponseWriter) {})
		rc.answer = func(_ int, w http.ResponseWriter) { w.WriteHeader(http.StatusBadGateway) }
		id, _ := f.endpoint(t, map[string]any{"url": rc.URL})
		f.postback(t, f.click(t, url.Values{"pub_member_id": {"m"}}), "D-1", "approved", http.StatusOK)
		clk := newClock()
		w := callbacks.NewWorker(db, callbacks.Options{AllowPrivate: true, Clock: clk.Now})
		drain(t, w)
		clk.Advance(71 * time.Hour)
		drain(t, w)
		if e := endpointState(t, f, id); !e.Enabled {
			t.Fatalf("disabled after 71 hours: %+v", e)
		}
		clk.Advance(2 * time.Hour)
		drain(t, w)
		e := endpointState(t, f, id)
		if e.Enabled || e.DisabledReason == "" || e.FailingSince == nil {
			t.Fatalf("after 73 hours of failures: %+v", e)
		}
		t.Logf("reason: %s", e.DisabledReason)
		// A disabled endpoint hears nothing new; enabling it clears the reason.
		f.postback(t, f.click(t, url.Values{"pub_member_id": {"m2"}}), "D-2", "approved", http.StatusOK)
		if ds := f.deliveries(t, nil); len(ds) != 1 {
			t.Fatalf("a disabled endpoint got a new delivery: %+v", ds)
		}
		var out struct{ EnableCallbackEndpoint endpointView }
		f.srv.GraphQL(t, f.keys.APIKey, `mutation($id: ID!) { enableCallbackEndpoint(id: $id) { enabled disabledReason failingSince } }`,
			map[string]any{"id": id}).Decode(t, &out)
		if !out.EnableCallbackEndpoint.Enabled || out.EnableCallbackEndpoint.DisabledReason != "" || out.EnableCallbackEndpoint.FailingSince != nil {
			t.Fatalf("enabled: %+v", out.EnableCallbackEndpoint)
		}
	})
}

type endpointView struct {
	Enabled        bool
	DisabledReason string
	FailingSince   *string
	Secret         *string
}

func endpointState(t *testing.T, f *fixture, id string) endpointView {
	t.Helper()
	var out struct {
		Node endpointView
	}
	f.srv.GraphQL(t, f.keys.APIKey, `query($id: ID!) { node(id: $id) { ... on CallbackEndpoint { enabled disabledReason failingSince secret } } }`,
		map[string]any{"id": id}).Decode(t, &out)
	return out.Node
}
