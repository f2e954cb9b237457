package callbacks_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/gokart/gokart/internal/callbacks"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/storage"
	"github.com/gokart/gokart/migrations"
)

// TestCrashHelperWorker is the worker process that TestAWorkerKilledMidDeliveryLosesNothing
// kills; it does nothing in a normal run.
func TestCrashHelperWorker(t *testing.T) {
	u := os.Getenv("GOKART_CRASH_DB")
	if u == "" {
		t.Skip("helper process only")
	}
	db, err := storage.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = callbacks.NewWorker(db, callbacks.Options{AllowPrivate: true}).RunOnce(context.Background())
	t.Fatal("the send should have hung until the process was killed")
}

func TestAWorkerKilledMidDeliveryLosesNothing(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(d, func(t *testing.T) {
			u := dbtest.URL(t, d)
			db, err := storage.Open(context.Background(), u)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			if _, err := migrations.Apply(context.Background(), db.SQL, db.Dialect); err != nil {
				t.Fatal(err)
			}
			f := newFixture(t, db)
			arrived := make(chan struct{})
			var once sync.Once
			hang := make(chan struct{})
			rc := newReceiver(t, func(n int, w http.ResponseWriter) {
				if n == 1 {
					once.Do(func() { close(arrived) })
					<-hang // the first attempt never gets an answer: its worker dies first
					return
				}
				w.WriteHeader(http.StatusOK)
			})
			t.Cleanup(func() { close(hang) }) // before rc.Close, which waits for the hung handler
			f.endpoint(t, map[string]any{"url": rc.URL})
			f.postback(t, f.click(t, url.Values{"pub_member_id": {"m"}}), "K-1", "approved", http.StatusOK)

			child := exec.Command(os.Args[0], "-test.run=^TestCrashHelperWorker$", "-test.count=1")
			child.Env = append(os.Environ(), "GOKART_CRASH_DB="+u)
			if err := child.Start(); err != nil {
				t.Fatal(err)
			}
			select {
			case <-arrived:
			case <-time.After(30 * time.Second):
				_ = child.Process.Kill()
				t.Fatal("the helper worker never sent")
			}
			if err := child.Process.Kill(); err != nil { // SIGKILL, mid-delivery
				t.Fatal(err)
			}
			_ = child.Wait()

			if d == dialect.Postgres {
				// The dead worker's transaction ends with its connection, and its locks with it.
				w := callbacks.NewWorker(db, callbacks.Options{AllowPrivate: true})
				for deadline := time.Now().Add(10 * time.Second); len(rc.requests()) < 2 && time.Now().Before(deadline); {
					drain(t, w)
					time.Sleep(20 * time.Millisecond)
				}
			} else {
				// Within the lease nobody sends again; after it another worker does.
				w := callbacks.NewWorker(db, callbacks.Options{AllowPrivate: true})
				drain(t, w)
				if n := len(rc.requests()); n != 1 {
					t.Fatalf("resent within the lease: %d requests", n)
				}
				later := callbacks.NewWorker(db, callbacks.Options{AllowPrivate: true,
					Clock: func() time.Time { return time.Now().Add(time.Minute) }})
				drain(t, later)
			}
			got := rc.requests()
			if len(got) != 2 || got[0].Header.Get("webhook-id") != got[1].Header.Get("webhook-id") {
				t.Fatalf("after the lease: %d requests", len(got))
			}
			if ds := f.deliveries(t, nil); len(ds) != 1 || ds[0].Status != "DELIVERED" {
				t.Fatalf("deliveries: %+v", ds)
			}
		})
	}
}
