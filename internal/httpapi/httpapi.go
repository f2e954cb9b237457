// Package httpapi wires the HTTP surface: the GraphQL endpoint and playground, health checks
// and metrics, with request logs, body limits and panics caught, a deadline on every request
// (deadline.go) and per-source limits on the public click and postback routes (ratelimit.go).
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"entgo.io/contrib/entgql"
	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/gokart/gokart/graph"
	"github.com/gokart/gokart/internal/accounts"
	"github.com/gokart/gokart/internal/config"
	"github.com/gokart/gokart/internal/errcode"
	"github.com/gokart/gokart/internal/offerwall"
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
	// MetricsToken, when set, is the bearer token /metrics asks for; unset, it is public.
	MetricsToken string
	// GraphQLTimeout and TrackingTimeout are the deadlines of GraphQL and of click and
	// postback requests (deadline.go); zero means the defaults.
	GraphQLTimeout, TrackingTimeout time.Duration
	// ClickLimit and FailedPostbackLimit are per-source rate limits (ratelimit.go); zero is off.
	ClickLimit, FailedPostbackLimit config.Limit
	// OfferwallCatalog is how many offers the offerwall keeps in memory, all accounts together
	// (offerwall.Catalog); zero means offerwall.DefaultCatalogOffers, below zero none.
	OfferwallCatalog int
	// OfferwallByExecutor leaves the offerwall feed to gqlgen's executor instead of
	// graph.Resolver.RenderOfferwall: for tests that compare the two.
	OfferwallByExecutor bool
	// AroundFields, when set, runs around every field gqlgen's executor resolves: for tests
	// that check which fields the executor resolved.
	AroundFields graphql.FieldMiddleware
}

// New returns the server's handler.
func New(db *storage.DB, opts Options) http.Handler {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	m := newMetrics()
	mux := http.NewServeMux()

	catalog := opts.OfferwallCatalog
	if catalog == 0 {
		catalog = offerwall.DefaultCatalogOffers
	}
	schema, renderOfferwall := graph.NewSchema(db.Client, db.Dialect, opts.BaseURL, offerwall.NewCatalog(catalog, db.Generic()))
	gql := handler.New(schema)
	gql.AddTransport(transport.Options{})
	gql.AddTransport(rawData{transport.GET{}})
	gql.AddTransport(rawData{transport.POST{}})
	validated := lru.New[*ast.QueryDocument](1000)
	gql.SetQueryCache(validated)
	gql.SetParserTokenLimit(graph.DefaultLimits.Tokens)
	if opts.Introspection {
		gql.Use(extension.Introspection{})
	}
	gql.Use(persistedQueries{extension.AutomaticPersistedQuery{Cache: lru.New[string](1000)}})
	// After persisted queries, so that it checks the query a hash stands for.
	gql.Use(graph.Bounds{Limits: graph.DefaultLimits, Validated: validated})
	gql.Use(extension.FixedComplexityLimit(opts.ComplexityLimit))
	gql.Use(entgql.Transactioner{TxOpener: db.Client, SkipTxFunc: graph.OwnTransactions})
	// Before anything else reads a root field: a publishable key calls the offerwall feed only.
	gql.AroundRootFields(graph.PublishableOnly)
	if !opts.OfferwallByExecutor {
		gql.AroundRootFields(renderOfferwall)
	}
	if opts.AroundFields != nil {
		gql.AroundFields(opts.AroundFields)
	}
	gql.Use(graph.PagingArguments{})
	gql.AroundOperations(m.aroundOperations)
	gql.AroundOperations(graph.WithOperationCache)
	gql.SetErrorPresenter(graph.ErrorPresenter(log))
	gql.SetRecoverFunc(graph.Recover(log))

	mux.Handle("/query", graphQLOverHTTP(authenticate(db, log, opts.TrustedProxies), gql))
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
	mux.Handle("GET /metrics", m.handler(opts.MetricsToken))
	mountTracking(mux, db, log, opts.TrustedProxies)
	mountCSV(mux, db, log)
	mountImport(mux, db, log)
	limited := withLimits(opts.ClickLimit, opts.FailedPostbackLimit, opts.TrustedProxies, mux)
	return observe(log, m, cors(withDeadlines(mux, opts.GraphQLTimeout, opts.TrackingTimeout, limited)))
}

// authenticator checks a /query request's caller before its body is read; it answers the
// request itself when it returns false.
type authenticator func(w http.ResponseWriter, r *http.Request, media string) (*http.Request, bool)

// authenticate resolves the bearer API key to an account and puts it in the context as the
// viewer; without a valid key the request stops here with 401, its body unread.
//
// A publishable key's viewer is marked so (graph.PublishableOnly lets it call the offerwall
// feed only), and carries the client's address and User-Agent, the member's defaults.
func authenticate(db *storage.DB, log *slog.Logger, trusted []netip.Prefix) authenticator {
	return func(w http.ResponseWriter, r *http.Request, media string) (*http.Request, bool) {
		key, ok := accounts.BearerToken(r)
		if !ok {
			refuseBody(w, r)
			writeGraphQLErrorAs(w, media, http.StatusUnauthorized, errcode.Unauthenticated, accounts.ErrUnauthenticated.Error())
			return nil, false
		}
		caller, err := accounts.AuthenticateKey(r.Context(), db.Client, key)
		if err != nil {
			refuseBody(w, r)
			if err == accounts.ErrUnauthenticated {
				writeGraphQLErrorAs(w, media, http.StatusUnauthorized, errcode.Unauthenticated, err.Error())
				return nil, false
			}
			log.ErrorContext(r.Context(), "authenticate API key", "err", err)
			writeGraphQLErrorAs(w, media, http.StatusServiceUnavailable, errcode.Internal, "cannot check the API key right now; retry")
			return nil, false
		}
		ctx := viewer.NewContext(r.Context(), viewer.Viewer{AccountID: caller.AccountID, Publishable: caller.Publishable})
		if caller.Publishable {
			ctx = offerwall.WithClient(ctx, offerwall.Client{IP: clientIP(r, trusted), UserAgent: r.UserAgent()})
		}
		return r.WithContext(ctx), true
	}
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

func writeText(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body + "\n"))
}
