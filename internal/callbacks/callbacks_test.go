package callbacks_test

import (
	"net/http"
	"net/url"
	"testing"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/gokart/gokart/internal/callbacks"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/storage"
)

func TestApproveThenReverseSendsTwoSignedCallbacksInOrder(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		f := newFixture(t, db)
		rc := newReceiver(t, nil)
		_, secret := f.endpoint(t, map[string]any{"url": rc.URL + "/hook", "headerName": "X-Api-Key", "headerValue": "k-123"})
		gk := f.click(t, url.Values{"pub_member_id": {"m-1"}, "pub_click_id": {"pc-9"}, "pub_sub_2": {"s2"}})
		f.postback(t, gk, "A-1", "approved", http.StatusOK)
		f.postback(t, gk, "A-1", "reversed", http.StatusOK)

		w := callbacks.NewWorker(db, callbacks.Options{AllowPrivate: true})
		drain(t, w)
		drain(t, w) // the reversal waits for the approval to be delivered

		got := rc.requests()
		if len(got) != 2 {
			t.Fatalf("receiver got %d requests, want 2", len(got))
		}
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			t.Fatal(err)
		}
		wantTypes := []string{"conversion.approved", "conversion.reversed"}
		for i, r := range got {
			if err := wh.Verify(r.Body, r.Header); err != nil {
				t.Errorf("request %d: signature does not verify with the Standard Webhooks library: %v", i+1, err)
			}
			if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || r.Header.Get("X-Api-Key") != "k-123" {
				t.Errorf("request %d: %s, content type %q, X-Api-Key %q", i+1, r.Method, r.Header.Get("Content-Type"), r.Header.Get("X-Api-Key"))
			}
			b := decodeBody(t, r.Body)
			if b.Type != wantTypes[i] || b.Data.Sequence != i+1 {
				t.Errorf("request %d: type %q sequence %d, want %q %d", i+1, b.Type, b.Data.Sequence, wantTypes[i], i+1)
			}
			d := b.Data
			if d.PubMemberID != "m-1" || d.PubClickID != "pc-9" || d.PubSubs[1] != "s2" || d.GkClickID != gk ||
				d.Offer.Name != "Shoes & more" || d.Event.EventID != "sale" || d.Payout != "2.50" || d.Currency != "USD" ||
				d.NetworkConversionID == nil || *d.NetworkConversionID != "A-1" || d.Amount == nil || *d.Amount != "49.99" {
				t.Errorf("request %d: data %+v", i+1, d)
			}
		}
		second := decodeBody(t, got[1].Body).Data
		if second.Status != "REVERSED" || second.PreviousStatus == nil || *second.PreviousStatus != "APPROVED" {
			t.Errorf("reversal: status %q previous %v", second.Status, second.PreviousStatus)
		}
		if got[0].Header.Get("webhook-id") == got[1].Header.Get("webhook-id") {
			t.Errorf("two deliveries share webhook-id %q", got[0].Header.Get("webhook-id"))
		}
		ds := f.deliveries(t, nil)
		if len(ds) != 2 || ds[0].Status != "DELIVERED" || ds[1].Status != "DELIVERED" || len(ds[0].AttemptLog) != 1 {
			t.Fatalf("deliveries: %+v", ds)
		}
	})
}
