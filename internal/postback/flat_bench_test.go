package postback_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/gokart/gokart/internal/apitest"
	"github.com/gokart/gokart/internal/dbtest"
)

// BenchmarkFlatCost is an accepted postback and a click through the real server on PostgreSQL
// in an account that already has 0, 100 k or 1 M conversions (and twice as many clicks) on the
// same offer: with keys by account the cost must not grow with the history (issue 11). The
// history is written by generate_series before the timer. The 1 M case takes a few minutes to
// prefill and runs only with GOKART_BENCH_1M=1. Compare ns/op across the sizes of one run:
//
//	go test -run '^$' -bench FlatCost -benchtime 2000x ./internal/postback/
func BenchmarkFlatCost(b *testing.B) {
	sizes := []int{0, 100_000}
	if os.Getenv("GOKART_BENCH_1M") != "" {
		sizes = append(sizes, 1_000_000)
	} else {
		b.Log("the 1 M case is opt-in: GOKART_BENCH_1M=1")
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("history=%d", n), func(b *testing.B) {
			db := dbtest.Open(b, dialect.Postgres)
			srv := apitest.Start(b, db)
			// An offer without budget or caps: b.N postbacks must all be accepted.
			accountID, offerID, eventID := dbtest.Tenant(b, db.SQL, "pk-flat")
			start := time.Now()
			dbtest.Prefill(b, db.SQL, accountID, offerID, eventID, 2*n, n)
			b.Logf("prefilled %d clicks and %d conversions in %s", 2*n, n, time.Since(start).Round(time.Millisecond))
			round := 0
			b.Run("postback", func(b *testing.B) {
				round++
				prefix := fmt.Sprintf("bench-%d-", round)
				if _, err := db.SQL.Exec(`INSERT INTO clicks (account_id, offer_id, gk_click_id, pub_member_id, created_at)
SELECT $1, $2, $3 || g, $3 || g, now() FROM generate_series(1, $4) g`, accountID, offerID, prefix, b.N); err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				for i := 1; i <= b.N; i++ {
					id := fmt.Sprint(prefix, i)
					if status, body := pb(b, srv.URL, "pk-flat", "gk_click_id="+id, "cnv_event_id=sale", "cnv_conversion_id=B"+id, "cnv_status=pending"); status != 200 {
						b.Fatalf("postback %d: %d %s", i, status, body)
					}
				}
			})
			b.Run("click", func(b *testing.B) {
				for i := range b.N {
					click(b, srv, offerID, fmt.Sprint("cm", i))
				}
			})
		})
	}
}
