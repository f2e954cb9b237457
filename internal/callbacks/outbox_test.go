package callbacks_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"entgo.io/ent/dialect"

	"github.com/gokart/gokart/internal/callbacks"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/storage"
)

// failPostbackLogs makes every insert into postback_logs fail, so a postback's transaction
// rolls back after its conversion, history and callbacks were written.
func failPostbackLogs(t *testing.T, db *storage.DB) func() {
	t.Helper()
	ctx := context.Background()
	stmts := []string{`CREATE TRIGGER boom BEFORE INSERT ON postback_logs BEGIN SELECT RAISE(ABORT, 'boom'); END`}
	undo := []string{`DROP TRIGGER boom`}
	if db.Dialect == dialect.Postgres {
		stmts = []string{
			`CREATE FUNCTION boom() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'boom'; END $$ LANGUAGE plpgsql`,
			`CREATE TRIGGER boom BEFORE INSERT ON postback_logs FOR EACH ROW EXECUTE FUNCTION boom()`,
		}
		undo = []string{`DROP TRIGGER boom ON postback_logs`}
	}
	for _, s := range stmts {
		if _, err := db.SQL.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	return func() {
		for _, s := range undo {
			if _, err := db.SQL.ExecContext(ctx, s); err != nil {
				t.Fatalf("%s: %v", s, err)
			}
		}
	}
}

func TestAPostbackThatRollsBackQueuesNoCallback(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		f := newFixture(t, db)
		rc := newReceiver(t, nil)
		f.endpoint(t, map[string]any{"url": rc.URL})
		gk := f.click(t, url.Values{"pub_member_id": {"m"}})
		restore := failPostbackLogs(t, db)
		f.postback(t, gk, "RB-1", "approved", http.StatusServiceUnavailable)
		if n := db.Client.CallbackDelivery.Query().CountX(sys); n != 0 {
			t.Fatalf("a rolled-back postback left %d deliveries", n)
		}
		if n := db.Client.Conversion.Query().CountX(sys); n != 0 {
			t.Fatalf("a rolled-back postback left %d conversions", n)
		}
		restore()
		f.postback(t, gk, "RB-1", "approved", http.StatusOK)
		drain(t, callbacks.NewWorker(db, callbacks.Options{AllowPrivate: true}))
		if got := rc.requests(); len(got) != 1 {
			t.Fatalf("after the retried postback: %d callbacks, want 1", len(got))
		}
	})
}

func TestEndpointsHearTheirScopeAndEvents(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		f := newFixture(t, db)
		wide, perOffer, perEvent, pending, other := newReceiver(t, nil), newReceiver(t, nil), newReceiver(t, nil), newReceiver(t, nil), newReceiver(t, nil)
		f.endpoint(t, map[string]any{"url": wide.URL})
		f.endpoint(t, map[string]any{"url": perOffer.URL, "offerID": f.offer.ID})
		f.endpoint(t, map[string]any{"url": perEvent.URL, "eventID": f.event.ID})
		f.endpoint(t, map[string]any{"url": pending.URL, "events": []string{"CONVERSION_PENDING"}})
		otherOffer := db.Client.Offer.Create().SetAccountID(f.keys.ID).SetName("other").SetType(f.offer.Type).
			SetIntegrationSystem(f.offer.IntegrationSystem).SetCurrency("USD").SaveX(sys)
		f.endpoint(t, map[string]any{"url": other.URL, "offerID": otherOffer.ID})

		gk := f.click(t, url.Values{"pub_member_id": {"m"}})
		f.postback(t, gk, "S-1", "pending", http.StatusOK)
		f.postback(t, gk, "S-1", "approved", http.StatusOK)
		w := callbacks.NewWorker(db, callbacks.Options{AllowPrivate: true})
		drain(t, w)
		for name, c := range map[string]struct {
			rc   *receiver
			want int
		}{"account-wide": {wide, 1}, "per offer": {perOffer, 1}, "per event": {perEvent, 1}, "pending only": {pending, 1}, "other offer": {other, 0}} {
			if got := len(c.rc.requests()); got != c.want {
				t.Errorf("%s endpoint got %d callbacks, want %d", name, got, c.want)
			}
		}
		if got := pending.requests(); len(got) == 1 && !strings.Contains(string(got[0].Body), `"conversion.pending"`) {
			t.Errorf("pending endpoint got %s", got[0].Body)
		}
	})
}
