package postback_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/gokart/gokart/internal/apitest"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/storage"
)

// BenchmarkFlatCost is an accepted postback and a click through the real server on PostgreSQL
// in accounts that already have 0, 100 k or 1 M conversions (and twice as many clicks) on the
// same offer: with keys by account the cost must not grow with the history (issue 11). Each
// size has its own database and server; the requests go to them in turn, one size after the
// other, so that the machine's noise falls on every size alike, and each size's mean time is
// reported with its ratio to the empty account's (history_N/0: 1.00 is flat). The history is
// written by generate_series before the timer. The 1 M case takes a few minutes to prefill
// and runs only with GOKART_BENCH_1M=1:
//
//	GOKART_BENCH_1M=1 go test -run '^$' -bench FlatCost -benchtime 3000x ./internal/postback/
func BenchmarkFlatCost(b *testing.B) {
	sizes := []int{0, 100_000}
	if os.Getenv("GOKART_BENCH_1M") != "" {
		sizes = append(sizes, 1_000_000)
	} else {
		b.Log("the 1 M case is opt-in: GOKART_BENCH_1M=1")
	}
	type tenant struct {
		history, offerID int
		srv              *apitest.Server
		db               *storage.DB
		accountID        int
	}
	var tenants []tenant
	for _, n := range sizes {
		db := dbtest.Open(b, dialect.Postgres)
		srv := apitest.Start(b, db)
		// As the server does: without it the empty account's postbacks run on plans made for
		// empty tables, which is the first second of a fresh database, not its cost.
		ctx, stop := context.WithCancel(context.Background())
		b.Cleanup(stop)
		go storage.KeepStatistics(ctx, db, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Second)
		// An offer without budget or caps: every postback must be accepted.
		accountID, offerID, eventID := dbtest.Tenant(b, db.SQL, "pk-flat")
		start := time.Now()
		dbtest.Prefill(b, db.SQL, accountID, offerID, eventID, 2*n, n)
		// A database with history has been vacuumed; one just filled would have autovacuum
		// working through it during the timer.
		if _, err := db.SQL.Exec(`VACUUM (ANALYZE) clicks, conversions, conversion_status_changes`); err != nil {
			b.Fatal(err)
		}
		b.Logf("history %d: prefilled %d clicks and %d conversions in %s", n, 2*n, n, time.Since(start).Round(time.Millisecond))
		tenants = append(tenants, tenant{history: n, offerID: offerID, srv: srv, db: db, accountID: accountID})
	}
	// The checkpoint the fills started, done before any timer rather than during one.
	if _, err := tenants[0].db.SQL.Exec(`CHECKPOINT`); err != nil {
		b.Fatal(err)
	}
	// interleave runs one request per size per round, b.N rounds, and reports each size's mean.
	interleave := func(b *testing.B, do func(t tenant, i int)) {
		spent := make([]time.Duration, len(tenants))
		b.ResetTimer()
		for i := 1; i <= b.N; i++ {
			for k, t := range tenants {
				t0 := time.Now()
				do(t, i)
				spent[k] += time.Since(t0)
			}
		}
		b.StopTimer()
		for k, t := range tenants {
			b.ReportMetric(float64(spent[k].Microseconds())/float64(b.N), fmt.Sprintf("us/op_history_%d", t.history))
			if k > 0 {
				b.ReportMetric(float64(spent[k])/float64(spent[0]), fmt.Sprintf("history_%d/0", t.history))
			}
		}
	}
	round := 0
	b.Run("postback", func(b *testing.B) {
		round++
		prefix := fmt.Sprintf("bench-%d-", round)
		for _, t := range tenants {
			if _, err := t.db.SQL.Exec(`INSERT INTO clicks (account_id, offer_id, gk_click_id, pub_member_id, created_at)
SELECT $1, $2, $3 || g, $3 || g, now() FROM generate_series(1, $4) g`, t.accountID, t.offerID, prefix, b.N); err != nil {
				b.Fatal(err)
			}
		}
		interleave(b, func(t tenant, i int) {
			id := fmt.Sprint(prefix, i)
			if status, body := pb(b, t.srv.URL, "pk-flat", "gk_click_id="+id, "cnv_event_id=sale", "cnv_conversion_id=B"+id, "cnv_status=pending"); status != 200 {
				b.Fatalf("history %d: postback %d: %d %s", t.history, i, status, body)
			}
		})
	})
	b.Run("click", func(b *testing.B) {
		interleave(b, func(t tenant, i int) { click(b, t.srv, t.offerID, fmt.Sprint("cm", i)) })
	})
}
