package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gokart/gokart/ent/offer"
	"github.com/gokart/gokart/internal/accounts"
	"github.com/gokart/gokart/internal/apitest"
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

func TestHelpListsCommandsAndUsageErrorsExit2(t *testing.T) {
	t.Parallel()
	env := map[string]string{"DATABASE_URL": dbtest.URL(t, "sqlite3")}
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		code, out, _ := run(t, env, args...)
		for _, cmd := range []string{"serve", "migrate", "account create", "key create", "key list", "key revoke", "demo", "stats rebuild", "version"} {
			if code != 0 || !strings.Contains(out, "  "+cmd+" ") && !strings.Contains(out, "  "+cmd+"\n") {
				t.Errorf("gokart %v: exit %d, output lacks %q:\n%s", args, code, cmd, out)
			}
		}
	}
	for _, tc := range []struct {
		args []string
		want string // in stdout
	}{
		{[]string{"serve", "--help"}, "--stats-interval duration"},
		{[]string{"account", "--help"}, "account create"},
		{[]string{"account", "create", "--help"}, "-name"},
		{[]string{"key", "-h"}, "key revoke"},
		{[]string{"key", "revoke", "--help"}, "-account"},
		{[]string{"demo", "--help"}, "-json"},
		{[]string{"stats", "rebuild", "--help"}, "-database-url"},
		{[]string{"migrate", "--help"}, "-database-url"},
		{[]string{"version", "--help"}, "Usage"},
		{[]string{"help", "key", "list"}, "-revoked"},
	} {
		if code, out, stderr := run(t, env, tc.args...); code != 0 || !strings.Contains(out, tc.want) {
			t.Errorf("gokart %v: exit %d, stdout %q, stderr %q; want exit 0 and %q", tc.args, code, out, stderr, tc.want)
		}
	}
	for _, args := range [][]string{
		{"frobnicate"}, {"account"}, {"account", "delete"}, {"account", "create"}, {"account", "create", "--nme", "x"},
		{"key", "create"}, {"key", "revoke", "--account", "1"}, {"key", "list", "--account", "one"},
		{"--bogus"}, {"serve", "--complexity-limit", "lots"}, {"--dev=maybe"}, {"version", "extra"},
	} {
		if code, out, stderr := run(t, env, args...); code != 2 || out != "" || !strings.HasPrefix(stderr, "gokart: ") {
			t.Errorf("gokart %v: exit %d, stdout %q, stderr %q; want exit 2 and the mistake on stderr", args, code, out, stderr)
		}
	}
	if code, _, stderr := run(t, env, "account", "create"); !strings.Contains(stderr, "--name") {
		t.Errorf("account create without --name: exit %d, stderr %q", code, stderr)
	}
	if code, _, stderr := run(t, env, "key", "list", "--account", "999"); code != 1 || !strings.Contains(stderr, "no account with id 999") {
		t.Errorf("key list of a missing account: exit %d, stderr %q; want exit 1 naming it", code, stderr)
	}
}

func TestVersionPrintsModuleCommitAndGo(t *testing.T) {
	t.Parallel()
	code, out, _ := run(t, nil, "version")
	if code != 0 || !strings.HasPrefix(out, "gokart ") || !strings.Contains(out, "commit ") || !strings.Contains(out, runtime.Version()) {
		t.Errorf("version: exit %d, %q; want gokart <version>, commit <rev>, %s", code, out, runtime.Version())
	}
}

func TestKeyCreateListRevoke(t *testing.T) {
	t.Parallel()
	for _, d := range dbtest.Dialects {
		t.Run(d, func(t *testing.T) {
			env := map[string]string{"DATABASE_URL": dbtest.URL(t, d)}
			code, out, stderr := run(t, env, "account", "create", "--name", "Acme", "--json")
			if code != 0 {
				t.Fatalf("account create exited %d: %s", code, stderr)
			}
			var acme keys
			if err := json.Unmarshal([]byte(out), &acme); err != nil {
				t.Fatal(err)
			}
			account := strconv.Itoa(acme.ID)
			code, out, stderr = run(t, env, "key", "create", "--account", account, "--name", "ci", "--json")
			if code != 0 {
				t.Fatalf("key create exited %d: %s", code, stderr)
			}
			var made struct {
				ID     int    `json:"id"`
				Name   string `json:"name"`
				Prefix string `json:"prefix"`
				Secret string `json:"secret"`
			}
			if err := json.Unmarshal([]byte(out), &made); err != nil || made.Name != "ci" || !strings.HasPrefix(made.Secret, made.Prefix) {
				t.Fatalf("key create printed %q (%v)", out, err)
			}

			db, err := storage.Open(context.Background(), env["DATABASE_URL"])
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			srv := apitest.Start(t, db)
			const q = `{ viewer { name } }`
			if r := srv.GraphQL(t, made.Secret, q, nil); r.Status != http.StatusOK || len(r.Errors) > 0 {
				t.Fatalf("new key: HTTP %d %v", r.Status, r.Errors)
			}

			code, out, _ = run(t, env, "key", "list", "--account", account)
			if code != 0 || !strings.Contains(out, "default") || !strings.Contains(out, made.Prefix) || strings.Contains(out, made.Secret) {
				t.Fatalf("key list: exit %d\n%s\nwant both keys by prefix, never a secret", code, out)
			}
			code, out, stderr = run(t, env, "key", "revoke", "--account", account, "--id", strconv.Itoa(made.ID))
			if code != 0 || !strings.Contains(out, "revoked key") {
				t.Fatalf("key revoke: exit %d, %q %q", code, out, stderr)
			}
			if r := srv.GraphQL(t, made.Secret, q, nil); r.Status != http.StatusUnauthorized {
				t.Errorf("revoked key: HTTP %d, want 401", r.Status)
			}
			if r := srv.GraphQL(t, acme.APIKey, q, nil); r.Status != http.StatusOK {
				t.Errorf("the other key after revoking one: HTTP %d, want 200", r.Status)
			}
			code, out, _ = run(t, env, "key", "list", "--account", account, "--json")
			var listed []struct{ Name string }
			if err := json.Unmarshal([]byte(out), &listed); code != 0 || err != nil || len(listed) != 1 || listed[0].Name != "default" {
				t.Errorf("key list after revoke: exit %d, %q; want only the default key", code, out)
			}
			code, out, _ = run(t, env, "key", "list", "--account", account, "--revoked", "--json")
			if err := json.Unmarshal([]byte(out), &listed); code != 0 || err != nil || len(listed) != 2 {
				t.Errorf("key list --revoked: exit %d, %q; want both keys", code, out)
			}
			// Another account's key is not this account's to revoke.
			_, out, _ = run(t, env, "account", "create", "--name", "Other", "--json")
			var other keys
			_ = json.Unmarshal([]byte(out), &other)
			if code, _, stderr := run(t, env, "key", "revoke", "--account", strconv.Itoa(other.ID), "--id", strconv.Itoa(made.ID)); code != 1 || !strings.Contains(stderr, "no API key") {
				t.Errorf("revoking another account's key: exit %d, %q", code, stderr)
			}
		})
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
