package retention_test

import (
	"context"
	"testing"
	"time"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/postbacklog"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/retention"
	"github.com/gokart/gokart/internal/storage"
	"github.com/gokart/gokart/internal/unmatched"
	"github.com/gokart/gokart/internal/viewer"
)

func TestPruneDeletesOldRowsInBatchesAndKeepsNewOnes(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		ctx := viewer.AsSystem(context.Background())
		now := time.Now().UTC()
		old, recent := now.Add(-100*24*time.Hour), now.Add(-time.Hour)
		acc := db.Client.Account.Create().SetName("Retained").SetPostbackKey("pk-retained").SaveX(ctx)
		add := func(n int, at time.Time) {
			for done := 0; done < n; done += 200 {
				var bulk []*ent.PostbackLogCreate
				for i := done; i < min(n, done+200); i++ {
					bulk = append(bulk, db.Client.PostbackLog.Create().SetAccountID(acc.ID).SetRawQuery("key=REDACTED").
						SetOutcome(postbacklog.OutcomeNOT_FOUND).SetHTTPStatus(404).SetCreatedAt(at))
				}
				db.Client.PostbackLog.CreateBulk(bulk...).ExecX(ctx)
			}
		}
		add(2*retention.BatchSize+500, old) // more than one batch
		add(30, recent)
		for _, at := range []time.Time{old, old.Add(time.Hour), recent} {
			if err := unmatched.Record(ctx, db.Client, "203.0.113.9", "invalid key", "key=REDACTED", at); err != nil {
				t.Fatal(err)
			}
		}

		n, err := retention.Prune(ctx, db, now.Add(-90*24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if want := int64(2*retention.BatchSize + 500 + 2); n != want {
			t.Errorf("pruned %d rows, want %d", n, want)
		}
		if left := db.Client.PostbackLog.Query().CountX(ctx); left != 30 {
			t.Errorf("%d postback log rows left, want the 30 recent ones", left)
		}
		if left := db.Client.UnmatchedPostback.Query().CountX(ctx); left != 1 {
			t.Errorf("%d unmatched rows left, want the recent one", left)
		}
		if n, err := retention.Prune(ctx, db, now.Add(-90*24*time.Hour)); err != nil || n != 0 {
			t.Errorf("a second run pruned %d (%v), want nothing", n, err)
		}
	})
}
