// Package httpapi wires the HTTP surface: the GraphQL endpoint and playground, health checks
// and metrics, with request logs, body limits and panics caught, a deadline on every request
// (deadline.go) and per-source limits on the public click and postback routes (ratelimit.go).
package httpapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"entgo.io/contrib/entgql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/gokart/gokart/graph"
	"github.com/gokart/gokart/internal/accounts"
	"github.com/gokart/gokart/internal/config"
	"github.com/gokart/gokart/internal/errcode"
	"github.com/gokart/gokart/internal/storage"
	"github.com/gokart/gokart/internal/viewer"
)

// MaxBodyBytes bounds a GraphQL request body; real operations are a few kilobytes.
const MaxBodyBytes = 1 << 20

// Options configure the HTTP surface.
type Options struct {
	BaseURL         string
	Introspection   bool
	Playground      bool
	ComplexityLimit int
	Logger          *slog.Logger
	// PlaygroundAPIKey, when set (--dev), is filled into the playground's Authorization header.
	PlaygroundAPIKey string
	// TrustedProxies are the load balancers whose X-Forwarded-For names the real client.
	TrustedProxies []netip.Prefix
	// GraphQLTimeout and TrackingTimeout are the deadlines of GraphQL and of click and
	// postback requests (deadline.go); zero means the defaults.
	GraphQLTimeout, TrackingTimeout time.Duration
	// ClickLimit and FailedPostbackLimit are per-source rate limits (ratelimit.go); zero is off.
	ClickLimit, FailedPostbackLimit config.Limit
}

// New returns the server's handler.
func New(db *storage.DB, opts Options) http.Handler {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	m := newMetrics()
	mux := http.NewServeMux()

	gql := handler.New(graph.NewSchema(db.Client, opts.BaseURL))
	gql.AddTransport(transport.Options{})
	gql.AddTransport(transport.GET{})
	gql.AddTransport(transport.POST{})
	gql.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	if opts.Introspection {
		gql.Use(extension.Introspection{})
	}
	gql.Use(extension.AutomaticPersistedQuery{Cache: lru.New[string](1000)})
	gql.Use(extension.FixedComplexityLimit(opts.ComplexityLimit))
	gql.Use(entgql.Transactioner{TxOpener: db.Client})
	gql.AroundOperations(m.aroundOperations)
	gql.AroundOperations(graph.WithOperationCache)
	gql.SetErrorPresenter(graph.ErrorPresenter(log))
	gql.SetRecoverFunc(graph.Recover(log))

	mux.Handle("/query", limitBody(graphQLOverHTTP(authenticate(db, gql))))
	if opts.Playground {
		mountPlayground(mux, "/query", opts.PlaygroundAPIKey)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeText(w, http.StatusOK, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := db.SQL.PingContext(ctx); err != nil {
			log.WarnContext(ctx, "readiness check failed", "err", err)
			writeText(w, http.StatusServiceUnavailable, "database unreachable")
			return
		}
		writeText(w, http.StatusOK, "ready")
	})
	mux.Handle("GET /metrics", m.handler())
	mountTracking(mux, db, log, opts.TrustedProxies)
	limited := withLimits(opts.ClickLimit, opts.FailedPostbackLimit, opts.TrustedProxies, mux)
	return observe(log, m, cors(withDeadlines(mux, opts.GraphQLTimeout, opts.TrackingTimeout, limited)))
}

// authenticate resolves the bearer API key to an account and puts it in the context as the
// viewer; without a valid key the request stops here with 401.
func authenticate(db *storage.DB, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions {
			next.ServeHTTP(w, r)
			return
		}
		key, ok := accounts.BearerToken(r)
		if !ok {
			writeGraphQLError(w, http.StatusUnauthorized, errcode.Unauthenticated, accounts.ErrUnauthenticated.Error())
			return
		}
		accountID, err := accounts.Authenticate(r.Context(), db.Client, key)
		if err != nil {
			if err == accounts.ErrUnauthenticated {
				writeGraphQLError(w, http.StatusUnauthorized, errcode.Unauthenticated, err.Error())
				return
			}
			slog.ErrorContext(r.Context(), "authenticate API key", "err", err)
			writeGraphQLError(w, http.StatusServiceUnavailable, errcode.Internal, "cannot check the API key right now; retry")
			return
		}
		next.ServeHTTP(w, r.WithContext(viewer.ForAccount(r.Context(), accountID)))
	})
}

func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		next.ServeHTTP(w, r)
	})
}

// cors lets browser frontends on other origins call the API. Credentials travel in the
// Authorization header, never in cookies, so any origin may be allowed.
func cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Origin") != "" {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", "*")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Accept")
			h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
			h.Set("Access-Control-Max-Age", "600")
		}
		next.ServeHTTP(w, r)
	})
}

// writeGraphQLError answers with a GraphQL-shaped error body, so clients parse one format.
func writeGraphQLError(w http.ResponseWriter, status int, code errcode.Code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errors": []map[string]any{{"message": msg, "extensions": map[string]any{"code": code}}},
	})
}

func writeText(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body + "\n"))
}
