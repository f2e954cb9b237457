package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
)

// startCallbackReceiver serves a receiver on 127.0.0.1 that answers 204 to every callback and
// counts them, and registers it as the account's account-wide JSON endpoint.
func startCallbackReceiver(ctx context.Context, gql *gqlClient) (*atomic.Int64, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("callback receiver: %w", err)
	}
	var n atomic.Int64
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		n.Add(1)
		w.WriteHeader(http.StatusNoContent)
	})}
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
	return &n, nil
}
