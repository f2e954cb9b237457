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

func TestTheSecretIsShownOnCreateAndRotateOnlyAndRotationSignsWithTheNewOne(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		f := newFixture(t, db)
		rc := newReceiver(t, nil)
		id, first := f.endpoint(t, map[string]any{"url": rc.URL})
		if e := endpointState(t, f, id); e.Secret != nil {
			t.Fatalf("node(id:) shows the secret %q", *e.Secret)
		}
		var list struct {
			CallbackEndpoints struct {
				TotalCount int
				Edges      []struct{ Node struct{ Secret *string } }
			}
		}
		f.srv.GraphQL(t, f.keys.APIKey, `{ callbackEndpoints(first: 5) { totalCount edges { node { secret } } } }`, nil).Decode(t, &list)
		if list.CallbackEndpoints.TotalCount != 1 || list.CallbackEndpoints.Edges[0].Node.Secret != nil {
			t.Fatalf("callbackEndpoints: %+v", list)
		}
		var rot struct{ RotateCallbackSecret struct{ Secret string } }
		f.srv.GraphQL(t, f.keys.APIKey, `mutation($id: ID!) { rotateCallbackSecret(id: $id) { secret } }`,
			map[string]any{"id": id}).Decode(t, &rot)
		second := rot.RotateCallbackSecret.Secret
		if second == "" || second == first {
			t.Fatalf("rotated secret %q (was %q)", second, first)
		}
		var test struct{ SendTestCallback struct{ Sequence int } }
		f.srv.GraphQL(t, f.keys.APIKey, `mutation($id: ID!) { sendTestCallback(endpointID: $id) { sequence } }`,
			map[string]any{"id": id}).Decode(t, &test)
		drain(t, callbacks.NewWorker(db, callbacks.Options{AllowPrivate: true}))
		got := rc.requests()
		if len(got) != 1 {
			t.Fatalf("test callback: %d requests", len(got))
		}
		wh, _ := standardwebhooks.NewWebhook(second)
		if err := wh.Verify(got[0].Body, got[0].Header); err != nil {
			t.Errorf("test callback does not verify with the new secret: %v", err)
		}
		if old, _ := standardwebhooks.NewWebhook(first); old.Verify(got[0].Body, got[0].Header) == nil {
			t.Errorf("test callback still verifies with the old secret")
		}
		if b := decodeBody(t, got[0].Body); b.Data.Sequence != 0 || b.Type != "conversion.approved" {
			t.Errorf("test callback body: %+v", b)
		}
	})
}

func TestAnotherAccountCannotSeeOrTouchTheEndpointsAndDeliveries(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		f := newFixture(t, db)
		rc := newReceiver(t, nil)
		id, _ := f.endpoint(t, map[string]any{"url": rc.URL})
		f.postback(t, f.click(t, url.Values{"pub_member_id": {"m"}}), "T-1", "approved", http.StatusOK)
		ds := f.deliveries(t, nil)
		if len(ds) != 1 {
			t.Fatalf("deliveries: %+v", ds)
		}
		other := f.srv.NewAccount(t, "Other")
		var lists struct {
			CallbackEndpoints  struct{ TotalCount int }
			CallbackDeliveries struct{ TotalCount int }
		}
		f.srv.GraphQL(t, other.APIKey, `{ callbackEndpoints { totalCount } callbackDeliveries { totalCount } }`, nil).Decode(t, &lists)
		if lists.CallbackEndpoints.TotalCount != 0 || lists.CallbackDeliveries.TotalCount != 0 {
			t.Fatalf("the other account sees %+v", lists)
		}
		for _, op := range []struct{ q, id string }{
			{`mutation($id: ID!) { disableCallbackEndpoint(id: $id) { id } }`, id},
			{`mutation($id: ID!) { rotateCallbackSecret(id: $id) { secret } }`, id},
			{`mutation($id: ID!) { redeliverCallback(id: $id) { id } }`, ds[0].ID},
		} {
			r := f.srv.GraphQL(t, other.APIKey, op.q, map[string]any{"id": op.id})
			if len(r.Errors) != 1 || r.Errors[0].Code() != "NOT_FOUND" {
				t.Errorf("%s from another account: %+v", op.q, r.Errors)
			}
		}
		r := f.srv.GraphQL(t, other.APIKey, `mutation($in: CreateCallbackEndpointInput!) { createCallbackEndpoint(input: $in) { id } }`,
			map[string]any{"in": map[string]any{"url": "https://example.com", "offerID": f.offer.ID}})
		if len(r.Errors) != 1 || r.Errors[0].Field() != "offerID" {
			t.Errorf("endpoint on another account's offer: %+v", r.Errors)
		}
	})
}
