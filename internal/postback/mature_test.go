package postback_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/gokart/gokart/ent/conversion"
	"github.com/gokart/gokart/ent/conversionstatuschange"
	"github.com/gokart/gokart/internal/apitest"
	"github.com/gokart/gokart/internal/callbacks"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/lifecycle"
	"github.com/gokart/gokart/internal/postback"
	"github.com/gokart/gokart/internal/storage"
	"github.com/gokart/gokart/migrations"
)

const day = 24 * time.Hour

// setAccountPeriod sets the account's autoApproveAfter through updateAccount (nil sends null).
func setAccountPeriod(t *testing.T, srv *apitest.Server, key string, period any) apitest.Response {
	t.Helper()
	return srv.GraphQL(t, key, `mutation($p: Duration) { updateAccount(input: {autoApproveAfter: $p}) { autoApproveAfter } }`,
		map[string]any{"p": period})
}

// setOfferPeriod saves the wizard's budget step of a single-event offer with autoApproveAfter.
func setOfferPeriod(t *testing.T, srv *apitest.Server, key string, offerID int, period any) apitest.Response {
	t.Helper()
	return srv.GraphQL(t, key, `mutation($id: ID!, $in: OfferBudgetTargetingInput!) {
  updateOfferBudgetTargeting(id: $id, input: $in) { autoApproveAfter }
}`, map[string]any{"id": fmt.Sprint(offerID), "in": map[string]any{"currency": "USD", "payout": "1.00", "autoApproveAfter": period}})
}

// pendingConversion clicks the offer and reports the conversion pending; it returns its id.
func pendingConversion(t *testing.T, srv *apitest.Server, postbackKey string, offerID int, ncid string) int {
	t.Helper()
	gk := click(t, srv, offerID, ncid)
	if status, body := pb(t, srv.URL, postbackKey, "gk_click_id="+gk, "cnv_conversion_id="+ncid, "cnv_status=pending"); status != http.StatusOK || body != postback.BodyAccepted {
		t.Fatalf("pending postback: %d %q", status, body)
	}
	return srv.DB.Client.Conversion.Query().Where(conversion.NetworkConversionID(ncid)).OnlyIDX(sys)
}

func mature(t *testing.T, db *storage.DB, now time.Time) int {
	t.Helper()
	n, err := postback.Mature(context.Background(), db.Client, db.Dialect, now, postback.MatureBatch)
	if err != nil {
		t.Fatalf("mature at %s: %v", now, err)
	}
	return n
}

func statusOf(t *testing.T, db *storage.DB, id int) lifecycle.Status {
	t.Helper()
	return db.Client.Conversion.GetX(sys, id).Status
}

// hookReceiver counts the reward callbacks it receives by type.
type hookReceiver struct {
	*httptest.Server
	mu    sync.Mutex
	types []string
}

func newHookReceiver(t *testing.T) *hookReceiver {
	t.Helper()
	rc := &hookReceiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Type string }
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &body)
		rc.mu.Lock()
		rc.types = append(rc.types, body.Type)
		rc.mu.Unlock()
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *hookReceiver) got() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]string(nil), rc.types...)
}

// deliverCallbacks runs the callback worker at now until nothing is due.
func deliverCallbacks(t *testing.T, db *storage.DB, now time.Time) {
	t.Helper()
	w := callbacks.NewWorker(db, callbacks.Options{AllowPrivate: true, Clock: func() time.Time { return now }})
	for i := 0; i < 20; i++ {
		n, err := w.RunOnce(context.Background())
		if err != nil {
			t.Fatalf("callback worker: %v", err)
		}
		if n == 0 {
			return
		}
	}
	t.Fatal("callback worker still busy after 20 rounds")
}

func TestAPendingConversionMaturesAfterTheAccountsPeriodOnceWithSourceAutoAndOneCallback(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		srv := apitest.Start(t, db)
		keys := srv.NewAccount(t, "impact")
		var acc struct {
			UpdateAccount struct{ AutoApproveAfter *string }
		}
		setAccountPeriod(t, srv, keys.APIKey, "720h").Decode(t, &acc)
		if p := acc.UpdateAccount.AutoApproveAfter; p == nil || *p != "30d" {
			t.Fatalf("account autoApproveAfter %v, want 30d", p)
		}
		o := newOffer(t, db.Client, keys.ID, nil, eventSpec{id: "sale", payout: payout})
		rc := newHookReceiver(t)
		srv.GraphQL(t, keys.APIKey, `mutation($url: String!) { createCallbackEndpoint(input: {url: $url}) { id } }`,
			map[string]any{"url": rc.URL + "/hook"}).Decode(t, &struct{}{})
		start := time.Now()
		id := pendingConversion(t, srv, keys.PostbackKey, o.ID, "IR-1")

		if n := mature(t, db, start.Add(29*day)); n != 0 || statusOf(t, db, id) != lifecycle.Pending {
			t.Fatalf("after 29 days: matured %d, status %s", n, statusOf(t, db, id))
		}
		later := start.Add(30*day + time.Hour)
		if n := mature(t, db, later); n != 1 {
			t.Fatalf("after 30 days: matured %d, want 1", n)
		}
		if n := mature(t, db, later.Add(time.Hour)); n != 0 {
			t.Fatalf("a second run matured %d more", n)
		}
		var got struct {
			Conversions struct {
				Edges []struct {
					Node struct {
						Status  string
						History []struct{ FromStatus, ToStatus, Source, Reason string }
					}
				}
			}
		}
		srv.GraphQL(t, keys.APIKey, `{ conversions(first: 5) { edges { node { status history { fromStatus toStatus source reason } } } } }`, nil).Decode(t, &got)
		if len(got.Conversions.Edges) != 1 {
			t.Fatalf("%d conversions", len(got.Conversions.Edges))
		}
		node := got.Conversions.Edges[0].Node
		last := node.History[len(node.History)-1]
		if node.Status != "APPROVED" || len(node.History) != 2 || last.Source != "AUTO" || last.FromStatus != "PENDING" || last.ToStatus != "APPROVED" {
			t.Fatalf("conversion after maturing: %+v", node)
		}
		if s := spentOf(t, db.Client, o.ID); s != payout {
			t.Fatalf("spent after maturing %s, want %s", s, payout)
		}
		deliverCallbacks(t, db, later.Add(2*time.Hour))
		if types := rc.got(); len(types) != 1 || types[0] != "conversion.approved" {
			t.Fatalf("callbacks after maturing: %v, want one conversion.approved", types)
		}

		// A reversal from the network still applies: it is an ordinary APPROVED conversion.
		gk := db.Client.Click.GetX(sys, db.Client.Conversion.GetX(sys, id).ClickID).GkClickID
		if status, body := pb(t, srv.URL, keys.PostbackKey, "gk_click_id="+gk, "cnv_conversion_id=IR-1", "cnv_status=reversed"); status != http.StatusOK || body != postback.BodyUpdated {
			t.Fatalf("reversal after maturing: %d %q", status, body)
		}
		if st := statusOf(t, db, id); st != lifecycle.Reversed {
			t.Fatalf("status after reversal %s", st)
		}
		if s := spentOf(t, db.Client, o.ID); s != 0 {
			t.Fatalf("spent after the reversal %s, want 0", s)
		}
		if n := mature(t, db, later.Add(400*day)); n != 0 {
			t.Fatalf("maturing touched a reversed conversion: %d", n)
		}
	})
}

func TestTheOffersPeriodWinsOverTheAccounts(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		srv := apitest.Start(t, db)
		keys := srv.NewAccount(t, "periods")
		setAccountPeriod(t, srv, keys.APIKey, "30d").Decode(t, &struct{}{})
		short := newOffer(t, db.Client, keys.ID, nil, eventSpec{id: "sale", payout: payout})
		long := newOffer(t, db.Client, keys.ID, nil, eventSpec{id: "sale", payout: payout})
		inherits := newOffer(t, db.Client, keys.ID, nil, eventSpec{id: "sale", payout: payout})
		for offerID, period := range map[int]string{short.ID: "2d", long.ID: "60d"} {
			var out struct {
				UpdateOfferBudgetTargeting struct{ AutoApproveAfter *string }
			}
			setOfferPeriod(t, srv, keys.APIKey, offerID, period).Decode(t, &out)
			if p := out.UpdateOfferBudgetTargeting.AutoApproveAfter; p == nil || *p != period {
				t.Fatalf("offer %d autoApproveAfter %v, want %s", offerID, p, period)
			}
		}
		start := time.Now()
		s := pendingConversion(t, srv, keys.PostbackKey, short.ID, "S-1")
		l := pendingConversion(t, srv, keys.PostbackKey, long.ID, "L-1")
		i := pendingConversion(t, srv, keys.PostbackKey, inherits.ID, "I-1")

		if n := mature(t, db, start.Add(3*day)); n != 1 || statusOf(t, db, s) != lifecycle.Approved {
			t.Fatalf("after 3 days: matured %d; the 2d offer's conversion is %s", n, statusOf(t, db, s))
		}
		if n := mature(t, db, start.Add(31*day)); n != 1 || statusOf(t, db, i) != lifecycle.Approved || statusOf(t, db, l) != lifecycle.Pending {
			t.Fatalf("after 31 days: matured %d; account's period %s, 60d offer %s", n, statusOf(t, db, i), statusOf(t, db, l))
		}
		if n := mature(t, db, start.Add(61*day)); n != 1 || statusOf(t, db, l) != lifecycle.Approved {
			t.Fatalf("after 61 days: matured %d; 60d offer %s", n, statusOf(t, db, l))
		}
		// Null clears the account's period: an offer without its own then never matures.
		var cleared struct {
			UpdateAccount struct{ AutoApproveAfter *string }
		}
		setAccountPeriod(t, srv, keys.APIKey, nil).Decode(t, &cleared)
		if cleared.UpdateAccount.AutoApproveAfter != nil {
			t.Fatalf("cleared account period reads %q", *cleared.UpdateAccount.AutoApproveAfter)
		}
		j := pendingConversion(t, srv, keys.PostbackKey, inherits.ID, "I-2")
		if n := mature(t, db, start.Add(400*day)); n != 0 || statusOf(t, db, j) != lifecycle.Pending {
			t.Fatalf("with no period: matured %d, status %s", n, statusOf(t, db, j))
		}
	})
}

func TestInvalidPeriodsAreValidationErrorsNamingTheField(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		srv := apitest.Start(t, db)
		keys := srv.NewAccount(t, "invalid")
		o := newOffer(t, db.Client, keys.ID, nil, eventSpec{id: "sale", payout: payout})
		for _, bad := range []string{"0s", "-1h", "366d", "9000h", "soon", "30"} {
			for name, r := range map[string]apitest.Response{
				"updateAccount":              setAccountPeriod(t, srv, keys.APIKey, bad),
				"updateOfferBudgetTargeting": setOfferPeriod(t, srv, keys.APIKey, o.ID, bad),
			} {
				if len(r.Errors) != 1 || r.Errors[0].Code() != "VALIDATION" || r.Errors[0].Field() != "input.autoApproveAfter" {
					t.Errorf("%s with %q: %+v, want one VALIDATION on input.autoApproveAfter", name, bad, r.Errors)
				}
			}
		}
		// Left out, updateAccount keeps the period.
		setAccountPeriod(t, srv, keys.APIKey, "365d").Decode(t, &struct{}{})
		var kept struct {
			UpdateAccount struct{ AutoApproveAfter *string }
		}
		srv.GraphQL(t, keys.APIKey, `mutation { updateAccount(input: {name: "renamed"}) { autoApproveAfter } }`, nil).Decode(t, &kept)
		if p := kept.UpdateAccount.AutoApproveAfter; p == nil || *p != "365d" {
			t.Fatalf("period after an update that left it out: %v", p)
		}
	})
}

// Replicas run the job at once: every due conversion is approved exactly once, with one history
// step and one callback delivery. On PostgreSQL the two runs use two clients (two pools), as two
// replicas would; SQLite has one writer, so there the runs share the server's database.
func TestTwoMaturingRunsRacingApproveEachConversionOnce(t *testing.T) {
	t.Parallel()
	for _, d := range dbtest.Dialects {
		t.Run(d, func(t *testing.T) {
			u := dbtest.URL(t, d)
			db, err := storage.Open(context.Background(), u)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			if _, err := migrations.Apply(context.Background(), db.SQL, db.Dialect); err != nil {
				t.Fatal(err)
			}
			other := db
			if d == dialect.Postgres {
				if other, err = storage.Open(context.Background(), u); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { other.Close() })
			}
			srv := apitest.Start(t, db)
			keys := srv.NewAccount(t, "race")
			setAccountPeriod(t, srv, keys.APIKey, "1d").Decode(t, &struct{}{})
			rc := newHookReceiver(t)
			srv.GraphQL(t, keys.APIKey, `mutation($url: String!) { createCallbackEndpoint(input: {url: $url}) { id } }`,
				map[string]any{"url": rc.URL + "/hook"}).Decode(t, &struct{}{})
			o := newOffer(t, db.Client, keys.ID, nil, eventSpec{id: "sale", payout: payout})
			const n = 30
			for i := 0; i < n; i++ {
				pendingConversion(t, srv, keys.PostbackKey, o.ID, fmt.Sprintf("R-%d", i))
			}
			at := time.Now().Add(2 * day)
			var wg sync.WaitGroup
			counts := make([]int, 2)
			for r, replica := range []*storage.DB{db, other} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						// Small batches, so the two runs interleave.
						got, err := postback.Mature(context.Background(), replica.Client, replica.Dialect, at, 4)
						if err != nil {
							t.Errorf("replica %d: %v", r, err)
							return
						}
						counts[r] += got
						if got == 0 {
							return
						}
					}
				}()
			}
			wg.Wait()
			if counts[0]+counts[1] != n {
				t.Fatalf("replicas approved %v, want %d in all", counts, n)
			}
			if c := countConversions(t, db.Client, o.ID, lifecycle.Approved); c != n {
				t.Fatalf("%d approved, want %d", c, n)
			}
			auto := db.Client.ConversionStatusChange.Query().Where(conversionstatuschange.SourceEQ(conversionstatuschange.SourceAUTO)).CountX(sys)
			if auto != n {
				t.Fatalf("%d AUTO history steps, want %d", auto, n)
			}
			deliverCallbacks(t, db, at.Add(time.Hour))
			if types := rc.got(); len(types) != n {
				t.Fatalf("%d callbacks, want %d", len(types), n)
			}
			t.Logf("replica shares of %d approvals: %v", n, counts)
		})
	}
}
