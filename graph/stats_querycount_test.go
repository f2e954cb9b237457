package graph_test

import (
	"context"
	stdsql "database/sql"
	"fmt"
	"testing"
	"time"

	entsql "entgo.io/ent/dialect/sql"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/offer"
	"github.com/gokart/gokart/internal/apitest"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/storage"
)

// rawCountingDriver also counts the raw SQL that the stats package sends through
// client.QueryContext (the sql/execquery feature).
type rawCountingDriver struct {
	*countingDriver
	raw *entsql.Driver
}

func (d *rawCountingDriver) QueryContext(ctx context.Context, q string, args ...any) (*stdsql.Rows, error) {
	d.n.Add(1)
	return d.raw.QueryContext(ctx, q, args...)
}

func (d *rawCountingDriver) ExecContext(ctx context.Context, q string, args ...any) (stdsql.Result, error) {
	d.n.Add(1)
	return d.raw.ExecContext(ctx, q, args...)
}

// TestAPageOfOffersWithStatsCostsAConstantNumberOfQueries: the stats of every offer of a page,
// and of every event of those offers, load in one batch of statements whatever the page size.
func TestAPageOfOffersWithStatsCostsAConstantNumberOfQueries(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		drv := entsql.OpenDB(db.Dialect, db.SQL)
		counter := &rawCountingDriver{countingDriver: &countingDriver{Driver: drv}, raw: drv}
		counted := &storage.DB{SQL: db.SQL, Dialect: db.Dialect, Client: ent.NewClient(ent.Driver(counter))}
		srv := apitest.Start(t, counted)
		k := srv.NewAccount(t, "Counter")
		for i := 0; i < 50; i++ {
			seedOffer(t, db.Client, k.ID, fmt.Sprintf("offer %02d", i), offer.StatusACTIVE, "Sign Up", "First Purchase")
		}
		const q = `query($n: Int, $from: Time!, $to: Time!) { offers(first: $n, orderBy: {field: NAME}) { edges { node {
			id stats(from: $from, to: $to, granularity: HOUR) { clicks conversions { total } spend remainingBudgetTotal series { start clicks } }
			events { id stats(from: $from, to: $to) { conversions { total } spend } } } } } }`
		to := time.Now().Truncate(time.Hour)
		vars := func(n int) map[string]any { return map[string]any{"n": n, "from": to.Add(-48 * time.Hour), "to": to} }
		cost := func(n int) int64 {
			var got struct {
				Offers struct {
					Edges []struct {
						Node struct {
							Stats struct {
								Series               []struct{ Clicks int }
								RemainingBudgetTotal string
							}
							Events []struct{ Stats struct{ Spend string } }
						}
					}
				}
			}
			before := counter.n.Load()
			srv.GraphQL(t, k.APIKey, q, vars(n)).Decode(t, &got)
			spent := counter.n.Load() - before
			if len(got.Offers.Edges) != n {
				t.Fatalf("page of %d returned %d offers", n, len(got.Offers.Edges))
			}
			for _, e := range got.Offers.Edges {
				if len(e.Node.Stats.Series) != 48 || e.Node.Stats.RemainingBudgetTotal != "100.00" ||
					len(e.Node.Events) != 2 || e.Node.Events[0].Stats.Spend != "0.00" {
					t.Fatalf("offer stats not loaded: %+v", e.Node)
				}
			}
			return spent
		}
		cost(1) // the key's first request also stamps its last use (once a minute); measure after it
		small, large := cost(5), cost(50)
		t.Logf("SQL statements per request with stats: %d for 5 offers, %d for 50 offers", small, large)
		if large != small {
			t.Errorf("a page of 50 offers with stats cost %d statements but a page of 5 cost %d: N+1 query", large, small)
		}
		// Key, offers, events, account, then per set of stats arguments (two here: the offers' HOUR
		// and the events' DAY): offers, watermark twice, rollups and raw rows of clicks and
		// status changes, budgets.
		if large > 20 {
			t.Errorf("a page of 50 offers with stats cost %d statements, want at most 20", large)
		}
	})
}
