// Package benchdata makes the accounts the benchmarks measure over, so that the in-process
// benchmarks (go test -bench) and cmd/gokart-bench, which loads the real binary from another
// process, describe the same account and the same requests.
package benchdata

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"entgo.io/contrib/entgql"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/offer"
	"github.com/gokart/gokart/internal/catalogue"
	"github.com/gokart/gokart/internal/money"
	"github.com/gokart/gokart/internal/viewer"
)

// FeedQuery is the offerwall page the feed benchmarks ask for: every field of a card a
// member-facing app shows ($m the member, $n the page size, $after the cursor).
const FeedQuery = `query($m: OfferwallMember!, $n: Int, $after: Cursor) { offerwall(member: $m, first: $n, after: $after) {
	edges { cursor node { id name headline description callToAction imageURLs terms currency clickURL events { name payout } } }
	pageInfo { hasNextPage endCursor } } }`

// FeedOffers makes n live single-event offers in the account, in bulk: every third US-only,
// every tenth with a total budget and a daily cap. It returns their ids in order.
func FeedOffers(ctx context.Context, c *ent.Client, accountID, n int) ([]int, error) {
	ctx = viewer.ForAccount(ctx, accountID)
	const batch = 1000
	var ids []int
	for start := 0; start < n; start += batch {
		creates := make([]*ent.OfferCreate, 0, batch)
		for i := start; i < min(start+batch, n); i++ {
			o := c.Offer.Create().SetName(fmt.Sprintf("offer %05d", i)).SetType(offer.TypeSINGLE_EVENT).
				SetIntegrationSystem(catalogue.Impact).SetStatus(offer.StatusACTIVE).
				SetTrackingLink("https://track.example.com/c/1?x=1").
				SetClickURLTemplate("https://track.example.com/c/1?x=1&subid1={gk_click_id}").
				SetHeadline("Headline").SetDescription("Description").SetCallToAction("Go").
				SetImageUrls([]string{"https://img.example.com/a.png"}).SetTerms("Terms")
			if i%3 == 0 {
				o.SetCountries([]string{"US"})
			}
			if i%10 == 0 {
				o.SetBudgetTotal(1000 * money.Scale).SetCapDaily(100)
			}
			creates = append(creates, o)
		}
		made, err := c.Offer.CreateBulk(creates...).Save(ctx)
		if err != nil {
			return nil, fmt.Errorf("feed offers: %w", err)
		}
		events := make([]*ent.OfferEventCreate, 0, batch)
		for _, o := range made {
			ids = append(ids, o.ID)
			events = append(events, c.OfferEvent.Create().SetOfferID(o.ID).SetName("Sign Up").SetEventID("signup").SetPayout(money.Scale))
		}
		if err := c.OfferEvent.CreateBulk(events...).Exec(ctx); err != nil {
			return nil, fmt.Errorf("feed offers' events: %w", err)
		}
	}
	return ids, nil
}

// Cursor is the Cursor a connection hands out for the offer id, as the JSON string's text.
func Cursor(id int) string {
	var buf bytes.Buffer
	entgql.Cursor[int]{ID: id}.MarshalGQL(&buf)
	var s string
	_ = json.Unmarshal(buf.Bytes(), &s)
	return s
}
