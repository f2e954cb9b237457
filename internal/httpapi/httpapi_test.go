package httpapi_test

import (
	"context"
	"github.com/gokart/gokart/internal/httpapi"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"entgo.io/ent/dialect"

	"github.com/gokart/gokart/internal/apitest"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/storage"
	"github.com/gokart/gokart/internal/tcpproxy"
	"github.com/gokart/gokart/migrations"
)

func TestReadyzFailsWhenTheDatabaseIsGone(t *testing.T) {
	t.Parallel()
	// The server reaches PostgreSQL through a proxy the test can cut; the shared server is untouched.
	pgURL, err := url.Parse(dbtest.URL(t, dialect.Postgres))
	if err != nil {
		t.Fatal(err)
	}
	proxy, err := tcpproxy.Start(pgURL.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	pgURL.Host = proxy.Addr()
	q := pgURL.Query()
	q.Set("connect_timeout", "2")
	pgURL.RawQuery = q.Encode()
	db, err := storage.Open(context.Background(), pgURL.String())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := migrations.Apply(context.Background(), db.SQL, db.Dialect); err != nil {
		t.Fatal(err)
	}
	srv := apitest.Start(t, db)

	if resp, body := srv.Get(t, "/readyz"); resp.StatusCode != http.StatusOK {
		t.Fatalf("/readyz with the database up: %d %q", resp.StatusCode, body)
	}
	proxy.Cut()
	if resp, body := srv.Get(t, "/readyz"); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("/readyz with the database gone: %d %q, want 503", resp.StatusCode, body)
	}
	if resp, _ := srv.Get(t, "/healthz"); resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz must stay 200 while the database is gone (the process is alive), got %d", resp.StatusCode)
	}
	proxy.Restore()
	if resp, body := srv.Get(t, "/readyz"); resp.StatusCode != http.StatusOK {
		t.Fatalf("/readyz after the database came back: %d %q", resp.StatusCode, body)
	}
}

func TestMetricsCountRequestsByRouteAndOperation(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		srv := apitest.Start(t, db)
		k := srv.NewAccount(t, "Metered")
		srv.GraphQL(t, k.APIKey, `query OffersWithEvents { offers { totalCount } }`, nil)
		srv.Get(t, "/healthz")
		srv.Get(t, "/healthz") // the second through the series the first looked up
		resp, body := srv.Get(t, "/metrics")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("/metrics: %d", resp.StatusCode)
		}
		for _, want := range []string{
			`gokart_http_requests_total{code="200",method="POST",route="/query"} 1`,
			`gokart_http_requests_total{code="200",method="GET",route="GET /healthz"} 2`,
			`gokart_http_request_duration_seconds_count{route="GET /healthz"} 2`,
			`gokart_graphql_operations_total{operation="OffersWithEvents",outcome="ok",type="query"} 1`,
			`gokart_graphql_operation_duration_seconds_count{operation="OffersWithEvents",type="query"} 1`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
	})
}

func TestPlaygroundIsServedAtTheRoot(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, dbtest.Open(t, dialect.SQLite))
	resp, body := srv.Get(t, "/")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "/query") {
		t.Errorf("GET /: %d, want the playground pointing at /query", resp.StatusCode)
	}
}

func TestIntrospectionNeedsAKeyAndCanBeTurnedOff(t *testing.T) {
	t.Parallel()
	db := dbtest.Open(t, dialect.SQLite)
	on := apitest.Start(t, db)
	key := on.NewAccount(t, "Introspector").APIKey
	const q = `{ __schema { queryType { name } } }`
	if resp := on.GraphQL(t, "", q, nil); resp.Status != http.StatusUnauthorized {
		t.Errorf("introspection without a key: HTTP %d, want 401", resp.Status)
	}
	var got struct {
		Schema struct{ QueryType struct{ Name string } } `json:"__schema"`
	}
	on.GraphQL(t, key, q, nil).Decode(t, &got)
	if got.Schema.QueryType.Name != "Query" {
		t.Errorf("introspection with a key: %+v", got)
	}

	off := httptest.NewServer(httpapi.New(db, httpapi.Options{BaseURL: "http://x", ComplexityLimit: 100,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	defer off.Close()
	resp := (&apitest.Server{URL: off.URL, DB: db}).GraphQL(t, key, q, nil)
	if len(resp.Errors) == 0 || !strings.Contains(resp.Errors[0].Message, "introspection") {
		t.Errorf("introspection turned off still answered: %+v %s", resp.Errors, resp.Data)
	}
}

func TestComplexityLimitRefusesExpensiveOperations(t *testing.T) {
	t.Parallel()
	db := dbtest.Open(t, dialect.SQLite)
	srv := httptest.NewServer(httpapi.New(db, httpapi.Options{BaseURL: "http://x", ComplexityLimit: 50, Introspection: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	defer srv.Close()
	s := &apitest.Server{URL: srv.URL, DB: db}
	key := s.NewAccount(t, "Greedy").APIKey
	resp := s.GraphQL(t, key, `{ offers(first: 100) { edges { node { events { name } advertiser { offers(first: 100) { edges { node { id } } } } } } } }`, nil)
	if len(resp.Errors) == 0 || !strings.Contains(resp.Errors[0].Message, "complexity") || resp.Errors[0].Code() != "VALIDATION" {
		t.Errorf("an operation over the complexity limit ran: %+v", resp.Errors)
	}
}
