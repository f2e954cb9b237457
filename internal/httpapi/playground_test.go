package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	gqlparser "github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/validator"

	"github.com/gokart/gokart/graph/generated"
	"github.com/gokart/gokart/internal/accounts"
	"github.com/gokart/gokart/internal/apitest"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/httpapi"
)

// playgroundPage is GET / as a browser sees it.
type playgroundPage struct {
	header http.Header
	body   string
	config struct {
		Endpoint, Headers, StoragePrefix, StyleNonce string
		Placeholder, APIKey                          string
		PersistHeaders                               bool
		Tabs                                         []struct{ Query, Variables, Headers string }
	}
}

var (
	tagRe    = regexp.MustCompile(`<(script|link)\b([^>]*)>`)
	attrRe   = regexp.MustCompile(`([a-z-]+)="([^"]*)"`)
	configRe = regexp.MustCompile(`(?s)<script id="playground-config" type="application/json">(.*?)</script>`)
)

func getPlaygroundPage(t *testing.T, baseURL string) playgroundPage {
	t.Helper()
	resp, body := get(t, baseURL+"/")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	p := playgroundPage{header: resp.Header, body: string(body)}
	m := configRe.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("GET /: no playground-config block in\n%s", body)
	}
	if err := json.Unmarshal([]byte(m[1]), &p.config); err != nil {
		t.Fatalf("playground config %s: %v", m[1], err)
	}
	return p
}

func get(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func TestPlaygroundLoadsEverythingFromTheServerUnderAStrictCSP(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, dbtest.Open(t, dialect.SQLite))
	page := getPlaygroundPage(t, srv.URL)

	csp := page.header.Get("Content-Security-Policy")
	styleSrc := "style-src 'self' 'nonce-" + page.config.StyleNonce + "';"
	for _, want := range []string{"default-src 'none';", "script-src 'self';", styleSrc, "connect-src 'self';"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-") || strings.Contains(csp, "http") {
		t.Errorf("CSP %q allows unsafe sources or other origins", csp)
	}
	if again := getPlaygroundPage(t, srv.URL); len(page.config.StyleNonce) < 16 || again.config.StyleNonce == page.config.StyleNonce {
		t.Errorf("style nonces %q then %q: want a fresh, long one per page", page.config.StyleNonce, again.config.StyleNonce)
	}

	var urls []string
	for _, tag := range tagRe.FindAllStringSubmatch(page.body, -1) {
		attrs := map[string]string{}
		for _, a := range attrRe.FindAllStringSubmatch(tag[2], -1) {
			attrs[a[1]] = html.UnescapeString(a[2])
		}
		ref := attrs["src"]
		if tag[1] == "link" {
			ref = attrs["href"]
		}
		switch {
		case tag[1] == "script" && ref == "":
			if attrs["type"] != "application/json" {
				t.Errorf("inline script %s: the CSP would block it", tag[0])
			}
			continue
		case tag[1] == "link" && attrs["rel"] == "icon":
			continue
		case !strings.HasPrefix(ref, "/") || strings.HasPrefix(ref, "//"):
			t.Errorf("%s loads %q, not a same-origin path", tag[0], ref)
			continue
		}
		urls = append(urls, ref)

		resp, body := get(t, srv.URL+ref)
		wantType := map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}[path.Ext(ref)]
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != wantType {
			t.Errorf("GET %s: %d %q, want 200 %q", ref, resp.StatusCode, resp.Header.Get("Content-Type"), wantType)
		}
		sum := sha256.Sum256(body)
		if sri := "sha256-" + base64.StdEncoding.EncodeToString(sum[:]); attrs["integrity"] != sri {
			t.Errorf("%s: integrity %q, but the body served hashes to %q", ref, attrs["integrity"], sri)
		}
	}
	for _, want := range []string{"react.production.min.js", "react-dom.production.min.js", "graphiql.min.js", "graphiql.min.css", "app.js"} {
		if !slices.ContainsFunc(urls, func(u string) bool { return path.Base(u) == want }) {
			t.Errorf("the page does not load %s; it loads %v", want, urls)
		}
	}
	if resp, _ := get(t, srv.URL+"/playground/index.html"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /playground/index.html: %d; only the page's assets are served", resp.StatusCode)
	}
}

func TestPlaygroundAssetsMatchTheirPinnedChecksums(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, dbtest.Open(t, dialect.SQLite))
	sums, err := os.ReadFile("playground/assets/SHA256SUMS")
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(sums))
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			t.Fatalf("SHA256SUMS: bad line %q", sc.Text())
		}
		listed[name] = sum
	}
	entries, err := os.ReadDir("playground/assets")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if _, ok := listed[e.Name()]; !ok && e.Name() != "SHA256SUMS" {
			t.Errorf("playground/assets/%s is not in SHA256SUMS: vendor files with internal/httpapi/playground/fetch-assets.sh", e.Name())
		}
	}
	for _, want := range []string{"graphiql.LICENSE", "react.LICENSE", "react-dom.LICENSE", "SOURCES"} {
		if _, ok := listed[want]; !ok {
			t.Errorf("SHA256SUMS lacks %s", want)
		}
	}
	for name, want := range listed {
		// What the server sends is what go:embed took from the directory.
		resp, body := get(t, srv.URL+"/playground/assets/"+name)
		sum := sha256.Sum256(body)
		if resp.StatusCode != http.StatusOK || hex.EncodeToString(sum[:]) != want {
			t.Errorf("GET /playground/assets/%s: %d, sha256 %x, want %s", name, resp.StatusCode, sum, want)
		}
	}
}

func TestPlaygroundFillsInTheDevKeyOnlyWhenGivenOne(t *testing.T) {
	t.Parallel()
	db := dbtest.Open(t, dialect.SQLite)
	const devKey = "gk_devkeyfortest"
	dev := httptest.NewServer(httpapi.New(db, httpapi.Options{
		BaseURL: "http://localhost", Playground: true, ComplexityLimit: 2000, PlaygroundAPIKey: devKey,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}))
	t.Cleanup(dev.Close)
	plain := apitest.Start(t, db)

	for _, tc := range []struct {
		name, url, wantAuth string
	}{
		{"with --dev", dev.URL, "Bearer " + devKey},
		{"without", plain.URL, "Bearer <your API key>"},
	} {
		page := getPlaygroundPage(t, tc.url)
		if got := page.header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("%s: Cache-Control %q; a page that may carry a key must not be cached", tc.name, got)
		}
		for i, h := range append([]string{page.config.Headers}, tabHeaders(page)...) {
			if !strings.Contains(h, `"`+tc.wantAuth+`"`) {
				t.Errorf("%s: headers #%d read %s in the editor, want %q as is (no \\u003c escapes)", tc.name, i, h, tc.wantAuth)
			}
			var headers map[string]string
			if err := json.Unmarshal([]byte(h), &headers); err != nil || headers["Authorization"] != tc.wantAuth {
				t.Errorf("%s: headers #%d = %s, want Authorization %q", tc.name, i, h, tc.wantAuth)
			}
		}
		if page.config.Placeholder != "Bearer <your API key>" || (page.config.APIKey == devKey) != (tc.url == dev.URL) {
			t.Errorf("%s: placeholder %q, apiKey %q; app.js needs both to share one key across tabs", tc.name, page.config.Placeholder, page.config.APIKey)
		}
		if has := strings.Contains(page.body, devKey); has != (tc.url == dev.URL) {
			t.Errorf("%s: page contains the dev key: %v", tc.name, has)
		}
	}
}

func tabHeaders(p playgroundPage) []string {
	var hs []string
	for _, tab := range p.config.Tabs {
		hs = append(hs, tab.Headers)
	}
	return hs
}

// The preloaded operations are checked against the schema and run for real, so a schema change
// that breaks one fails here rather than in a newcomer's first minute.
func TestPlaygroundExamplesAreValidAndRun(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, dbtest.Open(t, dialect.SQLite))
	page := getPlaygroundPage(t, srv.URL)
	schema := generated.NewExecutableSchema(generated.Config{}).Schema()

	type example struct{ query, variables string }
	ops := map[string]example{}
	var order []string
	for i, tab := range page.config.Tabs {
		doc, errs := gqlparser.LoadQuery(schema, tab.Query)
		if len(errs) > 0 {
			t.Errorf("tab %d does not validate: %v\n%s", i, errs, tab.Query)
			continue
		}
		vars := map[string]any{}
		if tab.Variables != "" {
			if err := json.Unmarshal([]byte(tab.Variables), &vars); err != nil {
				t.Errorf("tab %d: variables %s: %v", i, tab.Variables, err)
			}
		}
		for _, op := range doc.Operations {
			if _, err := validator.VariableValues(schema, op, vars); err != nil {
				t.Errorf("tab %d, %s: variables %s: %v", i, op.Name, tab.Variables, err)
			}
			ops[op.Name] = example{tab.Query, tab.Variables}
			order = append(order, op.Name)
		}
	}
	want := []string{"OffersWithEvents", "Step1CreateOffer", "Step2AdvertiserInfo", "Step3Creative",
		"Step4BudgetTargeting", "Step5Events", "Step6Publish", "ConversionsOfTheLastDay"}
	if !slices.Equal(order, want) {
		t.Fatalf("example operations %v, want %v", order, want)
	}
	var since struct{ Since time.Time }
	if err := json.Unmarshal([]byte(ops["ConversionsOfTheLastDay"].variables), &since); err != nil || time.Since(since.Since)-24*time.Hour > time.Minute {
		t.Errorf("ConversionsOfTheLastDay variables %s: want since a day ago", ops["ConversionsOfTheLastDay"].variables)
	}

	// Run them as --dev does: on the demo account.
	demo, err := accounts.Demo(context.Background(), srv.DB.Client)
	if err != nil {
		t.Fatal(err)
	}
	key := demo.APIKey
	var offerID string
	for _, name := range want {
		vars := map[string]any{}
		if ops[name].variables != "" {
			_ = json.Unmarshal([]byte(ops[name].variables), &vars)
		}
		if strings.HasPrefix(name, "Step") && name != "Step1CreateOffer" {
			vars["id"] = offerID // what the reader pastes from Step1CreateOffer's answer
		}
		data := runOperation(t, srv.URL, key, ops[name].query, name, vars)
		switch name {
		case "Step1CreateOffer":
			var out struct{ CreateOffer struct{ ID string } }
			_ = json.Unmarshal(data, &out)
			offerID = out.CreateOffer.ID
		case "Step6Publish":
			var out struct{ PublishOffer struct{ Status string } }
			_ = json.Unmarshal(data, &out)
			if out.PublishOffer.Status != "ACTIVE" {
				t.Errorf("after the wizard examples the offer is %q, want ACTIVE", out.PublishOffer.Status)
			}
		}
	}
}

// runOperation posts one named operation of a document, as GraphiQL does, and returns its data.
func runOperation(t *testing.T, baseURL, key, query, name string, vars map[string]any) json.RawMessage {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "operationName": name, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, baseURL+"/query", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Data   json.RawMessage
		Errors []any
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || len(out.Errors) > 0 {
		t.Fatalf("%s: HTTP %d, errors %v %v", name, resp.StatusCode, out.Errors, err)
	}
	return out.Data
}
