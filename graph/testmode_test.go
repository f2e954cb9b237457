package graph_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gokart/gokart/ent/click"
	"github.com/gokart/gokart/ent/conversion"
	"github.com/gokart/gokart/ent/offer"
	"github.com/gokart/gokart/internal/callbacks"
	"github.com/gokart/gokart/internal/callbacks/vocab"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/storage"
	"github.com/gokart/gokart/internal/viewer"
)

// A test click on a paused offer whose budget is spent converts (pending, then approved)
// without charging anything, is filtered by conversions(where: {test}), stays out of the
// reports, and its callback says "test": true.
func TestTestClickConvertsWithoutChargingOrCounting(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		f := newConvFixture(t, db, nil, "Tester")
		f.convert(t, 1, "live", "pending")
		db.Client.Offer.UpdateOneID(f.offer.ID).SetBudgetTotal(salePayout).SetStatus(offer.StatusPAUSED).ExecX(sysCtx)

		var (
			mu     sync.Mutex
			bodies []string
		)
		hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			bodies = append(bodies, string(b))
			mu.Unlock()
		}))
		t.Cleanup(hook.Close)
		db.Client.CallbackEndpoint.Create().SetAccountID(f.keys.ID).SetURL(hook.URL).SetSecret("whsec_dGVzdHNlY3JldHRlc3RzZWNyZXQ=").
			SetEvents([]vocab.Event{vocab.ConversionApproved}).SaveX(sysCtx)

		var made struct {
			CreateTestClick struct {
				GkClickID, PostbackURL string
				Click                  struct {
					Test        bool
					PubMemberID string
				}
			}
		}
		f.srv.GraphQL(t, f.keys.APIKey, `mutation($o: ID!) { createTestClick(offerID: $o, pubMemberID: "qa") { gkClickID postbackURL click { test pubMemberID } } }`,
			map[string]any{"o": f.offer.ID}).Decode(t, &made)
		tc := made.CreateTestClick
		if !tc.Click.Test || tc.Click.PubMemberID != "qa" || !strings.HasPrefix(tc.PostbackURL, f.srv.URL+"/postback?") ||
			!strings.Contains(tc.PostbackURL, "gk_click_id="+tc.GkClickID) || !strings.Contains(tc.PostbackURL, "cnv_event_id=sale") {
			t.Fatalf("test click %+v", tc)
		}
		if !db.Client.Click.Query().Where(click.GkClickID(tc.GkClickID)).OnlyX(sysCtx).Test {
			t.Fatal("stored click is not marked test")
		}
		path := strings.TrimPrefix(tc.PostbackURL, f.srv.URL)
		if resp, body := f.srv.Get(t, path); resp.StatusCode != 200 || body != "accepted\n" && body != "accepted" {
			t.Fatalf("test postback: %d %q (a live conversion would be refused: paused offer, budget spent)", resp.StatusCode, body)
		}
		if resp, body := f.srv.Get(t, path+"&cnv_status=approved"); resp.StatusCode != 200 {
			t.Fatalf("test approval: %d %q", resp.StatusCode, body)
		}
		conv := db.Client.Conversion.Query().Where(conversion.Test(true)).OnlyX(sysCtx)
		if conv.Status != "APPROVED" || conv.BudgetShard != nil {
			t.Errorf("test conversion %s, charged to shard %v", conv.Status, conv.BudgetShard)
		}
		if s := f.spent(t); s != salePayout {
			t.Errorf("spent %s after a test conversion, want the live one's %s", s, salePayout)
		}

		var list struct {
			Test, Live struct{ TotalCount int }
		}
		f.srv.GraphQL(t, f.keys.APIKey, `{ test: conversions(where: {test: true}) { totalCount } live: conversions(where: {test: false}) { totalCount } }`, nil).Decode(t, &list)
		if list.Test.TotalCount != 1 || list.Live.TotalCount != 1 {
			t.Errorf("conversions by test: %+v", list)
		}

		// The postback log shows test traffic as such: the test click's two postbacks, and one
		// naming an unknown event, are marked test; the live one is not.
		if resp, _ := f.srv.Get(t, strings.Replace(path, "cnv_event_id=sale", "cnv_event_id=nope", 1)); resp.StatusCode != 404 {
			t.Fatalf("test postback of an unknown event: %d", resp.StatusCode)
		}
		var logs struct {
			Test struct {
				TotalCount int
				Edges      []struct{ Node struct{ Test bool } }
			}
			Live struct{ TotalCount int }
		}
		f.srv.GraphQL(t, f.keys.APIKey, `{ test: postbackLogs(where: {test: true}) { totalCount edges { node { test } } }
			live: postbackLogs(where: {test: false}) { totalCount } }`, nil).Decode(t, &logs)
		if logs.Test.TotalCount != 3 || logs.Live.TotalCount != 1 || len(logs.Test.Edges) != 3 || !logs.Test.Edges[0].Node.Test {
			t.Errorf("postback logs by test: %+v", logs)
		}

		var stats struct {
			Node struct {
				Stats struct {
					Clicks      int
					Conversions struct{ Total int }
				}
			}
		}
		f.srv.GraphQL(t, f.keys.APIKey, `query($o: ID!, $from: Time!, $to: Time!) { node(id: $o) { ... on Offer { stats(from: $from, to: $to) { clicks conversions { total } } } } }`,
			map[string]any{"o": f.offer.ID, "from": time.Now().Add(-24 * time.Hour).UTC().Format(time.RFC3339), "to": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}).Decode(t, &stats)
		if st := stats.Node.Stats; st.Clicks != 1 || st.Conversions.Total != 1 {
			t.Errorf("offer stats: %d clicks and %d conversions, want the live one's only", st.Clicks, st.Conversions.Total)
		}

		if _, err := callbacks.NewWorker(db, callbacks.Options{AllowPrivate: true}).RunOnce(viewer.AsSystem(context.Background())); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(bodies) != 1 {
			t.Fatalf("%d callbacks to the hook, want the test approval's", len(bodies))
		}
		var payload struct{ Data map[string]any }
		if err := json.Unmarshal([]byte(bodies[0]), &payload); err != nil || payload.Data["test"] != true {
			t.Errorf("callback %s: test = %v", bodies[0], payload.Data["test"])
		}

		other := newConvFixture(t, db, f.srv, "Other")
		if r := f.srv.GraphQL(t, other.keys.APIKey, `mutation($o: ID!) { createTestClick(offerID: $o) { gkClickID } }`, map[string]any{"o": f.offer.ID}); len(r.Errors) != 1 || r.Errors[0].Code() != "NOT_FOUND" {
			t.Errorf("another account's offer: %+v", r.Errors)
		}
	})
}
