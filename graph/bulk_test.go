package graph_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/callbackdelivery"
	"github.com/gokart/gokart/ent/conversion"
	"github.com/gokart/gokart/ent/conversionstatuschange"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/lifecycle"
	"github.com/gokart/gokart/internal/money"
	"github.com/gokart/gokart/internal/storage"
)

func idStrings(ids ...int) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = strconv.Itoa(id)
	}
	return out
}

func TestBulkStatusChangeReportsEachConversion(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		f := newConvFixture(t, db, nil, "Acme")
		other := newConvFixture(t, db, f.srv, "Other")
		a := f.convert(t, 3, "a", "pending")
		theirs := other.convert(t, 1, "b", "pending")
		if s := f.spent(t); s != 3*salePayout {
			t.Fatalf("spent before %s", s)
		}

		got := f.updateStatuses(t, map[string]any{"ids": idStrings(a[0], a[1], a[0], 99_999_999, theirs[0]), "status": "REVERSED", "reason": "refunded"})
		want := []string{"CHANGED", "CHANGED", "UNCHANGED", "ERROR NOT_FOUND", "ERROR NOT_FOUND"}
		for i, r := range got.Results {
			o := r.Outcome
			if r.Code != nil {
				o += " " + *r.Code
			}
			if o != want[i] {
				t.Errorf("result %d: %s, want %s (%+v)", i, o, want[i], r)
			}
		}
		if got.Changed != 2 || got.Unchanged != 1 || got.Failed != 2 || got.Results[0].Conversion.Status != "REVERSED" || got.Results[0].Conversion.Reason != "refunded" {
			t.Fatalf("payload %+v", got)
		}
		if s := f.spent(t); s != salePayout {
			t.Errorf("spent after two reversals %s, want %s", s, salePayout)
		}
		if st := db.Client.Conversion.GetX(sysCtx, theirs[0]).Status; st != lifecycle.Pending {
			t.Errorf("another account's conversion became %s", st)
		}
		manual := db.Client.ConversionStatusChange.Query().Where(conversionstatuschange.SourceEQ(conversionstatuschange.SourceMANUAL)).CountX(sysCtx)
		reversedCallbacks := db.Client.CallbackDelivery.Query().Where(callbackdelivery.ToStatusEQ(lifecycle.Reversed)).CountX(sysCtx)
		if manual != 2 || reversedCallbacks != 2 {
			t.Errorf("%d MANUAL history steps and %d reversal callbacks, want 2 and 2", manual, reversedCallbacks)
		}

		// By network id, with a budget that pays for one more: of a-0 and a-1 (both reversed)
		// one is charged and the other refused, and only that item fails. Which one depends on
		// the order the workers reach them.
		f.db.Client.Offer.UpdateOneID(f.offer.ID).SetBudgetTotal(2 * salePayout).ExecX(sysCtx)
		got = f.updateStatuses(t, map[string]any{"networkConversionIDs": []string{"a-0", "a-1", "a-2", "nope"}, "status": "APPROVED"})
		outcomes := []string{}
		for _, r := range got.Results {
			o := r.Outcome
			if r.Code != nil {
				o += " " + *r.Code
			}
			outcomes = append(outcomes, o)
		}
		if o := strings.Join(outcomes, ", "); o != "CHANGED, ERROR CONFLICT, CHANGED, ERROR NOT_FOUND" && o != "ERROR CONFLICT, CHANGED, CHANGED, ERROR NOT_FOUND" {
			t.Errorf("by network id: %s", o)
		}
		refused := got.Results[0]
		if got.Results[1].Outcome == "ERROR" {
			refused = got.Results[1]
		}
		if r := refused; r.Message == nil || !strings.Contains(*r.Message, "budget_total") || r.ID == nil || r.NetworkConversionID == nil ||
			*r.ID != strconv.Itoa(a[map[string]int{"a-0": 0, "a-1": 1}[*r.NetworkConversionID]]) {
			t.Errorf("refused item %+v", r)
		}
		if s := f.spent(t); s != 2*salePayout {
			t.Errorf("spent after approvals %s", s)
		}
		var offerSpent struct{ Node struct{ BudgetSpent string } }
		f.srv.GraphQL(t, f.keys.APIKey, `query($id: ID!) { node(id: $id) { ... on Offer { budgetSpent } } }`, map[string]any{"id": f.offer.ID}).Decode(t, &offerSpent)
		if offerSpent.Node.BudgetSpent != "5.00" {
			t.Errorf("budgetSpent %s", offerSpent.Node.BudgetSpent)
		}
		if stored := db.Client.Offer.GetX(sysCtx, f.offer.ID).BudgetSpent; stored != 2*salePayout {
			t.Errorf("offers.budget_spent (the stored copy) %s after the bulk call", stored)
		}

		// Bad requests as a whole.
		tooMany := make([]string, 1001)
		for i := range tooMany {
			tooMany[i] = strconv.Itoa(a[0])
		}
		for _, c := range []struct {
			in    map[string]any
			field string
		}{
			{map[string]any{"ids": tooMany, "status": "APPROVED"}, "input.ids"},
			{map[string]any{"ids": tooMany[:600], "networkConversionIDs": make([]string, 401), "status": "APPROVED"}, "input.ids"},
			{map[string]any{"ids": []string{}, "status": "APPROVED"}, "input.ids"},
			{map[string]any{"ids": tooMany[:1], "status": "APPROVED", "reason": strings.Repeat("x", 2000)}, "input.reason"},
		} {
			r := f.srv.GraphQL(t, f.keys.APIKey, updateStatuses, map[string]any{"in": c.in})
			if len(r.Errors) != 1 || r.Errors[0].Code() != "VALIDATION" || r.Errors[0].Field() != c.field {
				t.Errorf("bad request (%d ids): %+v, want VALIDATION on %s", len(c.in["ids"].([]string)), r.Errors, c.field)
			}
		}
		if r := f.srv.GraphQL(t, "", updateStatuses, map[string]any{"in": map[string]any{"ids": []string{"1"}, "status": "APPROVED"}}); r.Status != 401 {
			t.Errorf("without a key: HTTP %d", r.Status)
		}
	})
}

// Parallel bulk calls on overlapping conversions, half reversing and half approving: every
// conversion's history is a chain of real transitions (one step per CHANGED answer, none from a
// status to itself), and spend is exactly the payout of the conversions that count.
func TestBulkStatusChangesRaceExactly(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		f := newConvFixture(t, db, nil, "Racer")
		ids := f.convert(t, 40, "r", "pending")
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			changed int
		)
		for w := 0; w < 6; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(w), 7))
				for round := 0; round < 3; round++ {
					pick := append([]int(nil), ids...)
					rng.Shuffle(len(pick), func(i, j int) { pick[i], pick[j] = pick[j], pick[i] })
					status := []string{"REVERSED", "APPROVED"}[(w+round)%2]
					got := f.updateStatuses(t, map[string]any{"ids": idStrings(pick[:30]...), "status": status})
					if got.Failed != 0 {
						t.Errorf("worker %d: %d failed: %+v", w, got.Failed, got.Results)
					}
					mu.Lock()
					changed += got.Changed
					mu.Unlock()
				}
			}(w)
		}
		wg.Wait()

		convs := db.Client.Conversion.Query().Where(conversion.IDIn(ids...)).WithHistory(func(q *ent.ConversionStatusChangeQuery) {
			q.Order(conversionstatuschange.ByID())
		}).AllX(sysCtx)
		steps, counting := 0, 0
		for _, c := range convs {
			h := c.Edges.History
			for i := 1; i < len(h); i++ {
				if h[i].FromStatus == nil || *h[i].FromStatus != h[i-1].ToStatus || h[i].ToStatus == *h[i].FromStatus {
					t.Fatalf("conversion %d: step %d goes %v→%s after →%s", c.ID, i, h[i].FromStatus, h[i].ToStatus, h[i-1].ToStatus)
				}
			}
			if h[len(h)-1].ToStatus != c.Status {
				t.Fatalf("conversion %d is %s, its history ends at %s", c.ID, c.Status, h[len(h)-1].ToStatus)
			}
			steps += len(h) - 1
			if c.Status.Spends() {
				counting++
			}
		}
		if steps != changed {
			t.Errorf("%d MANUAL steps in the histories, %d CHANGED answers", steps, changed)
		}
		if s := f.spent(t); s != money.Micros(counting)*salePayout {
			t.Errorf("spent %s, want %d × %s", s, counting, salePayout)
		}
		deliveries := db.Client.CallbackDelivery.Query().CountX(sysCtx)
		if deliveries != steps+len(ids) {
			t.Errorf("%d callbacks for %d changes and %d new conversions", deliveries, steps, len(ids))
		}
		if changed == 0 {
			t.Error("no call changed anything")
		}
	})
}

// By click: every conversion of the click in the account (here two events of one click), a
// click without conversions and another account's click are NOT_FOUND items, and the limit
// counts the conversions found.
func TestBulkStatusChangeByClick(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		f := newConvFixture(t, db, nil, "Clicker")
		other := newConvFixture(t, db, f.srv, "Elsewhere")
		a := f.convert(t, 2, "k", "pending")
		other.convert(t, 1, "o", "pending")
		db.Client.OfferEvent.Create().SetAccountID(f.keys.ID).SetOfferID(f.offer.ID).SetName("Lead").SetEventID("lead").
			SetPosition(1).SetPayout(salePayout).SaveX(sysCtx)
		q := url.Values{"key": {f.keys.PostbackKey}, "gk_click_id": {"k-click-0"}, "cnv_event_id": {"lead"}, "cnv_conversion_id": {"k-lead"}}
		resp, err := http.Get(f.srv.URL + "/postback?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("lead postback: HTTP %d", resp.StatusCode)
		}
		lead := db.Client.Conversion.Query().Where(conversion.NetworkConversionID("k-lead")).OnlyIDX(sysCtx)
		db.Client.Click.Create().SetAccountID(f.keys.ID).SetOfferID(f.offer.ID).SetGkClickID("k-bare").SetPubMemberID("m").ExecX(sysCtx)

		var out struct {
			UpdateConversionStatuses struct {
				Results []struct {
					ID, GkClickID, Code *string
					Outcome             string
				}
				Changed, Failed int
			}
		}
		f.srv.GraphQL(t, f.keys.APIKey, `mutation($in: UpdateConversionStatusesInput!) { updateConversionStatuses(input: $in) {
  changed failed results { id gkClickID outcome code } } }`, map[string]any{"in": map[string]any{
			"gkClickIDs": []string{"k-click-0", "k-bare", "o-click-0", "k-click-1"}, "status": "REVERSED", "reason": "chargeback"}}).Decode(t, &out)
		got := []string{}
		for _, r := range out.UpdateConversionStatuses.Results {
			s := *r.GkClickID + " " + r.Outcome
			if r.ID != nil {
				s += " " + *r.ID
			}
			if r.Code != nil {
				s += " " + *r.Code
			}
			got = append(got, s)
		}
		first, second := min(a[0], lead), max(a[0], lead)
		want := fmt.Sprintf("k-click-0 CHANGED %d, k-click-0 CHANGED %d, k-bare ERROR NOT_FOUND, o-click-0 ERROR NOT_FOUND, k-click-1 CHANGED %d", first, second, a[1])
		if g := strings.Join(got, ", "); g != want {
			t.Errorf("results\n got %s\nwant %s", g, want)
		}
		if p := out.UpdateConversionStatuses; p.Changed != 3 || p.Failed != 2 {
			t.Errorf("changed %d failed %d", p.Changed, p.Failed)
		}
		if n := db.Client.Conversion.Query().Where(conversion.StatusEQ(lifecycle.Reversed)).CountX(sysCtx); n != 3 {
			t.Errorf("%d reversed conversions, want 3 (the other account's stays)", n)
		}
		if s := f.spent(t); s != 0 {
			t.Errorf("spent %s after reversing all", s)
		}

		// 998 ids and two clicks' three conversions: over the limit, nothing changed.
		ids := make([]string, 998)
		for i := range ids {
			ids[i] = strconv.Itoa(a[0])
		}
		r := f.srv.GraphQL(t, f.keys.APIKey, updateStatuses, map[string]any{"in": map[string]any{"ids": ids, "gkClickIDs": []string{"k-click-0", "k-click-1"}, "status": "APPROVED"}})
		if len(r.Errors) != 1 || r.Errors[0].Code() != "VALIDATION" || r.Errors[0].Field() != "input.gkClickIDs" {
			t.Errorf("over the limit by click: %+v", r.Errors)
		}
		if n := db.Client.Conversion.Query().Where(conversion.StatusEQ(lifecycle.Approved)).CountX(sysCtx); n != 0 {
			t.Errorf("%d approved after a refused call", n)
		}
	})
}
