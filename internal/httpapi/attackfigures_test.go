package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/gokart/gokart/internal/apitest"
	"github.com/gokart/gokart/internal/dbtest"
)

// TestAttackFigures prints time, status, response size and allocation of each attack of
// issue 9, for the before/after table of the hardening work. It asserts nothing and runs only
// with GOKART_ATTACK_FIGURES=1; every request is cut at 20 s.
func TestAttackFigures(t *testing.T) {
	if os.Getenv("GOKART_ATTACK_FIGURES") == "" {
		t.Skip("set GOKART_ATTACK_FIGURES=1 to measure the attacks")
	}
	srv := apitest.Start(t, dbtest.Open(t, dialect.SQLite))
	key := srv.NewAccount(t, "Figures").APIKey
	measure := func(name string, do func(ctx context.Context) (int, int64, error)) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		status, size, err := do(ctx)
		d := time.Since(start)
		runtime.ReadMemStats(&after)
		alloc := float64(after.TotalAlloc-before.TotalAlloc) / (1 << 20)
		if err != nil {
			t.Logf("FIGURE %-28s error after %v (%v), allocated %.0f MiB", name, d.Round(time.Millisecond), err, alloc)
			return
		}
		t.Logf("FIGURE %-28s HTTP %d in %v, body %d B, allocated %.0f MiB", name, status, d.Round(time.Millisecond), size, alloc)
	}
	post := func(ctx context.Context, auth, body string) (int, int64, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/query", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, 0, err
		}
		defer resp.Body.Close()
		n, err := io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, n, err
	}
	gql := func(q string) string { return `{"query":` + jsonString(q) + `}` }

	measure("fragment fan-out (2^39)", func(ctx context.Context) (int, int64, error) {
		return post(ctx, key, gql(fanOutQuery(39)))
	})
	measure("repeated fields 8000 POST", func(ctx context.Context) (int, int64, error) {
		return post(ctx, key, gql(repeatedFieldsQuery(8000)))
	})
	measure("directive flood 1 MB", func(ctx context.Context) (int, int64, error) {
		return post(ctx, key, gql(directiveFloodQuery(1<<20-100)))
	})
	measure("1000 unauthenticated 1 MB", func(ctx context.Context) (int, int64, error) {
		body := bytes.Repeat([]byte("x"), 1<<20-1)
		statuses := map[int]int{}
		for range 1000 {
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/query", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				statuses[0]++
				continue
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			statuses[resp.StatusCode]++
		}
		t.Logf("statuses of the unauthenticated posts: %v", statuses)
		return 401, 0, nil
	})
	measure("5000 operation names", func(ctx context.Context) (int, int64, error) {
		for i := range 5000 {
			if _, _, err := post(ctx, key, gql(fmt.Sprintf("query Tenant%dSecret { viewer { id } }", i))); err != nil {
				return 0, 0, err
			}
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/metrics", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, 0, err
		}
		defer resp.Body.Close()
		n, err := io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, n, err
	})
	measure("repeated fields 60000 POST", func(ctx context.Context) (int, int64, error) {
		return post(ctx, key, gql(repeatedFieldsQuery(60000)))
	})
	measure("repeated fields 60000 GET", func(ctx context.Context) (int, int64, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/query?query="+url.QueryEscape(repeatedFieldsQuery(60000)), nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, 0, err
		}
		defer resp.Body.Close()
		n, err := io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, n, err
	})
	for _, q := range []string{
		`{ offers(where: {createdAtGTE: "yesterday"}) { totalCount } }`,
		`{ offers(after: "garbage") { totalCount } }`,
		`{ offers(first: 1, last: 1) { totalCount } }`,
		`{ node(id: "1e10") { id } }`,
		`{ node(id: "abc") { id } }`,
	} {
		ctx := context.Background()
		_, _, _ = ctx, q, post
		r := srv.GraphQL(t, key, q, nil)
		t.Logf("FIGURE bad input %s: HTTP %d %v", q, r.Status, r.Errors)
	}
}

func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// fanOutQuery is F0 = { id name }, Fi = { ...F(i-1) ...F(i-1) }, queried as { viewer { ...Fn } }:
// 2^n spreads from a document of a few kilobytes.
func fanOutQuery(n int) string {
	var b strings.Builder
	b.WriteString("{ viewer { ...F" + fmt.Sprint(n) + " } }\nfragment F0 on Account { id name }\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "fragment F%d on Account { ...F%d ...F%d }\n", i, i-1, i-1)
	}
	return b.String()
}

// repeatedFieldsQuery asks for the viewer n times over under the same response name.
func repeatedFieldsQuery(n int) string {
	return "{" + strings.Repeat(" viewer { id }", n) + " }"
}

// directiveFloodQuery is a query whose size is mostly unknown directives.
func directiveFloodQuery(size int) string {
	return "{ viewer " + strings.Repeat("@a ", size/3) + "{ id } }"
}
