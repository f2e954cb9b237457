package graph_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/gokart/gokart/ent/offer"
	"github.com/gokart/gokart/internal/accounts"
	"github.com/gokart/gokart/internal/apitest"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/storage"
	"github.com/gokart/gokart/internal/viewer"
)

// convert clicks the offer and reports the event through the real routes.
func convert(t *testing.T, srv *apitest.Server, postbackKey string, offerID int, member, event, convID, status string) {
	t.Helper()
	resp, _ := srv.Get(t, fmt.Sprintf("/click/%d?pub_member_id=%s", offerID, member))
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("click: %d", resp.StatusCode)
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	q := url.Values{"key": {postbackKey}, "gk_click_id": {loc.Query().Get("subid1")}, "cnv_event_id": {event},
		"cnv_conversion_id": {convID}, "cnv_status": {status}}
	if resp, body := srv.Get(t, "/postback?"+q.Encode()); resp.StatusCode != http.StatusOK {
		t.Fatalf("postback: %d %s", resp.StatusCode, body)
	}
}

func TestConversionsAreListedFilteredAndReviewedByHand(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		srv := apitest.Start(t, db)
		keys, err := accounts.Demo(context.Background(), db.Client)
		if err != nil {
			t.Fatal(err)
		}
		multi := db.Client.Offer.Query().Where(offer.TypeEQ(offer.TypeMULTI_EVENT)).OnlyX(viewer.ForAccount(context.Background(), keys.ID))
		convert(t, srv, keys.PostbackKey, multi.ID, "m1", "Sign Up", "a-1", "pending")
		convert(t, srv, keys.PostbackKey, multi.ID, "m2", "First Purchase", "a-2", "approved")
		since := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)

		type conv struct {
			ID, Status, Payout string
			Event              struct{ EventID string }
			History            []struct {
				FromStatus       *string
				ToStatus, Source string
			}
			Offer struct{ BudgetSpent string }
		}
		var list struct {
			Conversions struct {
				TotalCount int
				Edges      []struct{ Node conv }
			}
		}
		srv.GraphQL(t, keys.APIKey, `query($offer: ID!, $since: Time!) {
		  conversions(where: {offerID: $offer, statusIn: [PENDING, APPROVED], createdAtGTE: $since}, orderBy: {field: CREATED_AT}) {
		    totalCount edges { node { id status payout event { eventID } history { fromStatus toStatus source } offer { budgetSpent } } } } }`,
			map[string]any{"offer": multi.ID, "since": since}).Decode(t, &list)
		if list.Conversions.TotalCount != 2 || list.Conversions.Edges[1].Node.Event.EventID != "First Purchase" ||
			list.Conversions.Edges[0].Node.Offer.BudgetSpent != "11.00" {
			t.Fatalf("conversions = %+v", list.Conversions)
		}
		purchase := list.Conversions.Edges[1].Node

		var rev struct{ UpdateConversionStatus conv }
		srv.GraphQL(t, keys.APIKey, `mutation($id: ID!) { updateConversionStatus(id: $id, status: REVERSED, reason: "refunded") {
		  id status history { fromStatus toStatus source } offer { budgetSpent } } }`, map[string]any{"id": purchase.ID}).Decode(t, &rev)
		h := rev.UpdateConversionStatus.History
		if rev.UpdateConversionStatus.Status != "REVERSED" || len(h) != 2 || h[1].Source != "MANUAL" || *h[1].FromStatus != "APPROVED" ||
			rev.UpdateConversionStatus.Offer.BudgetSpent != "1.00" {
			t.Errorf("after manual reversal: %+v", rev.UpdateConversionStatus)
		}

		var logs struct {
			PostbackLogs struct{ TotalCount int }
		}
		srv.GraphQL(t, keys.APIKey, `{ postbackLogs(where: {outcome: ACCEPTED}) { totalCount } }`, nil).Decode(t, &logs)
		if logs.PostbackLogs.TotalCount != 2 {
			t.Errorf("accepted postbacks in the log: %d, want 2", logs.PostbackLogs.TotalCount)
		}

		other := srv.NewAccount(t, "Other")
		resp := srv.GraphQL(t, other.APIKey, `mutation($id: ID!) { updateConversionStatus(id: $id, status: APPROVED) { id } }`, map[string]any{"id": purchase.ID})
		if fmt.Sprint(resp.Codes()) != "[NOT_FOUND]" {
			t.Errorf("another account reviewing the conversion: %v, want NOT_FOUND", resp.Codes())
		}
		var none struct{ Conversions struct{ TotalCount int } }
		srv.GraphQL(t, other.APIKey, `{ conversions { totalCount } }`, nil).Decode(t, &none)
		if none.Conversions.TotalCount != 0 {
			t.Errorf("another account sees %d conversions", none.Conversions.TotalCount)
		}
	})
}
