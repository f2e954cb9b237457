package clicks

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/offer"
	"github.com/gokart/gokart/internal/catalogue"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/storage"
	"github.com/gokart/gokart/internal/viewer"
)

// TestAnUncachedOfferIsReadInsideTheAccountItsRouteNames: every offer created through Ent
// (one, in bulk, in a transaction) gets its route, a rolled-back one none; the first read of an
// uncached offer asks the route for the account and reads the offer and its events with
// account_id (so that on Citus it goes to one shard); an offer without a route (written by SQL)
// is still found, by id alone.
func TestAnUncachedOfferIsReadInsideTheAccountItsRouteNames(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		sys := viewer.AsSystem(context.Background())
		acc := db.Client.Account.Create().SetName("Routes").SetPostbackKey("pk-routes-" + db.Dialect).SaveX(sys)
		ctx := viewer.ForAccount(context.Background(), acc.ID)
		newOffer := func(c *ent.Client, name string) *ent.OfferCreate {
			return c.Offer.Create().SetName(name).SetType(offer.TypeSINGLE_EVENT).SetIntegrationSystem(catalogue.Impact).
				SetStatus(offer.StatusACTIVE).SetTrackingLink("https://track.example.com/c/1").
				SetClickURLTemplate("https://track.example.com/c/1?subid1={gk_click_id}")
		}
		one := newOffer(db.Client, "one").SaveX(ctx)
		bulk := db.Client.Offer.CreateBulk(newOffer(db.Client, "bulk a"), newOffer(db.Client, "bulk b")).SaveX(ctx)
		unrouted := newOffer(db.Client, "unrouted").SaveX(ctx)
		db.Client.OfferRoute.DeleteOneID(unrouted.ID).ExecX(sys)
		// Last: SQLite gives a rolled-back id to the next row.
		tx, err := db.Client.Tx(ctx)
		if err != nil {
			t.Fatal(err)
		}
		gone := newOffer(tx.Client(), "rolled back").SaveX(ctx)
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
		for _, o := range append([]*ent.Offer{one}, bulk...) {
			if r, err := db.Client.OfferRoute.Get(sys, o.ID); err != nil || r.AccountID != acc.ID {
				t.Errorf("offer %q: route %+v, %v; want account %d", o.Name, r, err, acc.ID)
			}
		}
		if _, err := db.Client.OfferRoute.Get(sys, gone.ID); !ent.IsNotFound(err) {
			t.Errorf("a rolled-back offer's route: %v, want not found", err)
		}

		// A client that keeps the statements it sends, for a recorder with an empty cache.
		var mu sync.Mutex
		var sent []string
		drv := dialect.DebugWithContext(entsql.OpenDB(db.Dialect, db.SQL), func(_ context.Context, v ...any) {
			mu.Lock()
			sent = append(sent, fmt.Sprint(v...))
			mu.Unlock()
		})
		r := &Recorder{Client: ent.NewClient(ent.Driver(drv)), Dialect: db.Dialect}
		if e, err := r.load(context.Background(), one.ID); err != nil || e.o.AccountID != acc.ID {
			t.Fatalf("load a routed offer: %v", err)
		}
		// from says whether the statement reads the table, quoted as either dialect quotes it.
		from := func(s, table string) bool {
			return strings.Contains(s, "FROM `"+table+"`") || strings.Contains(s, `FROM "`+table+`"`)
		}
		// onAccount says whether the statement's conditions name account_id (not only its
		// columns: every select lists account_id).
		onAccount := func(s string) bool {
			_, where, ok := strings.Cut(s, " WHERE ")
			return ok && (strings.Contains(where, "account_id` =") || strings.Contains(where, `account_id" =`))
		}
		var route, offers, events int
		for _, s := range sent {
			switch {
			case from(s, "offer_routes"):
				route++
			case from(s, "offers"):
				offers++
				if !onAccount(s) {
					t.Errorf("the offer is read without its account:\n%s", s)
				}
			case from(s, "offer_events"):
				events++
				if !onAccount(s) {
					t.Errorf("the offer's events are read without its account:\n%s", s)
				}
			}
		}
		if route != 1 || offers != 1 || events != 1 {
			t.Errorf("first read: %d route, %d offer, %d events statements, want 1 each:\n%s", route, offers, events, strings.Join(sent, "\n"))
		}
		if e, err := r.load(context.Background(), unrouted.ID); err != nil || e.o.AccountID != acc.ID {
			t.Fatalf("load an offer without a route: %v", err)
		}
		if _, err := r.load(context.Background(), gone.ID); err != ErrUnknownOffer {
			t.Errorf("load a rolled-back offer: %v, want ErrUnknownOffer", err)
		}
		// Asked again, the unknown id costs its route's lookup alone, not another read by id
		// (which goes to every shard on Citus).
		mu.Lock()
		sent = nil
		mu.Unlock()
		if _, err := r.load(context.Background(), gone.ID); err != ErrUnknownOffer {
			t.Errorf("load a rolled-back offer again: %v, want ErrUnknownOffer", err)
		}
		mu.Lock()
		for _, s := range sent {
			if from(s, "offers") || from(s, "offer_events") {
				t.Errorf("an unknown offer is read by id again within %v:\n%s", unroutedTTL, s)
			}
		}
		if len(sent) != 1 {
			t.Errorf("the unknown offer's second load: %d statements, want its route's lookup:\n%s", len(sent), strings.Join(sent, "\n"))
		}
		mu.Unlock()
	})
}
