package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// answering is an executor that answers every operation with resp: the same response through
// gqlgen's transport and through rawData.
type answering struct{ resp *graphql.Response }

func (a answering) CreateOperationContext(ctx context.Context, p *graphql.RawParams) (*graphql.OperationContext, gqlerror.List) {
	return &graphql.OperationContext{RawQuery: p.Query}, nil
}

func (a answering) DispatchOperation(ctx context.Context, oc *graphql.OperationContext) (graphql.ResponseHandler, context.Context) {
	return func(context.Context) *graphql.Response { return a.resp }, ctx
}

func (a answering) DispatchError(ctx context.Context, list gqlerror.List) *graphql.Response {
	return &graphql.Response{Errors: list}
}

// indenting is a transport that writes responses its own way (indented): rawData must then
// send the whole response, not the bytes it was handed.
type indenting struct{}

func (indenting) Supports(*http.Request) bool { return true }

func (indenting) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	oc, _ := exec.CreateOperationContext(r.Context(), &graphql.RawParams{Query: "{ x }"})
	h, ctx := exec.DispatchOperation(r.Context(), oc)
	b, _ := json.MarshalIndent(h(ctx), "", "  ")
	_, _ = w.Write(b)
}

// post sends a query to a loopback server running t with exec, and returns the body.
func post(t *testing.T, tr graphql.Transport, exec graphql.GraphExecutor) []byte {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { tr.Do(w, r, exec) }))
	defer srv.Close()
	resp, err := http.Post(srv.URL, "application/json", strings.NewReader(`{"query":"{ x }"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// The response's data reaches the client as the executor wrote it, and the response is the same
// JSON as gqlgen's transport sends, errors, extensions and incremental fields included; byte for
// byte when no string holds < > or &.
func TestRawDataSendsTheSameResponseWithoutRecompactingTheData(t *testing.T) {
	yes := true
	cases := []struct {
		name string
		resp *graphql.Response
		raw  bool // no < > & anywhere: the bytes are gqlgen's
	}{
		{"data", &graphql.Response{Data: json.RawMessage(`{"a":"x","n":[1,2,{"b":null}]}`)}, true},
		{"html in data", &graphql.Response{Data: json.RawMessage(`{"a":"<b>Tom & Jerry</b>","u":"https://t.example/c?a=1&b=2"}`)}, false},
		{"errors and data", &graphql.Response{
			Errors: gqlerror.List{{Message: "no such offer", Path: ast.Path{ast.PathName("offer")},
				Extensions: map[string]any{"code": "NOT_FOUND", "field": "id"}}},
			Data: json.RawMessage(`{"offer":null}`)}, true},
		{"errors without data", &graphql.Response{Errors: gqlerror.List{{Message: "bad <input>"}}}, false},
		{"everything", &graphql.Response{
			Errors: gqlerror.List{{Message: "m"}}, Data: json.RawMessage(`{"x":1}`), Label: "l",
			Path: ast.Path{ast.PathName("x"), ast.PathIndex(2)}, HasNext: &yes,
			Extensions: map[string]any{"complexity": 3, "tracing": map[string]any{"v": "1"}}}, true},
		{"null data", &graphql.Response{Data: json.RawMessage(`null`), Extensions: map[string]any{"k": "v"}}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			exec := answering{tc.resp}
			want := post(t, transport.POST{}, exec)
			got := post(t, rawData{transport.POST{}}, exec)
			if tc.raw && !bytes.Equal(got, want) {
				t.Fatalf("rawData sent\n%s\ngqlgen sends\n%s", got, want)
			}
			var g, w any
			if err := json.Unmarshal(got, &g); err != nil {
				t.Fatalf("rawData sent no JSON (%v): %s", err, got)
			}
			_ = json.Unmarshal(want, &w)
			if !reflect.DeepEqual(g, w) {
				t.Fatalf("rawData sent\n%s\ngqlgen sends\n%s", got, want)
			}
			if len(tc.resp.Data) > 2 && !bytes.Contains(got, tc.resp.Data) {
				t.Fatalf("the data is not in the response as the executor wrote it: %s", got)
			}
		})
	}
	// A transport that writes its responses otherwise gets the whole response marshalled.
	resp := cases[4].resp
	got := post(t, rawData{indenting{}}, answering{resp})
	var g map[string]any
	if err := json.Unmarshal(got, &g); err != nil || g["data"] == nil || g["errors"] == nil || g["label"] != "l" {
		t.Fatalf("an indenting transport through rawData sent %s (%v)", got, err)
	}
}
