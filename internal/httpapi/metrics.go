package httpapi

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

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

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(prometheus.Gatherers{m.registry, callbacks.Registry}, promhttp.HandlerOpts{})
}

// observe records one HTTP request under its route pattern (never the raw path, whose ids
// would make a series per offer).
func (m *metrics) observe(route, method string, code int, d time.Duration) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(code)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}

var operationName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// aroundOperations records each GraphQL operation by its name; clients choose names, so odd
// ones are folded into "other" to bound the number of series.
func (m *metrics) aroundOperations(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	oc := graphql.GetOperationContext(ctx)
	name, typ := "anonymous", "unknown"
	if oc.Operation != nil {
		typ = string(oc.Operation.Operation)
		if oc.Operation.Name != "" {
			name = oc.Operation.Name
		}
	}
	if !operationName.MatchString(name) {
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
