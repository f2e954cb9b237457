package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"
)

// callbackReceiver is a receiver on 127.0.0.1 that answers 204 to every callback and keeps,
// for each, how long after its conversion was created it arrived (the outbox's lag).
type callbackReceiver struct {
	mu   sync.Mutex
	lags []time.Duration
	now  func() time.Time
}

// startCallbackReceiver serves a receiver and registers it as the account's account-wide JSON
// endpoint.
func startCallbackReceiver(ctx context.Context, gql *gqlClient) (*callbackReceiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("callback receiver: %w", err)
	}
	rcv := &callbackReceiver{now: time.Now}
	srv := &http.Server{Handler: rcv}
	go func() { _ = srv.Serve(ln) }()
	go func() { <-ctx.Done(); _ = srv.Close() }()
	var out struct {
		CreateCallbackEndpoint struct{ ID string }
	}
	err = gql.do(ctx, `mutation($url: String!) { createCallbackEndpoint(input: {url: $url, events: [CONVERSION_PENDING, CONVERSION_APPROVED, CONVERSION_REVERSED]}) { id } }`,
		map[string]any{"url": "http://" + ln.Addr().String() + "/callbacks"}, &out)
	if err != nil {
		return nil, fmt.Errorf("register callback endpoint: %w", err)
	}
	return rcv, nil
}

func (c *callbackReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Data struct {
			ConvertedAt time.Time `json:"convertedAt"`
		} `json:"data"`
	}
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	at := c.now()
	lag := time.Duration(-1) // a body without a conversion time still counts as delivered
	if json.Unmarshal(raw, &body) == nil && !body.Data.ConvertedAt.IsZero() {
		lag = max(0, at.Sub(body.Data.ConvertedAt))
	}
	c.mu.Lock()
	c.lags = append(c.lags, lag)
	c.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (c *callbackReceiver) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.lags)
}

// Callbacks is what the receiver got: how many, and how long after its conversion each came.
type Callbacks struct {
	// Expected is the postbacks answered "accepted" (warm-up included): one callback each.
	Expected  int     `json:"expected"`
	Delivered int     `json:"delivered"`
	P50LagMs  float64 `json:"p50LagMs"`
	P99LagMs  float64 `json:"p99LagMs"`
	MaxLagMs  float64 `json:"maxLagMs"`
	// DrainMs is how long after the last phase the last expected callback came.
	DrainMs float64 `json:"drainMs"`
}

func (c *callbackReceiver) summary(expected int, drain time.Duration) Callbacks {
	c.mu.Lock()
	lags := slices.Clone(c.lags)
	c.mu.Unlock()
	s := Callbacks{Expected: expected, Delivered: len(lags), DrainMs: ms(drain)}
	known := lags[:0]
	for _, l := range lags {
		if l >= 0 {
			known = append(known, l)
		}
	}
	slices.Sort(known)
	s.P50LagMs, s.P99LagMs = ms(percentile(known, 50)), ms(percentile(known, 99))
	if len(known) > 0 {
		s.MaxLagMs = ms(known[len(known)-1])
	}
	return s
}
