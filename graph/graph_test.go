package graph_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/apikey"
	"github.com/gokart/gokart/ent/offer"
	"github.com/gokart/gokart/internal/apitest"
	"github.com/gokart/gokart/internal/catalogue"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/money"
	"github.com/gokart/gokart/internal/storage"
	"github.com/gokart/gokart/internal/viewer"
)

// seedOffer writes an offer with an advertiser and events straight through Ent, as the account.
func seedOffer(t *testing.T, client *ent.Client, accountID int, name string, status offer.Status, events ...string) *ent.Offer {
	t.Helper()
	ctx := viewer.ForAccount(context.Background(), accountID)
	adv, err := client.Advertiser.Create().SetName("Brand of " + name).Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	typ := offer.TypeSINGLE_EVENT
	if len(events) > 1 {
		typ = offer.TypeMULTI_EVENT
	}
	o, err := client.Offer.Create().SetName(name).SetType(typ).SetIntegrationSystem(catalogue.Impact).
		SetStatus(status).SetAdvertiserID(adv.ID).SetBudgetTotal(100 * money.Scale).Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range events {
		client.OfferEvent.Create().SetOfferID(o.ID).SetName(e).SetEventID(e).SetPosition(len(events) - 1 - i).
			SetPayout(money.Micros(i+1) * money.Scale).ExecX(ctx)
	}
	return o
}

func TestRequestsWithoutAValidKeyAreUnauthenticated(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		srv := apitest.Start(t, db)
		keys := srv.NewAccount(t, "Acme")
		// Revoke a second key to check revoked keys stop working.
		revoked := srv.NewAccount(t, "Revoked")
		db.Client.APIKey.Update().Where(apikey.AccountID(revoked.ID)).SetRevokedAt(time.Now()).
			ExecX(viewer.AsSystem(context.Background()))

		for name, key := range map[string]string{
			"no key": "", "a made-up key": "gk_not-a-real-key", "a key without our prefix": "abc",
			"the postback key": keys.PostbackKey, "a revoked key": revoked.APIKey,
		} {
			resp := srv.GraphQL(t, key, `{ viewer { id } }`, nil)
			if resp.Status != http.StatusUnauthorized || len(resp.Errors) != 1 || resp.Errors[0].Code() != "UNAUTHENTICATED" {
				t.Errorf("%s: got HTTP %d, errors %+v; want 401 UNAUTHENTICATED", name, resp.Status, resp.Errors)
			}
		}
		var got struct{ Viewer struct{ Name string } }
		srv.GraphQL(t, keys.APIKey, `{ viewer { name } }`, nil).Decode(t, &got)
		if got.Viewer.Name != "Acme" {
			t.Errorf("viewer name = %q, want Acme", got.Viewer.Name)
		}
	})
}

func TestAccountsNeverSeeEachOthersData(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		srv := apitest.Start(t, db)
		a := srv.NewAccount(t, "A")
		b := srv.NewAccount(t, "B")
		aOffer := seedOffer(t, db.Client, a.ID, "A's offer", offer.StatusACTIVE, "Sign Up")
		bOffer := seedOffer(t, db.Client, b.ID, "B's offer", offer.StatusACTIVE, "Sign Up")
		// Point B's offer at A's advertiser behind the API's back: the edge must still not cross.
		// On PostgreSQL the key by account (account_id, advertiser_id) refuses it outright.
		err := db.Client.Offer.UpdateOneID(bOffer.ID).SetAdvertiserID(*aOffer.AdvertiserID).
			Exec(viewer.AsSystem(context.Background()))
		if db.Dialect == dialect.Postgres {
			if !ent.IsConstraintError(err) {
				t.Fatalf("offer of B pointed at A's advertiser: %v, want the composite foreign key to refuse it", err)
			}
		} else if err != nil {
			t.Fatal(err)
		}

		var list struct {
			Offers struct {
				TotalCount int
				Edges      []struct {
					Node struct {
						ID         string
						Name       string
						Advertiser *struct{ Name string }
					}
				}
			}
			Advertisers struct{ TotalCount int }
		}
		srv.GraphQL(t, b.APIKey, `{ offers { totalCount edges { node { id name advertiser { name } } } } advertisers { totalCount } }`, nil).Decode(t, &list)
		if list.Offers.TotalCount != 1 || list.Offers.Edges[0].Node.Name != "B's offer" {
			t.Fatalf("B's offers = %+v, want only B's offer", list.Offers)
		}
		// nil on SQLite (the edge does not cross); B's own brand on PostgreSQL (the pointer was refused).
		if adv := list.Offers.Edges[0].Node.Advertiser; adv != nil && adv.Name != "Brand of B's offer" {
			t.Errorf("B's offer edge reached A's advertiser %q", list.Offers.Edges[0].Node.Advertiser.Name)
		}
		if list.Advertisers.TotalCount != 1 {
			t.Errorf("B sees %d advertisers, want only its own", list.Advertisers.TotalCount)
		}

		for _, id := range []int{aOffer.ID, a.ID, *aOffer.AdvertiserID} {
			resp := srv.GraphQL(t, b.APIKey, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": fmt.Sprint(id)})
			if len(resp.Errors) != 1 || resp.Errors[0].Code() != "NOT_FOUND" || string(resp.Data) != `{"node":null}` {
				t.Errorf("node(%d) as B: data %s, errors %+v; want null and NOT_FOUND", id, resp.Data, resp.Errors)
			}
		}
		resp := srv.GraphQL(t, b.APIKey, `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`,
			map[string]any{"ids": []string{fmt.Sprint(bOffer.ID), fmt.Sprint(aOffer.ID)}})
		if len(resp.Errors) == 0 {
			t.Errorf("nodes() with A's id as B returned no error: %s", resp.Data)
		}
		// An id from no type's range at all is not found either, not an internal error.
		resp = srv.GraphQL(t, b.APIKey, `{ node(id: "7") { id } }`, nil)
		if len(resp.Errors) != 1 || resp.Errors[0].Code() != "NOT_FOUND" {
			t.Errorf("node(7): errors %+v, want NOT_FOUND", resp.Errors)
		}
	})
}

func TestOffersPaginateForwardAndBackwardWithFiltersAndOrder(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		srv := apitest.Start(t, db)
		k := srv.NewAccount(t, "Pager")
		for i := 0; i < 30; i++ {
			status := offer.StatusACTIVE
			if i%3 == 0 {
				status = offer.StatusPAUSED
			}
			seedOffer(t, db.Client, k.ID, fmt.Sprintf("offer %02d", i), status, "Sign Up")
		}
		type page struct {
			Offers struct {
				TotalCount int
				PageInfo   struct {
					HasNextPage, HasPreviousPage bool
					StartCursor, EndCursor       *string
				}
				Edges []struct{ Node struct{ Name string } }
			}
		}
		const q = `query($first: Int, $after: Cursor, $last: Int, $before: Cursor) {
		  offers(first: $first, after: $after, last: $last, before: $before,
		         where: {status: ACTIVE}, orderBy: {field: NAME, direction: DESC}) {
		    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
		    edges { node { name } } } }`
		names := func(p page) (out []string) {
			for _, e := range p.Offers.Edges {
				out = append(out, e.Node.Name)
			}
			return out
		}
		var p1, p2, back page
		srv.GraphQL(t, k.APIKey, q, map[string]any{"first": 8}).Decode(t, &p1)
		if p1.Offers.TotalCount != 20 || !p1.Offers.PageInfo.HasNextPage {
			t.Fatalf("first page: total %d, hasNext %v; want 20 active and more pages", p1.Offers.TotalCount, p1.Offers.PageInfo.HasNextPage)
		}
		if got := names(p1); got[0] != "offer 29" || got[1] != "offer 28" || got[2] != "offer 26" || len(got) != 8 {
			t.Fatalf("first page = %v, want active offers by name descending from offer 29", got)
		}
		srv.GraphQL(t, k.APIKey, q, map[string]any{"first": 8, "after": *p1.Offers.PageInfo.EndCursor}).Decode(t, &p2)
		if got := names(p2); len(got) != 8 || got[0] != "offer 17" {
			t.Fatalf("second page = %v, want 8 offers from offer 17", got)
		}
		srv.GraphQL(t, k.APIKey, q, map[string]any{"last": 8, "before": *p2.Offers.PageInfo.StartCursor}).Decode(t, &back)
		if fmt.Sprint(names(back)) != fmt.Sprint(names(p1)) || !back.Offers.PageInfo.HasNextPage {
			t.Errorf("paging back = %v, want the first page %v again", names(back), names(p1))
		}

		var def page
		srv.GraphQL(t, k.APIKey, `{ offers { totalCount edges { node { name } } } }`, nil).Decode(t, &def)
		if len(def.Offers.Edges) != 20 || def.Offers.TotalCount != 30 {
			t.Errorf("default page has %d of %d offers, want 20 of 30", len(def.Offers.Edges), def.Offers.TotalCount)
		}
		resp := srv.GraphQL(t, k.APIKey, `{ offers(first: 101) { totalCount } }`, nil)
		if len(resp.Errors) != 1 || resp.Errors[0].Code() != "VALIDATION" || resp.Errors[0].Field() != "first" {
			t.Errorf("first: 101 gave %+v, want one VALIDATION error on first", resp.Errors)
		}
	})
}
