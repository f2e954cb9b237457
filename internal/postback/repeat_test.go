package postback_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/gokart/gokart/ent"
	entclick "github.com/gokart/gokart/ent/click"
	"github.com/gokart/gokart/ent/conversion"
	"github.com/gokart/gokart/ent/offerevent"
	"github.com/gokart/gokart/ent/postbacklog"
	"github.com/gokart/gokart/internal/apitest"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/errcode"
	"github.com/gokart/gokart/internal/lifecycle"
	"github.com/gokart/gokart/internal/postback"
	"github.com/gokart/gokart/internal/storage"
)

// repeatOffer has "Purchase" (2.00, no repeats) and "Sale" (1.00, repeats, at most cap in all).
func repeatOffer(t *testing.T, srv *apitest.Server, accountID, capTotal int) (*ent.Offer, int, int) {
	t.Helper()
	o := newOffer(t, srv.DB.Client, accountID, func(c *ent.OfferCreate) { c.SetBudgetTotal(100_000_000) },
		eventSpec{id: "Purchase", payout: 2_000_000},
		eventSpec{id: "Sale", payout: 1_000_000, adjust: func(c *ent.OfferEventCreate) { c.SetAllowRepeats(true).SetCapTotal(capTotal) }})
	ev := func(id string) int {
		return srv.DB.Client.OfferEvent.Query().Where(offerevent.OfferID(o.ID), offerevent.EventID(id)).OnlyIDX(sys)
	}
	return o, ev("Purchase"), ev("Sale")
}

func TestRepeatConversionsOnlyWhereTheEventAllowsThem(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		srv := apitest.Start(t, db)
		keys := srv.NewAccount(t, "repeats")
		o, purchase, sale := repeatOffer(t, srv, keys.ID, 2)
		gk := click(t, srv, o.ID, "m")
		steps := []struct {
			name, event, ncid string
			want              string
		}{
			{"the first purchase", "Purchase", "A", "200 accepted"},
			{"a true copy of it", "Purchase", "A", "200 duplicate"},
			{"a second purchase with a new id, without allowRepeats", "Purchase", "B", "409 repeat_conversion"},
			{"the refused repeat sent again: a copy of the REJECTED conversion it is kept as", "Purchase", "B", "200 duplicate"},
			{"the refused repeat approved by the network: still a copy", "Purchase", "B&cnv_status=approved", "200 duplicate"},
			{"the first sale", "Sale", "S1", "200 accepted"},
			{"a second sale with a new id, with allowRepeats", "Sale", "S2", "200 accepted"},
			{"a copy of the first sale", "Sale", "S1", "200 duplicate"},
			{"a status update of the second sale", "Sale", "S2&cnv_status=approved", "200 updated"},
			{"a third sale, over the event's cap of two", "Sale", "S3", "409 event_cap_total"},
		}
		for _, s := range steps {
			status, body := pb(t, srv.URL, keys.PostbackKey, "gk_click_id="+gk, "cnv_event_id="+s.event, "cnv_conversion_id="+s.ncid)
			if got := fmt.Sprint(status, " ", body); got != s.want {
				t.Fatalf("%s: %s, want %s", s.name, got, s.want)
			}
		}
		c := db.Client
		// The refused repeat is kept REJECTED with its network id, beside the counted purchase.
		purchases := c.Conversion.Query().Where(conversion.OfferEventID(purchase)).Order(ent.Asc(conversion.FieldID)).AllX(sys)
		if len(purchases) != 2 || purchases[0].Status != lifecycle.Pending || *purchases[0].NetworkConversionID != "A" ||
			purchases[1].Status != lifecycle.Rejected || purchases[1].Reason != "repeat_conversion" || *purchases[1].NetworkConversionID != "B" ||
			purchases[1].BudgetShard != nil || purchases[1].ChargedCounters != nil {
			t.Fatalf("purchases %v", purchases)
		}
		countedID, refusedID := purchases[0].ID, purchases[1].ID
		sales := c.Conversion.Query().Where(conversion.OfferEventID(sale)).Order(ent.Asc(conversion.FieldID)).AllX(sys)
		if len(sales) != 3 || sales[0].Status != lifecycle.Pending || sales[1].Status != lifecycle.Approved ||
			sales[2].Status != lifecycle.Rejected || sales[2].Reason != "event_cap_total" {
			t.Fatalf("sales %v", sales)
		}
		// Charged like any: 2.00 for the purchase, 1.00 for each counted sale; never the refused repeat.
		if got := spentOf(t, c, o.ID); got != 4_000_000 {
			t.Errorf("spent %s, want 4.00", got)
		}
		refused := c.PostbackLog.Query().Where(postbacklog.OutcomeEQ(postbacklog.OutcomeREPEAT_REFUSED)).AllX(sys)
		if len(refused) != 1 {
			t.Fatalf("%d REPEAT_REFUSED log rows, want 1", len(refused))
		}
		if r := refused[0]; r.HTTPStatus != 409 || !strings.Contains(r.Reason, "repeat_conversion") || !strings.Contains(r.Reason, "cnv_conversion_id A") ||
			!strings.Contains(r.Reason, fmt.Sprint("conversion ", countedID)) || r.ConversionID == nil || *r.ConversionID != refusedID {
			t.Errorf("log row %+v", r)
		}
		// It is a conversion like any to find and review: conversions(where:) lists it with its history.
		var got struct {
			Conversions struct {
				Edges []struct {
					Node struct {
						ID                  string
						NetworkConversionID string
						History             []struct{ ToStatus, Source, Reason string }
					}
				}
			}
		}
		srv.GraphQL(t, keys.APIKey, `{ conversions(first: 5, where: {status: REJECTED, reason: "repeat_conversion"}) {
			edges { node { id networkConversionID history { toStatus source reason } } } } }`, nil).Decode(t, &got)
		if e := got.Conversions.Edges; len(e) != 1 || e[0].Node.NetworkConversionID != "B" || len(e[0].Node.History) != 1 ||
			e[0].Node.History[0] != (struct{ ToStatus, Source, Reason string }{"REJECTED", "POSTBACK", "repeat_conversion"}) {
			t.Fatalf("conversions(where: REJECTED repeat_conversion): %+v", got)
		}
		// Approving it by hand would count the click's event twice: refused while the event does
		// not allow repeats; once it does, it is approved and charged like any repeat.
		ctx := context.Background()
		if _, err := postback.ChangeStatus(ctx, c, db.Dialect, keys.ID, refusedID, lifecycle.Approved, "looks fine"); codeOf(err) != errcode.Conflict ||
			!strings.Contains(err.Error(), "repeat_conversion") {
			t.Fatalf("approving a refused repeat: %v", err)
		}
		if s := c.Conversion.GetX(sys, refusedID); s.Status != lifecycle.Rejected || spentOf(t, c, o.ID) != 4_000_000 {
			t.Fatalf("after the refused approval: %s, spent %s", s.Status, spentOf(t, c, o.ID))
		}
		c.OfferEvent.UpdateOneID(purchase).SetAllowRepeats(true).ExecX(sys)
		if cv, err := postback.ChangeStatus(ctx, c, db.Dialect, keys.ID, refusedID, lifecycle.Approved, "repeats allowed now"); err != nil || cv.Status != lifecycle.Approved {
			t.Fatalf("approving it once the event allows repeats: %+v %v", cv, err)
		}
		if got := spentOf(t, c, o.ID); got != 6_000_000 {
			t.Errorf("spent %s after approving the repeat, want 6.00", got)
		}
	})
}

func TestConcurrentRepeats(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		srv := apitest.Start(t, db)
		keys := srv.NewAccount(t, "parallel repeats")
		o, purchase, sale := repeatOffer(t, srv, keys.ID, 1000)
		const n = 20
		send := func(gk, event, ncid string) string {
			status, body := pb(t, srv.URL, keys.PostbackKey, "gk_click_id="+gk, "cnv_event_id="+event, "cnv_conversion_id="+ncid)
			return fmt.Sprint(status, " ", body)
		}
		count := func(gk string, event int) int {
			return db.Client.Conversion.Query().Where(conversion.AccountID(keys.ID), conversion.HasClickWith(entclick.AccountID(keys.ID), entclick.GkClickID(gk)), conversion.OfferEventID(event)).CountX(sys)
		}

		off := click(t, srv, o.ID, "off")
		if got := parallel(n, func(i int) string { return send(off, "Purchase", fmt.Sprint("off-", i)) }); got["200 accepted"] != 1 || got["409 repeat_conversion"] != n-1 {
			t.Errorf("distinct ids without allowRepeats: %v", got)
		}
		rejected := func(gk string) int {
			return db.Client.Conversion.Query().Where(conversion.AccountID(keys.ID), conversion.HasClickWith(entclick.AccountID(keys.ID), entclick.GkClickID(gk)), conversion.OfferEventID(purchase),
				conversion.StatusEQ(lifecycle.Rejected), conversion.Reason("repeat_conversion")).CountX(sys)
		}
		// Each refused repeat is kept: one REJECTED conversion per network id.
		if c, r := count(off, purchase), rejected(off); c != n || r != n-1 {
			t.Errorf("%d conversions without allowRepeats, %d of them REJECTED; want %d and %d", c, r, n, n-1)
		}
		// Copies of them all, the counted one's and the refused ones', record nothing more.
		if got := parallel(n, func(i int) string { return send(off, "Purchase", fmt.Sprint("off-", i)) }); got["200 duplicate"] != n {
			t.Errorf("copies of the %d ids without allowRepeats: %v", n, got)
		}
		// Concurrent copies of one new refused id: refused once, kept once.
		if got := parallel(n, func(int) string { return send(off, "Purchase", "late") }); got["409 repeat_conversion"] != 1 || got["200 duplicate"] != n-1 {
			t.Errorf("copies of a new repeat without allowRepeats: %v", got)
		}
		if c, r := count(off, purchase), rejected(off); c != n+1 || r != n {
			t.Errorf("after the copies: %d conversions, %d REJECTED; want %d and %d", c, r, n+1, n)
		}

		on := click(t, srv, o.ID, "on")
		if got := parallel(n, func(i int) string { return send(on, "Sale", fmt.Sprint("on-", i)) }); got["200 accepted"] != n {
			t.Errorf("distinct ids with allowRepeats: %v", got)
		}
		if c := count(on, sale); c != n {
			t.Errorf("%d conversions with allowRepeats, want %d", c, n)
		}

		copies := click(t, srv, o.ID, "copies")
		if got := parallel(n, func(int) string { return send(copies, "Sale", "same") }); got["200 accepted"] != 1 || got["200 duplicate"] != n-1 {
			t.Errorf("copies of one id with allowRepeats: %v", got)
		}
		if c := count(copies, sale); c != 1 {
			t.Errorf("%d conversions of copies, want 1", c)
		}
		if got, want := spentOf(t, db.Client, o.ID), int64(2_000_000+(n+1)*1_000_000); int64(got) != want {
			t.Errorf("spent %s, want %d micros", got, want)
		}
	})
}
