package postback_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	neturl "net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/conversion"
	"github.com/gokart/gokart/internal/accounts"
	"github.com/gokart/gokart/internal/apitest"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/httpapi"
	"github.com/gokart/gokart/internal/lifecycle"
	"github.com/gokart/gokart/internal/money"
	"github.com/gokart/gokart/internal/storage"
	"github.com/gokart/gokart/internal/tcpproxy"
	"github.com/gokart/gokart/migrations"
)

func TestHundredConcurrentCopiesMakeOneConversion(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		srv := apitest.Start(t, db)
		keys, single, _ := demo(t, srv)
		gk := click(t, srv, single.ID, "m")
		bodies := parallel(100, func(int) string {
			status, body := pb(t, srv.URL, keys.PostbackKey, "gk_click_id="+gk, "cnv_conversion_id=X1", "cnv_status=approved")
			return fmt.Sprint(status, " ", body)
		})
		if bodies["200 accepted"] != 1 || bodies["200 duplicate"] != 99 {
			t.Fatalf("answers %v", bodies)
		}
		if n := db.Client.Conversion.Query().CountX(sys); n != 1 {
			t.Fatalf("%d conversions", n)
		}
		if got := spentOf(t, db.Client, single.ID); got != 2_500_000 {
			t.Fatalf("spent %s", got)
		}
		if n := db.Client.PostbackLog.Query().CountX(sys); n != 100 {
			t.Fatalf("%d log rows", n)
		}
	})
}

// parallel runs fn n times at once and counts the answers.
func parallel(n int, fn func(i int) string) map[string]int {
	var mu sync.Mutex
	counts := map[string]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			s := fn(i)
			mu.Lock()
			counts[s]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	return counts
}

const payout = money.Micros(1_500_000)

// budgetFixture is an offer whose budget fits exactly ten conversions, with 32 clicks on it.
func budgetFixture(t *testing.T, srv *apitest.Server, keys accounts.Keys) (*ent.Offer, []string) {
	t.Helper()
	o := newOffer(t, srv.DB.Client, keys.ID, func(c *ent.OfferCreate) { c.SetBudgetTotal(10 * payout) },
		eventSpec{id: "Sign Up", payout: payout})
	var clicks []string
	for i := range 32 {
		clicks = append(clicks, click(t, srv, o.ID, fmt.Sprint("m", i)))
	}
	return o, clicks
}

func checkBudgetExact(t *testing.T, c *ent.Client, o *ent.Offer, answers map[string]int) {
	t.Helper()
	if answers["200 accepted"] != 10 || answers["409 budget_total"] != 22 {
		t.Fatalf("answers %v, want 10 accepted and 22 refused", answers)
	}
	if got := spentOf(t, c, o.ID); got != 10*payout {
		t.Fatalf("spent %s, want %s", got, 10*payout)
	}
	if n := countConversions(t, c, o.ID, lifecycle.Pending); n != 10 {
		t.Fatalf("%d pending conversions", n)
	}
	if n := countConversions(t, c, o.ID, lifecycle.Rejected); n != 22 {
		t.Fatalf("%d rejected conversions", n)
	}
}

func TestParallelConvertersNeverOverspendTheBudget(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		srv := apitest.Start(t, db)
		keys := srv.NewAccount(t, "budget")
		o, clicks := budgetFixture(t, srv, keys)
		answers := parallel(32, func(i int) string {
			status, body := pb(t, srv.URL, keys.PostbackKey, "gk_click_id="+clicks[i], fmt.Sprintf("cnv_conversion_id=C%d", i))
			return fmt.Sprint(status, " ", body)
		})
		checkBudgetExact(t, db.Client, o, answers)

		// A reversal gives the budget back.
		accepted := ""
		for i := range clicks {
			if st, _ := pb(t, srv.URL, keys.PostbackKey, "gk_click_id="+clicks[i], fmt.Sprintf("cnv_conversion_id=C%d", i), "cnv_status=reversed"); st == 200 {
				accepted = clicks[i]
				break
			}
		}
		if accepted == "" {
			t.Fatal("no conversion could be reversed")
		}
		if got := spentOf(t, db.Client, o.ID); got != 9*payout {
			t.Fatalf("spent after reversal %s", got)
		}
	})
}

// startServer serves httpapi over db on loopback, like apitest.Start, for a second process.
func startServer(t *testing.T, db *storage.DB) string {
	t.Helper()
	ts := httptest.NewServer(httpapi.New(db, httpapi.Options{BaseURL: "http://127.0.0.1", ComplexityLimit: 2000,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	t.Cleanup(ts.Close)
	return ts.URL
}

func openPostgres(t *testing.T, url string) *storage.DB {
	t.Helper()
	db, err := storage.Open(context.Background(), url)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestTwoServerProcessesShareOneExactBudget(t *testing.T) {
	t.Parallel()
	url := dbtest.URL(t, dialect.Postgres)
	dbA, dbB := openPostgres(t, url), openPostgres(t, url)
	if _, err := migrations.Apply(context.Background(), dbA.SQL, dbA.Dialect); err != nil {
		t.Fatal(err)
	}
	srv := apitest.Start(t, dbA)
	other := startServer(t, dbB)
	keys := srv.NewAccount(t, "two servers")
	o, clicks := budgetFixture(t, srv, keys)
	answers := parallel(32, func(i int) string {
		base := srv.URL
		if i%2 == 1 {
			base = other
		}
		status, body := pb(t, base, keys.PostbackKey, "gk_click_id="+clicks[i], fmt.Sprintf("cnv_conversion_id=C%d", i))
		return fmt.Sprint(status, " ", body)
	})
	checkBudgetExact(t, dbA.Client, o, answers)
	// And copies of one approval across the two processes update it once.
	pending := dbA.Client.Conversion.Query().Where(conversion.StatusEQ(lifecycle.Pending)).FirstX(sys)
	var n int
	fmt.Sscanf(*pending.NetworkConversionID, "C%d", &n)
	dup := parallel(20, func(i int) string {
		base := srv.URL
		if i%2 == 1 {
			base = other
		}
		status, body := pb(t, base, keys.PostbackKey, "gk_click_id="+clicks[n], "cnv_conversion_id="+*pending.NetworkConversionID, "cnv_status=approved")
		return fmt.Sprint(status, " ", body)
	})
	if dup["200 duplicate"] != 19 || dup["200 updated"] != 1 {
		t.Fatalf("answers to 20 copies of one update: %v", dup)
	}
}

func TestDatabaseOutageAnswers503AndRetriesLand(t *testing.T) {
	t.Parallel()
	url := dbtest.URL(t, dialect.Postgres)
	// The proxy stands before whichever server the test URL names (a Citus coordinator too).
	u, err := neturl.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	proxy, err := tcpproxy.Start(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	direct := openPostgres(t, url)
	if _, err := migrations.Apply(context.Background(), direct.SQL, direct.Dialect); err != nil {
		t.Fatal(err)
	}
	viaProxy := openPostgres(t, strings.Replace(url, u.Host, proxy.Addr(), 1))
	// Setup through the direct connection; the server under test talks through the proxy.
	setup := apitest.Start(t, direct)
	keys := setup.NewAccount(t, "outage")
	o, clicks := budgetFixture(t, setup, keys)
	server := startServer(t, viaProxy)

	send := func(i int) (int, string) {
		return pb(t, server, keys.PostbackKey, "gk_click_id="+clicks[i], fmt.Sprintf("cnv_conversion_id=C%d", i))
	}
	for i := range 5 {
		if status, body := send(i); status != 200 {
			t.Fatalf("before the outage: %d %q", status, body)
		}
	}
	proxy.Cut()
	for i := 5; i < 15; i++ {
		if status, body := send(i); status != 503 {
			t.Fatalf("during the outage: %d %q, want 503", status, body)
		}
	}
	if n := direct.Client.Conversion.Query().CountX(sys); n != 5 {
		t.Fatalf("%d conversions after the outage, want the 5 from before", n)
	}
	proxy.Restore()
	// The networks retry: the failed ones land, and the first five are duplicates.
	deadline := time.Now().Add(10 * time.Second)
	answers := map[string]int{}
	for i := 0; i < 32; i++ {
		status, body := send(i)
		if status == 503 && time.Now().Before(deadline) {
			i-- // the pool may still hold a cut connection: retry like a network would
			time.Sleep(20 * time.Millisecond)
			continue
		}
		answers[fmt.Sprint(status, " ", body)]++
	}
	if answers["200 duplicate"] != 5 || answers["200 accepted"] != 5 || answers["409 budget_total"] != 22 {
		t.Fatalf("answers after restore %v", answers)
	}
	if got := spentOf(t, direct.Client, o.ID); got != 10*payout {
		t.Fatalf("spent %s", got)
	}
	if n := countConversions(t, direct.Client, o.ID, lifecycle.Pending); n != 10 {
		t.Fatalf("%d pending", n)
	}
}
