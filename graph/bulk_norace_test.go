//go:build !race

package graph_test

import (
	"testing"
	"time"

	"github.com/gokart/gokart/ent/callbackdelivery"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/lifecycle"
	"github.com/gokart/gokart/internal/storage"
)

// A thousand conversions in one call, within the production GraphQL deadline (10 s) with room
// to spare. Not under -race: the detector makes each of SQLite's thousand commits ten times
// slower, past any deadline.
func TestBulkStatusChangeOfAThousandConversions(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		f := newConvFixture(t, db, nil, "Big")
		ids := f.convert(t, 1000, "k", "approved")
		start := time.Now()
		got := f.updateStatuses(t, map[string]any{"ids": idStrings(ids...), "status": "REVERSED", "reason": "chargeback batch"})
		// Not asserted (timing is the benchmarks' job); shows how far the call is from the deadline.
		t.Logf("1000 reversals in one call: %s", time.Since(start))
		if got.Changed != 1000 || len(got.Results) != 1000 {
			t.Fatalf("changed %d of %d (failed %d)", got.Changed, len(got.Results), got.Failed)
		}
		if s := f.spent(t); s != 0 {
			t.Errorf("spent after reversing everything: %s", s)
		}
		if n := db.Client.CallbackDelivery.Query().Where(callbackdelivery.ToStatusEQ(lifecycle.Reversed)).CountX(sysCtx); n != 1000 {
			t.Errorf("%d reversal callbacks", n)
		}
	})
}
