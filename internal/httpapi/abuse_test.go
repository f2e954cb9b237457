package httpapi_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/gokart/gokart/internal/apitest"
	"github.com/gokart/gokart/internal/config"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/httpapi"
	"github.com/gokart/gokart/internal/storage"
	"github.com/gokart/gokart/internal/viewer"
	"github.com/gokart/gokart/migrations"
)

// serve runs the real handler with opts over db on loopback.
func serve(t *testing.T, db *storage.DB, opts httpapi.Options) *apitest.Server {
	t.Helper()
	opts.BaseURL, opts.ComplexityLimit = "http://x", 5000
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	ts := httptest.NewServer(httpapi.New(db, opts))
	t.Cleanup(ts.Close)
	return &apitest.Server{URL: ts.URL, DB: db}
}

// timed does a GET (with the API key, for /query) and returns its status, Retry-After and time.
func timed(t *testing.T, base, path, apiKey string) (int, string, time.Duration) {
	t.Helper()
	c := &http.Client{Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest(http.MethodGet, base+path, nil)
	if apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+apiKey)
	}
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v after %s", path, err, time.Since(start))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After"), time.Since(start)
}

func junk(n int) string {
	b := make([]byte, n/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func TestASilentDatabaseAnswers503WithinTheDeadline(t *testing.T) {
	t.Parallel()
	const tracking, graphQL = 2 * time.Second, 3 * time.Second
	slack := time.Second
	pgURL, err := url.Parse(dbtest.URL(t, dialect.Postgres))
	if err != nil {
		t.Fatal(err)
	}
	bh := startBlackhole(t, pgURL.Host)
	pgURL.Host = bh.Addr()
	db, err := storage.Open(context.Background(), pgURL.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := migrations.Apply(context.Background(), db.SQL, db.Dialect); err != nil {
		t.Fatal(err)
	}
	srv := serve(t, db, httpapi.Options{TrackingTimeout: tracking, GraphQLTimeout: graphQL})
	k := srv.NewAccount(t, "Silent")
	if st, _, _ := timed(t, srv.URL, "/readyz", ""); st != http.StatusOK {
		t.Fatalf("/readyz with the database up: %d", st)
	}

	bh.Stall()
	for _, c := range []struct {
		name, path, key string
		within          time.Duration
	}{
		{"a postback answers 503 within its deadline", "/postback?key=" + k.PostbackKey + "&gk_click_id=AAAAAAAAAAAAAAAAAAAAAA&cnv_event_id=x", "", tracking + slack},
		{"/readyz answers 503 within 2 s", "/readyz", "", 2*time.Second + slack},
		{"a click answers 503 within its deadline", "/click/1", "", tracking + slack},
		{"GraphQL answers 503 within its deadline", "/query?query=%7Boffers%7BtotalCount%7D%7D", k.APIKey, graphQL + slack},
	} {
		st, retry, took := timed(t, srv.URL, c.path, c.key)
		if st != http.StatusServiceUnavailable || took > c.within {
			t.Errorf("%s: got %d after %s, want 503 within %s", c.name, st, took.Round(time.Millisecond), c.within)
		}
		if c.path != "/readyz" && retry == "" {
			t.Errorf("%s: no Retry-After", c.name)
		}
		t.Logf("%s: %d in %s", c.path, st, took.Round(time.Millisecond))
	}

	// The stuck connections were aborted, not kept: once the database answers, so does the server.
	bh.Resume()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, _, _ := timed(t, srv.URL, "/readyz", "")
		if st == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still %d 10 s after the database came back", st)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestAPostbackWaitingOnALockedSQLiteAnswers503WithinTheDeadline(t *testing.T) {
	t.Parallel()
	const tracking = 2 * time.Second
	u := dbtest.URL(t, dialect.SQLite)
	db, err := storage.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := migrations.Apply(context.Background(), db.SQL, db.Dialect); err != nil {
		t.Fatal(err)
	}
	srv := serve(t, db, httpapi.Options{TrackingTimeout: tracking})
	srv.NewAccount(t, "Locked")
	// Another process holds the write lock: every write waits on SQLite's busy timeout.
	other, err := sql.Open("sqlite", storage.SQLiteDSN(strings.TrimPrefix(u, "sqlite:")))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tx, err := other.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`DELETE FROM unmatched_postbacks`); err != nil {
		t.Fatal(err)
	}
	st, _, took := timed(t, srv.URL, "/postback?key=wrong&gk_click_id=AAAAAAAAAAAAAAAAAAAAAA", "")
	_ = tx.Rollback()
	if st != http.StatusServiceUnavailable || took > tracking+time.Second {
		t.Errorf("postback behind a held write lock: %d after %s, want 503 within %s", st, took, tracking+time.Second)
	}
}

func TestFailedPostbacksBeyondTheLimitAre429AndWriteNoRow(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		srv := serve(t, db, httpapi.Options{FailedPostbackLimit: config.Limit{Events: 5, Per: time.Minute}})
		a, b := srv.NewAccount(t, "A"), srv.NewAccount(t, "B")
		sys := viewer.AsSystem(context.Background())
		rows := func() (logs, unmatched, counted int) {
			logs = db.Client.PostbackLog.Query().CountX(sys)
			for _, u := range db.Client.UnmatchedPostback.Query().AllX(sys) {
				unmatched++
				counted += u.Count
			}
			return
		}
		expect := func(name string, want int, path string) {
			t.Helper()
			st, retry, _ := timed(t, srv.URL, path, "")
			if st != want {
				t.Fatalf("%s: %d, want %d", name, st, want)
			}
			if n, err := strconv.Atoi(retry); want == http.StatusTooManyRequests && (err != nil || n < 1 || n > 60) {
				t.Fatalf("%s: Retry-After %q, want whole seconds until the next token", name, retry)
			}
		}
		unknownClick := "&gk_click_id=AAAAAAAAAAAAAAAAAAAAAA&cnv_event_id=x"

		for i := 0; i < 5; i++ {
			expect("an unknown click id within the limit", 404, "/postback?key="+a.PostbackKey+unknownClick)
		}
		before, _, _ := rows()
		for i := 0; i < 5; i++ {
			expect("an unknown click id beyond the limit", 429, "/postback?key="+a.PostbackKey+unknownClick)
		}
		if after, _, _ := rows(); after != before {
			t.Fatalf("429s wrote %d postback log rows", after-before)
		}
		expect("another account's failures from the same address are its own", 404, "/postback?key="+b.PostbackKey+unknownClick)

		for i := 0; i < 5; i++ {
			expect("a bad key within the limit", 403, "/postback?key="+junk(32)+"&gk_click_id=x&cnv_sub_1="+junk(4000))
		}
		for i := 0; i < 20; i++ {
			expect("a bad key beyond the limit", 429, "/postback?key="+junk(32)+"&gk_click_id=x&cnv_sub_1="+junk(4000))
		}
		logs, unmatched, counted := rows()
		if logs != 6 || unmatched != 1 || counted != 5 {
			t.Fatalf("rows: %d postback log (want the 6 with an account), %d unmatched counting %d (want 1 counting the 5 bad keys answered 403)", logs, unmatched, counted)
		}
	})
}

func TestAccountlessPostbacksStayAFewRows(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		srv := serve(t, db, httpapi.Options{}) // no limit: the rows must stay bounded on their own
		const n = 200
		for i := 0; i < n; i++ {
			path := "/postback?key=" + junk(32) + "&gk_click_id=x&cnv_sub_1=" + junk(4000)
			if i%2 == 0 {
				path = "/postback?gk_click_id=x&cnv_sub_1=" + junk(4000) // no key at all
			}
			if st, _, _ := timed(t, srv.URL, path, ""); st != http.StatusForbidden {
				t.Fatalf("bad key: %d", st)
			}
		}
		sys := viewer.AsSystem(context.Background())
		if logs := db.Client.PostbackLog.Query().CountX(sys); logs != 0 {
			t.Errorf("%d postback log rows without an account", logs)
		}
		us := db.Client.UnmatchedPostback.Query().AllX(sys)
		total := 0
		for _, u := range us {
			total += u.Count
			if len(u.SampleQuery) > 2<<10 || strings.Contains(u.SampleQuery, "key="+"REDACTED") == (u.Reason == "missing key") {
				t.Errorf("sample %.80q… (%d bytes) for %q", u.SampleQuery, len(u.SampleQuery), u.Reason)
			}
		}
		// Two reasons, and at most an hour boundary crossed during the run.
		if len(us) < 2 || len(us) > 4 || total != n {
			t.Errorf("%d unmatched rows counting %d, want 2 (4 across an hour boundary) counting %d", len(us), total, n)
		}
	})
}

func TestClicksBeyondTheLimitAre429(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		srv := serve(t, db, httpapi.Options{ClickLimit: config.Limit{Events: 3, Per: time.Minute}})
		for i := 0; i < 3; i++ {
			if st, _, _ := timed(t, srv.URL, "/click/999999", ""); st != http.StatusNotFound {
				t.Fatalf("click %d within the limit: %d, want 404 (no such offer)", i, st)
			}
		}
		// Without trusted proxies X-Forwarded-For is not believed, so it cannot buy a new bucket.
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/click/999999", nil)
		req.Header.Set("X-Forwarded-For", "198.51.100.7")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if n, err := strconv.Atoi(resp.Header.Get("Retry-After")); resp.StatusCode != http.StatusTooManyRequests || err != nil || n < 1 {
			t.Fatalf("click beyond the limit: %d, Retry-After %q; want 429 with whole seconds", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		if st, _, _ := timed(t, srv.URL, "/healthz", ""); st != http.StatusOK {
			t.Errorf("other routes are not click-limited: /healthz %d", st)
		}
	})
}
