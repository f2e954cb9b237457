package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"entgo.io/contrib/entgql"
	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/gokart/gokart/ent/offer"
	"github.com/gokart/gokart/graph/generated"
	"github.com/gokart/gokart/graph/model"
	"github.com/gokart/gokart/internal/accounts"
	"github.com/gokart/gokart/internal/catalogue"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/money"
	"github.com/gokart/gokart/internal/offerwall"
	"github.com/gokart/gokart/internal/storage"
	"github.com/gokart/gokart/internal/viewer"
)

// TestTheOfferwallRendererKnowsEveryFieldOfTheFeed selects every field the schema gives the
// feed's types (so a field added to the schema and not to the renderer fails here, rather
// than quietly sending every page back to the executor) and wants RenderOfferwall's writer to
// take the page whole.
func TestTheOfferwallRendererKnowsEveryFieldOfTheFeed(t *testing.T) {
	schema := generated.NewExecutableSchema(generated.Config{Resolvers: &Resolver{}}).Schema()
	var selectAll func(typeName string, depth int) string
	selectAll = func(typeName string, depth int) string {
		def := schema.Types[typeName]
		var b strings.Builder
		b.WriteString("{ __typename")
		for _, f := range def.Fields {
			if strings.HasPrefix(f.Name, "__") {
				continue
			}
			b.WriteString(" " + f.Name)
			if sub := schema.Types[f.Type.Name()]; sub.Kind == ast.Object {
				if depth > 4 {
					t.Fatalf("%s.%s: deeper than the feed's types", typeName, f.Name)
				}
				b.WriteString(" " + selectAll(sub.Name, depth+1))
			}
		}
		b.WriteString(" }")
		return b.String()
	}
	query := `{ offerwall(member: {pubMemberID: "m"}) ` + selectAll("OfferCardConnection", 0) + ` }`
	doc, errs := gqlparser.LoadQuery(schema, query)
	if errs != nil {
		t.Fatalf("%s: %v", query, errs)
	}
	oc := &graphql.OperationContext{RawQuery: query, Doc: doc, Operation: doc.Operations[0], Variables: map[string]any{}}
	pct, end := money.Micros(12_500_000), entgql.Cursor[int]{ID: 7}
	conn := &model.OfferCardConnection{
		Edges: []*model.OfferCardEdge{{Cursor: end, Node: &model.OfferCard{ID: 7, Name: "n", ImageURLs: []string{"u"},
			Events: []*model.OfferCardEvent{{Name: "e", PayoutPercent: &pct}}}}},
		PageInfo: &entgql.PageInfo[int]{HasNextPage: true, EndCursor: &end},
	}
	var buf bytes.Buffer
	field := doc.Operations[0].SelectionSet[0].(*ast.Field)
	if !writeCardConnection(&buf, oc, field.SelectionSet, conn) {
		t.Fatalf("the renderer leaves this page to the executor:\n%s", query)
	}
	var page map[string]any
	if err := json.Unmarshal(buf.Bytes(), &page); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, buf.Bytes())
	}
	t.Logf("%s\n%s", query, buf.Bytes())
}

// TestRenderOfferwallAnswersTheFeedItself calls the middleware as gqlgen does, with a next
// that fails the test: a well-formed page, by literal arguments or by variables as the
// transports decode them, is written without the executor (a comparison of bytes with the
// executor alone cannot tell whether the renderer ran at all).
func TestRenderOfferwallAnswersTheFeedItself(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		keys, err := accounts.Create(context.Background(), db.Client, "Render")
		if err != nil {
			t.Fatal(err)
		}
		ctx := viewer.ForAccount(context.Background(), keys.ID)
		o := db.Client.Offer.Create().SetName("card").SetType(offer.TypeSINGLE_EVENT).SetIntegrationSystem(catalogue.Impact).
			SetStatus(offer.StatusACTIVE).SetTrackingLink("https://track.example.com/c/1").
			SetClickURLTemplate("https://track.example.com/c/1?subid1={gk_click_id}").SaveX(ctx)
		db.Client.OfferEvent.Create().SetOfferID(o.ID).SetName("Sign Up").SetEventID("signup").SetPayout(money.Scale).ExecX(ctx)

		r := &Resolver{client: db.Client, dialect: db.Dialect, baseURL: "https://gokart.example", catalog: offerwall.NewCatalog(100, nil)}
		schema := generated.NewExecutableSchema(generated.Config{Resolvers: r}).Schema()
		for _, tc := range []struct {
			query string
			vars  map[string]any
		}{
			{`{ offerwall(member: {pubMemberID: "m1", country: "US", platform: IOS}, first: 5) { edges { cursor node { id name events { payout } } } pageInfo { hasNextPage } } }`, nil},
			{`query($m: OfferwallMember!, $n: Int, $a: Cursor) { offerwall(member: $m, first: $n, after: $a) { edges { node { clickURL } } } }`,
				map[string]any{"m": map[string]any{"pubMemberID": "m1", "country": "de"}, "n": json.Number("50"), "a": nil}},
		} {
			doc, errs := gqlparser.LoadQuery(schema, tc.query)
			if errs != nil {
				t.Fatalf("%s: %v", tc.query, errs)
			}
			oc := &graphql.OperationContext{RawQuery: tc.query, Doc: doc, Operation: doc.Operations[0], Variables: tc.vars}
			field := graphql.CollectFields(oc, doc.Operations[0].SelectionSet, []string{"Query"})[0]
			fctx := graphql.WithRootFieldContext(graphql.WithOperationContext(ctx, oc), &graphql.RootFieldContext{Object: field.Name, Field: field})
			out := r.RenderOfferwall(fctx, func(context.Context) graphql.Marshaler {
				t.Errorf("left to the executor: %s", tc.query)
				return graphql.Null
			})
			var buf bytes.Buffer
			out.MarshalGQL(&buf)
			if !strings.Contains(buf.String(), `"edges":[{`) {
				t.Errorf("%s: no card in %s", tc.query, buf.Bytes())
			}
		}
	})
}

// TestAPanicInTheRendererIsTheFieldsError: RenderOfferwall runs outside the executor's
// recovery, so a panic under it (here a resolver without a database) must come back as the
// field's error and a null, as it would from a resolver, not end the process.
func TestAPanicInTheRendererIsTheFieldsError(t *testing.T) {
	r := &Resolver{baseURL: "https://gokart.example", catalog: offerwall.NewCatalog(100, nil)}
	schema := generated.NewExecutableSchema(generated.Config{Resolvers: r}).Schema()
	query := `{ offerwall(member: {pubMemberID: "m1", country: "US"}) { edges { cursor } } }`
	doc, errs := gqlparser.LoadQuery(schema, query)
	if errs != nil {
		t.Fatal(errs)
	}
	recovered := func(context.Context, any) error { return errors.New("internal system error") }
	oc := &graphql.OperationContext{RawQuery: query, Doc: doc, Operation: doc.Operations[0], RecoverFunc: recovered}
	field := graphql.CollectFields(oc, doc.Operations[0].SelectionSet, []string{"Query"})[0]
	ctx := graphql.WithResponseContext(viewer.ForAccount(context.Background(), 1), graphql.DefaultErrorPresenter, recovered)
	ctx = graphql.WithRootFieldContext(graphql.WithOperationContext(ctx, oc), &graphql.RootFieldContext{Object: field.Name, Field: field})
	out := r.RenderOfferwall(ctx, func(context.Context) graphql.Marshaler {
		t.Error("left to the executor")
		return graphql.Null
	})
	var buf bytes.Buffer
	out.MarshalGQL(&buf)
	if buf.String() != "null" {
		t.Errorf("the field wrote %s, want null", buf.Bytes())
	}
	if got := graphql.GetErrors(ctx); len(got) != 1 || got[0].Message != "internal system error" {
		t.Errorf("errors: %v, want one internal system error", got)
	}
}
