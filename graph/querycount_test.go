package graph_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/offer"
	"github.com/gokart/gokart/internal/apitest"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/storage"
)

// countingDriver counts the SQL statements that reach the database.
type countingDriver struct {
	dialect.Driver
	n atomic.Int64
}

func (d *countingDriver) Query(ctx context.Context, q string, args, v any) error {
	d.n.Add(1)
	return d.Driver.Query(ctx, q, args, v)
}

func (d *countingDriver) Exec(ctx context.Context, q string, args, v any) error {
	d.n.Add(1)
	return d.Driver.Exec(ctx, q, args, v)
}

func (d *countingDriver) Tx(ctx context.Context) (dialect.Tx, error) { return d.Driver.Tx(ctx) }

// TestAPageOfOffersCostsAConstantNumberOfQueries locks in field collection: a page of offers
// with their advertiser and events must not issue a query per offer (N+1).
func TestAPageOfOffersCostsAConstantNumberOfQueries(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		counter := &countingDriver{Driver: entsql.OpenDB(db.Dialect, db.SQL)}
		counted := &storage.DB{SQL: db.SQL, Dialect: db.Dialect, Client: ent.NewClient(ent.Driver(counter))}
		srv := apitest.Start(t, counted)
		k := srv.NewAccount(t, "Counter")
		for i := 0; i < 50; i++ {
			seedOffer(t, db.Client, k.ID, fmt.Sprintf("offer %02d", i), offer.StatusACTIVE, "Sign Up", "First Purchase")
		}
		const q = `query($n: Int) { offers(first: $n, orderBy: {field: NAME}) { totalCount edges { node {
			id name status clickURL advertiser { id name } events { id name eventID payout } } } } }`
		cost := func(n int) int64 {
			var got struct {
				Offers struct {
					Edges []struct {
						Node struct {
							Advertiser struct{ Name string }
							Events     []struct{ Name string }
						}
					}
				}
			}
			before := counter.n.Load()
			srv.GraphQL(t, k.APIKey, q, map[string]any{"n": n}).Decode(t, &got)
			spent := counter.n.Load() - before
			if len(got.Offers.Edges) != n {
				t.Fatalf("page of %d returned %d offers", n, len(got.Offers.Edges))
			}
			for _, e := range got.Offers.Edges {
				if e.Node.Advertiser.Name == "" || len(e.Node.Events) != 2 || e.Node.Events[0].Name != "First Purchase" {
					t.Fatalf("offer not fully loaded or events out of card order: %+v", e.Node)
				}
			}
			return spent
		}
		cost(1) // the key's first request also stamps its last use (once a minute); measure after it
		small, large := cost(5), cost(50)
		t.Logf("SQL statements per request: %d for 5 offers, %d for 50 offers (includes the API key lookup)", small, large)
		if large != small {
			t.Errorf("a page of 50 offers cost %d statements but a page of 5 cost %d: N+1 query", large, small)
		}
		if large > 6 {
			t.Errorf("a page of 50 offers cost %d statements, want at most 6 (key, count, offers, advertisers, events)", large)
		}
	})
}
