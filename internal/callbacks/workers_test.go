package callbacks_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/gokart/gokart/internal/apitest"
	"github.com/gokart/gokart/internal/callbacks"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/storage"
	"github.com/gokart/gokart/migrations"
)

func TestTwoServersOnOnePostgreSQLDeliverEachCallbackExactlyOnce(t *testing.T) {
	u := dbtest.URL(t, dialect.Postgres)
	open := func() *storage.DB {
		db, err := storage.Open(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	dbA, dbB := open(), open()
	if _, err := migrations.Apply(context.Background(), dbA.SQL, dbA.Dialect); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, dbA)
	srvB := apitest.Start(t, dbB)
	rc := newReceiver(t, func(_ int, w http.ResponseWriter) {
		time.Sleep(5 * time.Millisecond) // long enough for the other worker to try
		w.WriteHeader(http.StatusOK)
	})
	f.endpoint(t, map[string]any{"url": rc.URL, "events": []string{"CONVERSION_PENDING", "CONVERSION_APPROVED"}})

	const conversions = 40
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wA := callbacks.Start(ctx, dbA, callbacks.Options{AllowPrivate: true, PollInterval: 5 * time.Millisecond, Batch: 4})
	wB := callbacks.Start(ctx, dbB, callbacks.Options{AllowPrivate: true, PollInterval: 5 * time.Millisecond, Batch: 4})
	for i := 0; i < conversions; i++ {
		gk := f.click(t, url.Values{"pub_member_id": {fmt.Sprint("m", i)}})
		base := f.srv.URL
		if i%2 == 1 {
			base = srvB.URL // postbacks arrive at both replicas
		}
		for _, st := range []string{"pending", "approved"} {
			q := url.Values{"key": {f.keys.PostbackKey}, "gk_click_id": {gk}, "cnv_event_id": {"sale"}, "cnv_conversion_id": {fmt.Sprint("W-", i)}, "cnv_status": {st}}
			resp, err := http.Get(base + "/postback?" + q.Encode())
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("postback: %v %v", resp, err)
			}
			resp.Body.Close()
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(rc.requests()) < 2*conversions && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // a duplicate would arrive now
	wA.Stop()
	wB.Stop()

	seen := map[string]int{}
	lastSeq := map[string]int{}
	for _, r := range rc.requests() {
		seen[r.Header.Get("webhook-id")]++
		b := decodeBody(t, r.Body)
		if b.Data.Sequence <= lastSeq[b.Data.ID] {
			t.Errorf("conversion %s: sequence %d after %d", b.Data.ID, b.Data.Sequence, lastSeq[b.Data.ID])
		}
		lastSeq[b.Data.ID] = b.Data.Sequence
	}
	if len(seen) != 2*conversions {
		t.Fatalf("%d distinct callbacks arrived, want %d", len(seen), 2*conversions)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s arrived %d times", id, n)
		}
	}
	if n := dbA.Client.CallbackAttempt.Query().CountX(sys); n != 2*conversions {
		t.Errorf("%d attempts recorded, want %d", n, 2*conversions)
	}
}
