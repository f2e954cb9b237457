package postback_test

import (
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
	"github.com/gokart/gokart/internal/lifecycle"
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
			{"the refused repeat sent again", "Purchase", "B", "409 repeat_conversion"},
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
		if n := c.Conversion.Query().Where(conversion.OfferEventID(purchase)).CountX(sys); n != 1 {
			t.Errorf("%d purchase conversions, want 1", n)
		}
		sales := c.Conversion.Query().Where(conversion.OfferEventID(sale)).Order(ent.Asc(conversion.FieldID)).AllX(sys)
		if len(sales) != 3 || sales[0].Status != lifecycle.Pending || sales[1].Status != lifecycle.Approved ||
			sales[2].Status != lifecycle.Rejected || sales[2].Reason != "event_cap_total" {
			t.Fatalf("sales %v", sales)
		}
		// Charged like any: 2.00 for the purchase, 1.00 for each counted sale.
		if got := spentOf(t, c, o.ID); got != 4_000_000 {
			t.Errorf("spent %s, want 4.00", got)
		}
		refused := c.PostbackLog.Query().Where(postbacklog.OutcomeEQ(postbacklog.OutcomeREPEAT_REFUSED)).AllX(sys)
		if len(refused) != 2 {
			t.Fatalf("%d REPEAT_REFUSED log rows, want 2", len(refused))
		}
		for _, r := range refused {
			if r.HTTPStatus != 409 || !strings.Contains(r.Reason, "repeat_conversion") || !strings.Contains(r.Reason, "cnv_conversion_id A") ||
				r.ConversionID == nil || *r.ConversionID != c.Conversion.Query().Where(conversion.OfferEventID(purchase)).OnlyIDX(sys) {
				t.Errorf("log row %+v", r)
			}
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
			return db.Client.Conversion.Query().Where(conversion.HasClickWith(entclick.GkClickID(gk)), conversion.OfferEventID(event)).CountX(sys)
		}

		off := click(t, srv, o.ID, "off")
		if got := parallel(n, func(i int) string { return send(off, "Purchase", fmt.Sprint("off-", i)) }); got["200 accepted"] != 1 || got["409 repeat_conversion"] != n-1 {
			t.Errorf("distinct ids without allowRepeats: %v", got)
		}
		if c := count(off, purchase); c != 1 {
			t.Errorf("%d conversions without allowRepeats, want 1", c)
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
