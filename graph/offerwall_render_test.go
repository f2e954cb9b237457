package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/99designs/gqlgen/graphql"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/offerevent"
	"github.com/gokart/gokart/internal/accounts"
	"github.com/gokart/gokart/internal/apitest"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/httpapi"
	"github.com/gokart/gokart/internal/storage"
	"github.com/gokart/gokart/internal/viewer"
)

// TestTheOfferwallRendererWritesWhatTheExecutorWrites asks two servers over one database, one
// rendering the feed itself (the default) and one leaving it to gqlgen's executor, the same
// operations, and wants the same bytes back: every field, aliases, fragments, __typename,
// @skip and @include, null and escaped values, and the errors of bad arguments.
func TestTheOfferwallRendererWritesWhatTheExecutorWrites(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		const base = "https://gokart.example"
		rendered := apitest.StartWith(t, db, func(o *httpapi.Options) { o.BaseURL = base })
		executed := apitest.StartWith(t, db, func(o *httpapi.Options) { o.BaseURL, o.OfferwallByExecutor = base, true })
		k := rendered.NewAccount(t, "Render")
		c := db.Client
		liveOffer(t, c, k.ID, `quotes " and \ and <b>&</b> and ünïcödé`, nil)
		liveOffer(t, c, k.ID, "no images", func(o *ent.OfferCreate) { o.SetImageUrls(nil) })
		shared := liveOffer(t, c, k.ID, "revenue share", func(o *ent.OfferCreate) {
			o.SetImageUrls([]string{"https://img.example.com/1.png", "https://img.example.com/2.png"})
		})
		ctx := viewer.ForAccount(context.Background(), k.ID)
		c.OfferEvent.Create().SetOfferID(shared.ID).SetName("Purchase").SetEventID("sale").SetPosition(1).
			SetPayoutType(offerevent.PayoutTypePERCENT).SetPayoutPercent(12_500_000).SetPayoutCap(5_000_000).ExecX(ctx)
		c.OfferEvent.Create().SetOfferID(shared.ID).SetName("Renewal").SetEventID("renew").SetPosition(2).
			SetPayoutType(offerevent.PayoutTypePERCENT).SetPayoutPercent(5_000_000).ExecX(ctx)
		for i := range 4 {
			liveOffer(t, c, k.ID, "filler "+string(rune('a'+i)), nil)
		}
		liveOffer(t, c, k.ID, "control characters", func(o *ent.OfferCreate) { o.SetDescription("line\nbreak\ttab\r\x01 end") })
		pub, err := accounts.CreatePublishableKey(context.Background(), c, k.ID, "render")
		if err != nil {
			t.Fatal(err)
		}
		member := map[string]any{"pubMemberID": "m 1&2=?", "country": "US"}
		every := `edges { cursor node { __typename id name headline description callToAction imageURLs terms currency clickURL
			events { __typename name payout payoutPercent payoutCap } } __typename }
			pageInfo { __typename hasNextPage hasPreviousPage startCursor endCursor } __typename`
		cases := []struct {
			name, query string
			vars        map[string]any
		}{
			{"every field", `query($m: OfferwallMember!) { offerwall(member: $m, first: 3) { ` + every + ` } }`, map[string]any{"m": member}},
			{"the bench's page", feedQuery, map[string]any{"m": member, "n": 50}},
			{"later page", `query($m: OfferwallMember!, $a: Cursor) { offerwall(member: $m, first: 2, after: $a) { ` + every + ` } }`,
				map[string]any{"m": member, "a": cursorOf(shared.ID)}},
			{"empty page", `query($m: OfferwallMember!, $a: Cursor) { offerwall(member: $m, after: $a) { ` + every + ` } }`,
				map[string]any{"m": member, "a": cursorOf(1 << 40)}},
			{"literal arguments", `{ offerwall(member: {pubMemberID: "lit", country: "de", platform: IOS}, first: 4) { edges { node { id clickURL } } } }`, nil},
			{"aliases, repeats and fragments", `query($m: OfferwallMember!) { __typename wall: offerwall(member: $m) {
				all: edges { ...E node { first: id id } } pageInfo { end: endCursor ... on PageInfo { hasNextPage } } }
				again: offerwall(member: $m, first: 1) { edges { node { name } } } }
				fragment E on OfferCardEdge { cursor node { ...C events { ... on OfferCardEvent { payout n: name } } } }
				fragment C on OfferCard { name imageURLs }`, map[string]any{"m": member}},
			{"skip and include", `query($m: OfferwallMember!, $yes: Boolean!, $no: Boolean!) { offerwall(member: $m) {
				edges { node { id @include(if: $yes) name @include(if: $no) terms @skip(if: $yes) currency @skip(if: $no) } }
				pageInfo @skip(if: $yes) { hasNextPage } } }`, map[string]any{"m": member, "yes": true, "no": false}},
			{"bad country", `query($m: OfferwallMember!) { offerwall(member: $m) { edges { cursor } } }`,
				map[string]any{"m": map[string]any{"pubMemberID": "m1", "country": "XX"}}},
			{"empty member", `query($m: OfferwallMember!) { offerwall(member: $m) { edges { cursor } } }`,
				map[string]any{"m": map[string]any{"pubMemberID": " "}}},
			{"too many", `query($m: OfferwallMember!) { offerwall(member: $m, first: 1000) { edges { cursor } } }`, map[string]any{"m": member}},
			{"bad cursor", `query($m: OfferwallMember!) { offerwall(member: $m, after: "nope") { edges { cursor } } }`, map[string]any{"m": member}},
		}
		for _, tc := range cases {
			_, want := executed.GraphQLRaw(t, pub.Secret, tc.query, tc.vars)
			_, got := rendered.GraphQLRaw(t, pub.Secret, tc.query, tc.vars)
			if !bytes.Equal(got, want) {
				t.Errorf("%s:\nrendered %s\nexecuted %s", tc.name, got, want)
			}
			// No json.Marshal checks the data on its way out any more (httpapi.rawData).
			if !json.Valid(got) {
				t.Errorf("%s: the rendered answer is not JSON: %s", tc.name, got)
			}
		}
		// The cases hold cards with the escaped name and the events' nulls, not only errors.
		_, page := rendered.GraphQLRaw(t, pub.Secret, cases[0].query, cases[0].vars)
		for _, part := range []string{`quotes \" and \\ and <b>&</b>`, `"payoutCap":null`, `"payoutPercent":"12.50"`, `"imageURLs":[]`, `pub_member_id=m+1%262%3D%3F`} {
			if !bytes.Contains(page, []byte(part)) {
				t.Errorf("no %s in the pages: %s", part, page)
			}
		}
		if _, page := rendered.GraphQLRaw(t, pub.Secret, cases[1].query, cases[1].vars); !bytes.Contains(page, []byte(`"line\nbreak\ttab\r\u0001 end"`)) {
			t.Errorf("no escaped control characters in the page: %s", page)
		}
	})
}

// TestTheServerRendersTheFeedItself: on the server as httpapi.New builds it, a page of offer
// cards is written by the renderer, so gqlgen's executor resolves none of the cards' fields;
// with the feed left to the executor, the same counter sees them (so it counts what it should).
func TestTheServerRendersTheFeedItself(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		cardFields := func(byExecutor bool) int64 {
			var n atomic.Int64
			srv := apitest.StartWith(t, db, func(o *httpapi.Options) {
				o.OfferwallByExecutor = byExecutor
				o.AroundFields = func(ctx context.Context, next graphql.Resolver) (any, error) {
					if fc := graphql.GetFieldContext(ctx); fc != nil && fc.Object == "OfferCard" {
						n.Add(1)
					}
					return next(ctx)
				}
			})
			k := srv.NewAccount(t, "Rendered")
			for i := range 3 {
				liveOffer(t, db.Client, k.ID, fmt.Sprintf("card %d", i), nil)
			}
			pub, err := accounts.CreatePublishableKey(context.Background(), db.Client, k.ID, "wall")
			if err != nil {
				t.Fatal(err)
			}
			var p feedPage
			srv.GraphQL(t, pub.Secret, feedQuery, map[string]any{"m": map[string]any{"pubMemberID": "m1", "country": "US"}, "n": 50}).Decode(t, &p)
			if len(p.Offerwall.Edges) != 3 {
				t.Fatalf("%d cards, want 3", len(p.Offerwall.Edges))
			}
			return n.Load()
		}
		if n := cardFields(false); n != 0 {
			t.Errorf("the executor resolved %d card fields of a page the server should have rendered", n)
		}
		if n := cardFields(true); n == 0 {
			t.Error("the counter saw no card field of a page left to the executor")
		}
	})
}
