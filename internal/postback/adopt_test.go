package postback_test

import (
	"testing"

	"github.com/gokart/gokart/internal/apitest"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/lifecycle"
	"github.com/gokart/gokart/internal/storage"
)

// A network may report a conversion first without its id and later with it (Impact fills
// {ActionId} only once the action exists); the later status change must not be lost.
func TestAnUpdateNamingTheIDOfAConversionFirstReportedWithoutOneApplies(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		srv := apitest.Start(t, db)
		keys := srv.NewAccount(t, "adopt")
		o := newOffer(t, db.Client, keys.ID, nil, eventSpec{id: "Sign Up", payout: payout})
		id := click(t, srv, o.ID, "m")
		if status, body := pb(t, srv.URL, keys.PostbackKey, "gk_click_id="+id, "cnv_status=pending"); status != 200 || body != "accepted" {
			t.Fatalf("first report without an id: %d %q", status, body)
		}
		if status, body := pb(t, srv.URL, keys.PostbackKey, "gk_click_id="+id, "cnv_conversion_id=ACT-9", "cnv_status=reversed"); status != 200 || body != "updated" {
			t.Fatalf("reversal naming the id: %d %q, want 200 updated", status, body)
		}
		if n := countConversions(t, db.Client, o.ID, lifecycle.Reversed); n != 1 {
			t.Fatalf("%d reversed conversions, want 1", n)
		}
		if s := spentOf(t, db.Client, o.ID); s != 0 {
			t.Fatalf("spent %s after the reversal, want 0", s)
		}
		if c := db.Client.Conversion.Query().OnlyX(sys); c.NetworkConversionID == nil || *c.NetworkConversionID != "ACT-9" {
			t.Fatalf("conversion's network id = %v, want ACT-9", c.NetworkConversionID)
		}
		// And the id now identifies it: the same reversal again is a duplicate.
		if status, body := pb(t, srv.URL, keys.PostbackKey, "gk_click_id="+id, "cnv_conversion_id=ACT-9", "cnv_status=reversed"); status != 200 || body != "duplicate" {
			t.Fatalf("repeat: %d %q", status, body)
		}
	})
}
