package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"io/fs"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/gokart/gokart/internal/callbacks"
)

// metrics are the server's Prometheus series. Each server has its own registry, so several
// servers in one test process do not collide.
type metrics struct {
	registry   *prometheus.Registry
	requests   *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	operations *prometheus.CounterVec
	opLatency  *prometheus.HistogramVec
	// series holds each (route, method, code)'s counter and histogram once looked up: the
	// vectors hash and compare every label on each lookup, on every click and postback. Routes
	// are patterns and codes few, so it stays small.
	series sync.Map // requestLabels → requestSeries
}

type requestLabels struct {
	route, method string
	code          int
}

type requestSeries struct {
	count   prometheus.Counter
	latency prometheus.Observer
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gokart_http_requests_total", Help: "HTTP requests by route, method and status code.",
		}, []string{"route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "gokart_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route"}),
		operations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gokart_graphql_operations_total", Help: "GraphQL operations by name, type and outcome.",
		}, []string{"operation", "type", "outcome"}),
		opLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "gokart_graphql_operation_duration_seconds", Help: "GraphQL operation latency by name.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"operation", "type"}),
	}
	m.registry.MustRegister(m.requests, m.latency, m.operations, m.opLatency,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// handler serves the metrics page; with a token set, only to a scraper that sends it as
// `Authorization: Bearer <token>`.
func (m *metrics) handler(token string) http.Handler {
	h := promhttp.HandlerFor(prometheus.Gatherers{m.registry, callbacks.Registry}, promhttp.HandlerOpts{})
	if token == "" {
		return h
	}
	want := sha256.Sum256([]byte("Bearer " + token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := sha256.Sum256([]byte(r.Header.Get("Authorization")))
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			writeText(w, http.StatusUnauthorized, "metrics need Authorization: Bearer <METRICS_TOKEN>")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// observe records one HTTP request under its route pattern (never the raw path, whose ids
// would make a series per offer).
func (m *metrics) observe(route, method string, code int, d time.Duration) {
	key := requestLabels{route, method, code}
	v, ok := m.series.Load(key)
	if !ok {
		v, _ = m.series.LoadOrStore(key, requestSeries{
			count:   m.requests.WithLabelValues(route, method, strconv.Itoa(code)),
			latency: m.latency.WithLabelValues(route),
		})
	}
	s := v.(requestSeries)
	s.count.Inc()
	s.latency.Observe(d.Seconds())
}

// knownOperations are the operation names that get a series of their own: those of the
// playground's preloaded examples, which the server ships. Any other name is the client's
// choice, so it is counted as "other": a tenant cannot grow the metrics page, nor publish its
// operation names on it.
var knownOperations = sync.OnceValue(func() map[string]bool {
	known := map[string]bool{}
	files, _ := fs.Glob(playgroundFiles, "playground/examples/*.graphql")
	for _, f := range files {
		src, err := fs.ReadFile(playgroundFiles, f)
		if err != nil {
			continue
		}
		doc, err := parser.ParseQuery(&ast.Source{Name: f, Input: string(src)})
		if err != nil {
			continue // TestPlaygroundExamples fails on it
		}
		for _, op := range doc.Operations {
			if op.Name != "" {
				known[op.Name] = true
			}
		}
	}
	return known
})

// aroundOperations records each GraphQL operation by its name, if it is a known one.
func (m *metrics) aroundOperations(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	oc := graphql.GetOperationContext(ctx)
	name, typ := "anonymous", "unknown"
	if oc.Operation != nil {
		typ = string(oc.Operation.Operation)
		if oc.Operation.Name != "" {
			name = oc.Operation.Name
		}
	}
	if name != "anonymous" && !knownOperations()[name] {
		name = "other"
	}
	start := time.Now()
	h := next(ctx)
	return func(ctx context.Context) *graphql.Response {
		resp := h(ctx)
		if resp == nil {
			return resp
		}
		outcome := "ok"
		if len(resp.Errors) > 0 {
			outcome = "error"
		}
		m.operations.WithLabelValues(name, typ, outcome).Inc()
		m.opLatency.WithLabelValues(name, typ).Observe(time.Since(start).Seconds())
		return resp
	}
}
