package postback_test

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/internal/apitest"
	"github.com/gokart/gokart/internal/dbtest"
)

// TestHotOfferKeepsUpWithSpreadOffers compares postback throughput on one hot offer with the
// same load spread over 100 offers, on PostgreSQL. It is slow, so it runs only with
// GOKART_PERF=1; the project's benchmark (bench/) is the reference measurement.
func TestHotOfferKeepsUpWithSpreadOffers(t *testing.T) {
	if os.Getenv("GOKART_PERF") == "" {
		t.Skip("set GOKART_PERF=1 to measure")
	}
	db := dbtest.Open(t, dialect.Postgres)
	srv := apitest.Start(t, db)
	keys := srv.NewAccount(t, "perf")
	const n, workers = 3000, 32
	run := func(offers []*ent.Offer) float64 {
		clicks := make([]string, n)
		for i := range n {
			clicks[i] = click(t, srv, offers[i%len(offers)].ID, fmt.Sprint("m", i))
		}
		var next atomic.Int64
		var failed atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1)) - 1
					if i >= n {
						return
					}
					if status, _ := pb(t, srv.URL, keys.PostbackKey, "gk_click_id="+clicks[i], "cnv_event_id=Sign+Up",
						fmt.Sprintf("cnv_conversion_id=%s", clicks[i]), "cnv_status=pending"); status != 200 {
						failed.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		if failed.Load() > 0 {
			t.Fatalf("%d postbacks failed", failed.Load())
		}
		return float64(n) / time.Since(start).Seconds()
	}
	mk := func() *ent.Offer {
		return newOffer(t, db.Client, keys.ID, func(c *ent.OfferCreate) { c.SetBudgetTotal(1_000_000_000 * 1_000_000) },
			eventSpec{id: "Sign Up", payout: payout})
	}
	var spread []*ent.Offer
	for range 100 {
		spread = append(spread, mk())
	}
	spreadTPS := run(spread)
	hotTPS := run([]*ent.Offer{mk()})
	t.Logf("spread %.0f/s, hot %.0f/s, ratio %.2f", spreadTPS, hotTPS, hotTPS/spreadTPS)
	if hotTPS < 0.75*spreadTPS {
		t.Errorf("hot offer at %.2f of the spread throughput, want at least 0.75", hotTPS/spreadTPS)
	}
}
