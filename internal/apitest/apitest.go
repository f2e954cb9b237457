// Package apitest runs the real HTTP server on loopback over a test database and speaks
// GraphQL to it over real requests.
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gokart/gokart/internal/accounts"
	"github.com/gokart/gokart/internal/httpapi"
	"github.com/gokart/gokart/internal/storage"
)

// Server is a running gokart HTTP server.
type Server struct {
	URL string
	DB  *storage.DB
}

// Start serves httpapi over db on 127.0.0.1 until the test ends.
func Start(t testing.TB, db *storage.DB) *Server {
	t.Helper()
	return StartWith(t, db, nil)
}

// StartWith is Start with options changed by adjust (nil changes none).
func StartWith(t testing.TB, db *storage.DB, adjust func(*httpapi.Options)) *Server {
	t.Helper()
	var h http.Handler
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(ts.Close)
	opts := httpapi.Options{
		BaseURL: ts.URL, Introspection: true, Playground: true, ComplexityLimit: 5000,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		// Tests that fire a hundred requests at once at SQLite's single writer, under -race on a
		// busy machine, queue past the production deadlines; the deadline tests set their own.
		GraphQLTimeout: time.Minute, TrackingTimeout: time.Minute,
	}
	if adjust != nil {
		adjust(&opts)
	}
	h = httpapi.New(db, opts)
	return &Server{URL: ts.URL, DB: db}
}

// NewAccount creates an account and returns its keys.
func (s *Server) NewAccount(t testing.TB, name string) accounts.Keys {
	t.Helper()
	k, err := accounts.Create(context.Background(), s.DB.Client, name)
	if err != nil {
		t.Fatalf("create account: %v", err)
	}
	return k
}

// Error is one GraphQL error as received.
type Error struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

// Code is the error's extensions.code.
func (e Error) Code() string { s, _ := e.Extensions["code"].(string); return s }

// Field is the error's extensions.field.
func (e Error) Field() string { s, _ := e.Extensions["field"].(string); return s }

// Response is a GraphQL response with its HTTP status.
type Response struct {
	Status int
	Data   json.RawMessage `json:"data"`
	Errors []Error         `json:"errors"`
}

// Decode unmarshals data into v, failing the test on any GraphQL error.
func (r Response) Decode(t testing.TB, v any) {
	t.Helper()
	if len(r.Errors) > 0 {
		t.Fatalf("unexpected GraphQL errors (HTTP %d): %+v", r.Status, r.Errors)
	}
	if err := json.Unmarshal(r.Data, v); err != nil {
		t.Fatalf("decode data %s: %v", r.Data, err)
	}
}

// Codes lists the extensions.code of every error.
func (r Response) Codes() []string {
	var cs []string
	for _, e := range r.Errors {
		cs = append(cs, e.Code())
	}
	return cs
}

// GraphQL posts one operation with the API key (none when key is "").
func (s *Server) GraphQL(t testing.TB, key, query string, vars map[string]any) Response {
	t.Helper()
	status, raw := s.GraphQLRaw(t, key, query, vars)
	out := Response{Status: status}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("POST /query: HTTP %d, body %q: %v", status, raw, err)
	}
	out.Status = status
	return out
}

// GraphQLRaw posts one operation with the API key (none when key is "") and returns the HTTP
// status and the body as the server sent it.
func (s *Server) GraphQLRaw(t testing.TB, key, query string, vars map[string]any) (int, []byte) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, err := http.NewRequest(http.MethodPost, s.URL+"/query", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST /query: %v", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST /query: read the body: %v", err)
	}
	return resp.StatusCode, raw
}

// Get performs a GET on the server without following redirects.
func (s *Server) Get(t testing.TB, path string) (*http.Response, string) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(s.URL + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}
