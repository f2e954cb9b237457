package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gokart/gokart/ent/offer"
	"github.com/gokart/gokart/internal/accounts"
	"github.com/gokart/gokart/internal/cli"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/storage"
	"github.com/gokart/gokart/internal/viewer"
)

func run(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Main(context.Background(), args, func(k string) string { return env[k] }, &out, &errb)
	return code, out.String(), errb.String()
}

type keys struct {
	ID          int    `json:"id"`
	APIKey      string `json:"apiKey"`
	PostbackKey string `json:"postbackKey"`
}

func TestAccountCreateAndDemoPrintWorkingKeys(t *testing.T) {
	t.Parallel()
	for _, d := range dbtest.Dialects {
		t.Run(d, func(t *testing.T) {
			env := map[string]string{"DATABASE_URL": dbtest.URL(t, d)}
			code, out, stderr := run(t, env, "account", "create", "--name", "Acme", "--json")
			if code != 0 {
				t.Fatalf("account create exited %d: %s", code, stderr)
			}
			var acme keys
			if err := json.Unmarshal([]byte(out), &acme); err != nil || acme.ID == 0 || acme.APIKey == "" || acme.PostbackKey == "" {
				t.Fatalf("account create printed %q (%v), want JSON with id, apiKey, postbackKey", out, err)
			}

			var demo1, demo2 keys
			for _, k := range []*keys{&demo1, &demo2} {
				code, out, stderr = run(t, env, "demo", "--json")
				if code != 0 {
					t.Fatalf("demo exited %d: %s", code, stderr)
				}
				if err := json.Unmarshal([]byte(out), k); err != nil {
					t.Fatalf("demo printed %q: %v", out, err)
				}
			}
			if demo1.ID != demo2.ID || demo1.PostbackKey != demo2.PostbackKey || demo1.APIKey == demo2.APIKey {
				t.Errorf("demo twice: %+v then %+v; want the same account, a fresh API key each time", demo1, demo2)
			}

			db, err := storage.Open(context.Background(), env["DATABASE_URL"])
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			for _, k := range []keys{acme, demo1, demo2} {
				id, err := accounts.Authenticate(context.Background(), db.Client, k.APIKey)
				if err != nil || id != k.ID {
					t.Errorf("key of account %d authenticates as %d (%v)", k.ID, id, err)
				}
			}
			ctx := viewer.ForAccount(context.Background(), demo1.ID)
			offers := db.Client.Offer.Query().Where(offer.StatusEQ(offer.StatusACTIVE)).WithEvents().AllX(ctx)
			if len(offers) != 2 {
				t.Fatalf("demo account has %d active offers after two runs, want exactly 2", len(offers))
			}
			var multi []string
			for _, o := range offers {
				if o.Type == offer.TypeMULTI_EVENT {
					for _, e := range o.Edges.Events {
						multi = append(multi, e.Name)
					}
				}
			}
			if strings.Join(multi, ",") != "Sign Up,First Purchase" {
				t.Errorf("multi-event demo offer has events %v", multi)
			}
		})
	}
}

func TestUnknownCommandsAndMissingNamesFail(t *testing.T) {
	t.Parallel()
	env := map[string]string{"DATABASE_URL": dbtest.URL(t, "sqlite3")}
	if code, _, _ := run(t, env, "frobnicate"); code == 0 {
		t.Error("unknown command exited 0")
	}
	if code, _, stderr := run(t, env, "account", "create"); code == 0 || !strings.Contains(stderr, "--name") {
		t.Errorf("account create without --name: exit %d, stderr %q", code, stderr)
	}
	if code, out, _ := run(t, env, "help"); code != 0 || !strings.Contains(out, "gokart demo") {
		t.Errorf("help: exit %d, %q", code, out)
	}
}

func TestShutdownFinishesInFlightRequests(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		time.Sleep(300 * time.Millisecond)
		_, _ = io.WriteString(w, "finished")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- cli.Serve(ctx, ln, h, slog.New(slog.NewTextHandler(io.Discard, nil))) }()

	type result struct {
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/slow")
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- result{string(b), err}
	}()
	<-started
	stop() // as SIGTERM would
	r := <-got
	if r.err != nil || r.body != "finished" {
		t.Fatalf("in-flight request during shutdown: body %q, err %v; want it to finish", r.body, r.err)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve returned %v after a clean shutdown", err)
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/slow"); err == nil {
		t.Error("server still accepts connections after shutdown")
	}
}
