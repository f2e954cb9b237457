package graph_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/gokart/gokart/internal/accounts"
	"github.com/gokart/gokart/internal/apitest"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/storage"
	"github.com/gokart/gokart/internal/viewer"
)

// TestRevenueShareEventsInTheWizardAndOnCards: the events step takes a PERCENT payout with an
// optional cap and checks it; events and offerwall cards show the percentage.
func TestRevenueShareEventsInTheWizardAndOnCards(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		srv := apitest.Start(t, db)
		k := srv.NewAccount(t, "Rev share")
		multi := draft(t, srv, k.APIKey, "MULTI_EVENT").ID
		const events = `mutation($id: ID!, $events: [OfferEventInput!]!) { setOfferEvents(id: $id, events: $events) {
			events { name payout payoutType payoutPercent payoutCap allowRepeats } } }`
		bad := []struct {
			name   string
			events []map[string]any
			want   []string
		}{
			{"a share without its percentage, a cap of 0", []map[string]any{
				{"name": "A", "eventID": "a", "payout": "0", "payoutType": "PERCENT", "payoutCap": "0"},
				{"name": "B", "eventID": "b", "payout": "1"}}, []string{"events[0].payoutCap", "events[0].payoutPercent"}},
			{"a share over 100% and one of 0%", []map[string]any{
				{"name": "A", "eventID": "a", "payout": "0", "payoutType": "PERCENT", "payoutPercent": "100.000001"},
				{"name": "B", "eventID": "b", "payout": "0", "payoutType": "PERCENT", "payoutPercent": "0"}},
				[]string{"events[0].payoutPercent", "events[1].payoutPercent"}},
			{"a fixed payout with a percentage and a cap", []map[string]any{
				{"name": "A", "eventID": "a", "payout": "1", "payoutType": "FIXED", "payoutPercent": "5", "payoutCap": "2"},
				{"name": "B", "eventID": "b", "payout": "1", "payoutCap": "2"}},
				[]string{"events[0].payoutCap", "events[0].payoutPercent", "events[1].payoutCap"}},
		}
		for _, c := range bad {
			got := fields(t, srv, k.APIKey, events, map[string]any{"id": multi, "events": c.events})
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("%s: fields %v, want %v", c.name, got, c.want)
			}
		}
		var saved struct {
			SetOfferEvents struct {
				Events []struct {
					Name, Payout, PayoutType string
					PayoutPercent, PayoutCap *string
					AllowRepeats             bool
				}
			}
		}
		srv.GraphQL(t, k.APIKey, events, map[string]any{"id": multi, "events": []map[string]any{
			{"name": "Sign Up", "eventID": "Sign Up", "payout": "1.00"},
			{"name": "Purchase", "eventID": "Purchase", "payout": "3", "payoutType": "PERCENT", "payoutPercent": "12.5", "payoutCap": "50", "allowRepeats": true}}}).
			Decode(t, &saved)
		evs := saved.SetOfferEvents.Events
		if len(evs) != 2 || evs[0].PayoutType != "FIXED" || evs[0].PayoutPercent != nil || evs[0].Payout != "1.00" ||
			evs[1].PayoutType != "PERCENT" || evs[1].PayoutPercent == nil || *evs[1].PayoutPercent != "12.50" ||
			evs[1].PayoutCap == nil || *evs[1].PayoutCap != "50.00" || evs[1].Payout != "0.00" || !evs[1].AllowRepeats {
			t.Fatalf("saved events %+v", evs)
		}

		// An offerwall card shows the share.
		c := db.Client
		o := liveOffer(t, c, k.ID, "shop", nil)
		c.OfferEvent.UpdateOneID(o.Edges.Events[0].ID).SetPayoutType("PERCENT").SetPayoutPercent(7_500_000).SetPayout(0).ExecX(viewer.ForAccount(context.Background(), k.ID))
		pub, err := accounts.CreatePublishableKey(context.Background(), c, k.ID, "wall")
		if err != nil {
			t.Fatal(err)
		}
		var wall struct {
			Offerwall struct {
				Edges []struct {
					Node struct {
						Name   string
						Events []struct {
							Payout                   string
							PayoutPercent, PayoutCap *string
						}
					}
				}
			}
		}
		postGraphQL(t, srv, pub.Secret, `query($m: OfferwallMember!) { offerwall(member: $m, first: 10) {
			edges { node { name events { payout payoutPercent payoutCap } } } } }`,
			map[string]any{"m": map[string]any{"pubMemberID": "m1"}}, nil).Decode(t, &wall)
		if len(wall.Offerwall.Edges) != 1 {
			t.Fatalf("offerwall %+v", wall)
		}
		ev := wall.Offerwall.Edges[0].Node.Events[0]
		if ev.PayoutPercent == nil || *ev.PayoutPercent != "7.50" || ev.PayoutCap != nil || ev.Payout != "0.00" {
			t.Errorf("card event %+v", ev)
		}
	})
}
