package callbacks_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"entgo.io/ent/dialect"

	"github.com/gokart/gokart/internal/callbacks"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/storage"
)

// One account with many due deliveries must not hold back another's: the first claim already
// takes some of each.
func TestBusyAccountDoesNotStarveAnother(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		if db.Dialect != dialect.Postgres {
			return // SQLite's lease claims the oldest due deliveries in one statement, by design
		}
		busy, quiet := newFixture(t, db), newFixture(t, db)
		rcBusy := newReceiver(t, func(_ int, w http.ResponseWriter) { w.WriteHeader(http.StatusOK) })
		rcQuiet := newReceiver(t, func(_ int, w http.ResponseWriter) { w.WriteHeader(http.StatusOK) })
		busy.endpoint(t, map[string]any{"url": rcBusy.URL, "events": []string{"CONVERSION_PENDING"}})
		quiet.endpoint(t, map[string]any{"url": rcQuiet.URL, "events": []string{"CONVERSION_PENDING"}})
		for i := 0; i < 12; i++ {
			busy.postback(t, busy.click(t, url.Values{"pub_member_id": {fmt.Sprint("b", i)}}), fmt.Sprint("B-", i), "pending", http.StatusOK)
		}
		quiet.postback(t, quiet.click(t, url.Values{"pub_member_id": {"q"}}), "Q-1", "pending", http.StatusOK)
		w := callbacks.NewWorker(db, callbacks.Options{AllowPrivate: true, Batch: 4})
		if _, err := w.RunOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := len(rcQuiet.requests()); got != 1 {
			t.Errorf("quiet account got %d callbacks after one round, want 1", got)
		}
		if got := len(rcBusy.requests()); got != 3 {
			t.Errorf("busy account got %d callbacks after one round, want the other 3 of the batch", got)
		}
	})
}
