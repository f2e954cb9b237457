package httpapi_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"os"
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

// The Measure tests replay the attacks of issue 9 and log what they cost (MEASURE=1 to run;
// LIMITED=1 adds the default failed-postback limit). They assert nothing: the figures are for
// people, the tests in abuse_test.go hold the bounds.

func TestMeasureBlackhole(t *testing.T) {
	if os.Getenv("MEASURE") == "" {
		t.Skip()
	}
	pgURL, _ := url.Parse(dbtest.URL(t, dialect.Postgres))
	bh := startBlackhole(t, pgURL.Host)
	pgURL.Host = bh.Addr()
	db, err := storage.Open(context.Background(), pgURL.String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := migrations.Apply(context.Background(), db.SQL, db.Dialect); err != nil {
		t.Fatal(err)
	}
	srv := apitest.Start(t, db)
	k := srv.NewAccount(t, "A")
	c := &http.Client{Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	bh.Stall()
	for _, p := range []string{"/readyz", "/postback?key=" + k.PostbackKey + "&gk_click_id=AAAAAAAAAAAAAAAAAAAAAA&cnv_event_id=x", "/click/1", "/query?query=%7Boffers%7BtotalCount%7D%7D"} {
		start := time.Now()
		req, _ := http.NewRequest("GET", srv.URL+p, nil)
		req.Header.Set("Authorization", "Bearer "+k.APIKey)
		resp, err := c.Do(req)
		st := "err " + fmt.Sprint(err)
		if err == nil {
			st = resp.Status
			resp.Body.Close()
		}
		t.Logf("%s: %s after %s", p, st, time.Since(start).Round(time.Millisecond))
	}
	bh.close() // lets the stuck handlers fail, so the server can shut down
}

func TestMeasureBadKeyFlood(t *testing.T) {
	if os.Getenv("MEASURE") == "" {
		t.Skip()
	}
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		srv := apitest.Start(t, db)
		if os.Getenv("LIMITED") != "" {
			srv = serve(t, db, httpapi.Options{FailedPostbackLimit: config.Limit{Events: 60, Per: time.Minute}})
		}
		size := func() string {
			var s int64
			if db.Dialect == dialect.Postgres {
				_ = db.SQL.QueryRow(`SELECT pg_total_relation_size('postback_logs')`).Scan(&s)
			} else {
				_ = db.SQL.QueryRow(`SELECT page_count*page_size FROM pragma_page_count(), pragma_page_size()`).Scan(&s)
			}
			return fmt.Sprintf("%.1f MB", float64(s)/1e6)
		}
		n0, _ := db.Client.PostbackLog.Query().Count(viewer.AsSystem(context.Background()))
		s0 := size()
		codes := map[int]int{}
		start := time.Now()
		for i := 0; i < 3000; i++ {
			b := make([]byte, 2000)
			rand.Read(b)
			resp, err := http.Get(srv.URL + "/postback?key=" + hex.EncodeToString(b[:16]) + "&gk_click_id=x&cnv_sub_1=" + hex.EncodeToString(b))
			if err != nil {
				t.Fatal(err)
			}
			codes[resp.StatusCode]++
			resp.Body.Close()
		}
		n1, _ := db.Client.PostbackLog.Query().Count(viewer.AsSystem(context.Background()))
		u1, _ := db.Client.UnmatchedPostback.Query().Count(viewer.AsSystem(context.Background()))
		t.Logf("%s: 3000 bad-key postbacks in %s: statuses %v, postback_logs rows %d -> %d, unmatched rows %d, postback_logs size %s -> %s", db.Dialect, time.Since(start).Round(time.Millisecond), codes, n0, n1, u1, s0, size())
	})
}

func TestMeasureClickFlood(t *testing.T) {
	if os.Getenv("MEASURE") == "" {
		t.Skip()
	}
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		srv := serve(t, db, httpapi.Options{ClickLimit: config.Limit{Events: 600, Per: time.Minute}})
		codes := map[int]int{}
		start := time.Now()
		for i := 0; i < 3000; i++ {
			resp, err := http.Get(srv.URL + "/click/999999")
			if err != nil {
				t.Fatal(err)
			}
			codes[resp.StatusCode]++
			resp.Body.Close()
		}
		t.Logf("%s: 3000 clicks in %s: statuses %v", db.Dialect, time.Since(start).Round(time.Millisecond), codes)
	})
}
