package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/coder/websocket"

	"github.com/gokart/gokart/internal/accounts"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/httpapi"
)

// chromiumPath finds a Chromium to drive, or says why the browser test cannot run.
func chromiumPath() (string, string) {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p, ""
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, ""
		}
	}
	return "", "no chromium on PATH (apt-get install -y chromium, or set CHROMIUM): the playground's browser behaviour is NOT tested"
}

// browser is one headless Chromium page driven over the DevTools protocol.
type browser struct {
	conn *websocket.Conn
	next int
}

var devtoolsRe = regexp.MustCompile(`DevTools listening on (ws://\S+)`)

func startBrowser(t *testing.T, ctx context.Context) *browser {
	t.Helper()
	path, why := chromiumPath()
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal(why)
		}
		t.Skip("SKIPPING the playground browser test: " + why)
	}
	profile, err := os.MkdirTemp("", "gokart-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, path, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
		"--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "--user-data-dir="+profile, "about:blank")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // so that its helpers end with it
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // the process group this test started
		_ = cmd.Wait()
		_ = os.RemoveAll(profile)
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := devtoolsRe.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		close(found)
	}()
	var wsURL string
	select {
	case wsURL = <-found:
	case <-time.After(30 * time.Second):
	}
	if wsURL == "" {
		t.Fatal("chromium did not print its DevTools address")
	}
	// The page target of about:blank.
	host := strings.SplitN(strings.TrimPrefix(wsURL, "ws://"), "/", 2)[0]
	resp, err := http.Get("http://" + host + "/json/list")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var targets []struct{ Type, WebSocketDebuggerURL string }
	if err := json.NewDecoder(resp.Body).Decode(&targets); err != nil {
		t.Fatal(err)
	}
	for _, tg := range targets {
		if tg.Type == "page" {
			conn, _, err := websocket.Dial(ctx, tg.WebSocketDebuggerURL, nil)
			if err != nil {
				t.Fatal(err)
			}
			conn.SetReadLimit(64 << 20)
			t.Cleanup(func() { conn.CloseNow() })
			return &browser{conn: conn}
		}
	}
	t.Fatalf("no page target in %+v", targets)
	return nil
}

func (b *browser) call(ctx context.Context, method string, params any) (json.RawMessage, error) {
	b.next++
	id := b.next
	msg, _ := json.Marshal(map[string]any{"id": id, "method": method, "params": params})
	if err := b.conn.Write(ctx, websocket.MessageText, msg); err != nil {
		return nil, err
	}
	for {
		_, data, err := b.conn.Read(ctx)
		if err != nil {
			return nil, err
		}
		var r struct {
			ID     int             `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  *struct{ Message string }
		}
		if json.Unmarshal(data, &r) != nil || r.ID != id {
			continue // an event
		}
		if r.Error != nil {
			return nil, fmt.Errorf("%s: %s", method, r.Error.Message)
		}
		return r.Result, nil
	}
}

// eval runs JavaScript in the page and decodes its (awaited) value into v.
func (b *browser) eval(t *testing.T, ctx context.Context, expr string, v any) {
	t.Helper()
	raw, err := b.call(ctx, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true})
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Result           struct{ Value json.RawMessage }
		ExceptionDetails *struct {
			Exception struct{ Description string }
		}
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	if r.ExceptionDetails != nil {
		t.Fatalf("%s: %s", expr, r.ExceptionDetails.Exception.Description)
	}
	if v != nil && len(r.Result.Value) > 0 {
		if err := json.Unmarshal(r.Result.Value, v); err != nil {
			t.Fatalf("%s = %s: %v", expr, r.Result.Value, err)
		}
	}
}

// waitUntil polls a JavaScript condition until it holds.
func (b *browser) waitUntil(t *testing.T, ctx context.Context, what, cond string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var ok bool
		b.eval(t, ctx, "!!("+cond+")", &ok)
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s (%s)", what, cond)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// queryLog records the Authorization header of every GraphQL request the page sends.
type queryLog struct {
	mu   sync.Mutex
	reqs []loggedQuery
}

type loggedQuery struct {
	auth          string
	introspection bool
	status        int
}

func (l *queryLog) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/query" || r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		l.mu.Lock()
		l.reqs = append(l.reqs, loggedQuery{r.Header.Get("Authorization"), bytes.Contains(body, []byte("__schema")), rec.status})
		l.mu.Unlock()
	})
}

func (l *queryLog) since(n int) []loggedQuery {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]loggedQuery(nil), l.reqs[n:]...)
}

func (l *queryLog) len() int { l.mu.Lock(); defer l.mu.Unlock(); return len(l.reqs) }

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) { s.status = code; s.ResponseWriter.WriteHeader(code) }

// The playground as a newcomer uses it: the page loads without a key (the schema fetch gets
// 401), a key typed into the key field reaches every tab and makes the schema load, and a key
// pasted into one tab's headers becomes the key of the others.
func TestPlaygroundInChromiumSharesOneKeyAcrossTabs(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	b := startBrowser(t, ctx)

	db := dbtest.Open(t, dialect.SQLite)
	keys, err := accounts.Create(ctx, db.Client, "Browser")
	if err != nil {
		t.Fatal(err)
	}
	second, err := accounts.CreateAPIKey(ctx, db.Client, keys.ID, "second")
	if err != nil {
		t.Fatal(err)
	}
	log := &queryLog{}
	srv := httptest.NewServer(log.wrap(httpapi.New(db, httpapi.Options{
		BaseURL: "http://localhost", Playground: true, Introspection: true, ComplexityLimit: 5000,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})))
	t.Cleanup(srv.Close)
	// sent waits for a request with the key; introspection tells the schema fetch from a run.
	answered := func(what string, from int, key string, introspection bool, status int) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			for _, q := range log.since(from) {
				if q.auth == "Bearer "+key && q.introspection == introspection && q.status == status {
					return
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("%s: no request with the key (introspection %v) answered %d among %+v", what, introspection, status, log.since(from))
	}
	sent := func(what string, from int, key string, introspection bool) {
		t.Helper()
		answered(what, from, key, introspection, http.StatusOK)
	}
	const headersEditor = `Array.from(document.querySelectorAll('.CodeMirror')).map(e => e.CodeMirror).find(cm => cm && cm.getValue().includes('Authorization'))`
	tab := func(i int) {
		b.eval(t, ctx, fmt.Sprintf(`document.querySelectorAll('.graphiql-tab')[%d].querySelector('button').click()`, i), nil)
	}
	run := func() {
		// While a run is in flight the button stops it instead; wait for it to read Execute.
		b.waitUntil(t, ctx, "the execute button is idle", `(document.querySelector('.graphiql-execute-button').getAttribute('aria-label') || '').startsWith('Execute')`)
		b.eval(t, ctx, `document.querySelector('.graphiql-execute-button').click()`, nil)
	}

	if _, err := b.call(ctx, "Page.navigate", map[string]any{"url": srv.URL + "/"}); err != nil {
		t.Fatal(err)
	}
	b.waitUntil(t, ctx, "GraphiQL shows the example tabs", `document.querySelectorAll('.graphiql-tab').length === 3`)
	var headers string
	b.eval(t, ctx, headersEditor+`.getValue()`, &headers)
	if !strings.Contains(headers, `"Bearer <your API key>"`) {
		t.Errorf("the headers editor reads %q; want the placeholder Bearer <your API key> as is", headers)
	}
	time.Sleep(time.Second)
	if qs := log.since(0); len(qs) > 0 {
		t.Errorf("before a key: %+v; want no request (it could only get 401)", qs)
	}

	// A wrong key first (the postback key, say), then the right one: the schema is fetched with
	// each, and the docs show the schema once the right one is in.
	paste := func(key string) {
		b.eval(t, ctx, fmt.Sprintf(`(() => { const i = document.getElementById('api-key'); i.value = %q; i.dispatchEvent(new Event('input')); })()`, key), nil)
	}
	paste("gk_" + keys.PostbackKey)
	answered("schema with a wrong key", 0, "gk_"+keys.PostbackKey, true, http.StatusUnauthorized)
	from := log.len()
	paste(keys.APIKey)
	sent("schema after the key was typed", from, keys.APIKey, true)
	b.eval(t, ctx, `document.querySelector('[aria-label="Show Documentation Explorer"]').click()`, nil)
	b.waitUntil(t, ctx, "the docs pane shows the schema", `document.querySelector('.graphiql-doc-explorer') && document.querySelector('.graphiql-doc-explorer').textContent.includes('Query') && !document.body.textContent.includes('Error fetching schema')`)

	// Every tab sends it, though their headers still read the placeholder.
	for _, i := range []int{0, 2} {
		from = log.len()
		tab(i)
		run()
		sent(fmt.Sprintf("running tab %d", i+1), from, keys.APIKey, false)
	}

	// A real key pasted into this tab's headers becomes everyone's key.
	b.eval(t, ctx, headersEditor+fmt.Sprintf(`.setValue(%q)`, `{"Authorization": "Bearer `+second.Secret+`"}`), nil)
	from = log.len()
	run()
	sent("running the tab with the pasted key", from, second.Secret, false)
	from = log.len()
	tab(0)
	run()
	sent("running another tab after the paste", from, second.Secret, false)
	var field string
	b.eval(t, ctx, `document.getElementById('api-key').value`, &field)
	if field != second.Secret {
		t.Errorf("key field after a paste into a tab: %q, want the pasted key", field)
	}
}
