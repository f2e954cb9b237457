package httpapi

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	texttemplate "text/template"
	"time"
)

// The playground is GraphiQL served from the binary: pinned GraphiQL, React and ReactDOM
// vendored by internal/httpapi/playground/fetch-assets.sh, so it works with no network, behind a proxy
// and under a strict Content-Security-Policy.
//
// It uses its own page rather than gqlgen's playground.Handler: that page boots GraphiQL from
// an inline script, which a strict CSP could only allow by hash, and it cannot preload tabs.
// Here the page is inert HTML plus a JSON configuration block, and app.js boots GraphiQL.
//
//go:embed playground
var playgroundFiles embed.FS

// playgroundCSP allows scripts and styles from this server only. What GraphiQL needs beyond
// 'self', found by loading it in Chromium under this policy and watching for violations:
//   - font-src data: and img-src data: because graphiql.min.css inlines its fonts and a few
//     icons as data: URIs (img-src data: also covers the page's empty favicon);
//   - connect-src 'self' for its requests to /query (no WebSocket: gokart has no subscriptions);
//   - a per-page style nonce: opening a dialog (settings, shortcuts) makes the bundled
//     react-remove-scroll insert a <style> element to lock scrolling; it takes the nonce from
//     window.__webpack_nonce__, which app.js sets.
//
// No 'unsafe-eval' and no 'unsafe-inline': nothing in the page runs inline, and the styles
// GraphiQL and CodeMirror set at run time go through the CSSOM, which CSP does not restrict.
func playgroundCSP(styleNonce string) string {
	return "default-src 'none'; script-src 'self'; style-src 'self' 'nonce-" + styleNonce + "'; " +
		"font-src data:; img-src 'self' data:; connect-src 'self'; " +
		"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}

// playgroundHeadersPlaceholder is the Authorization header the tabs start with when no API key
// is filled in.
const playgroundHeadersPlaceholder = "Bearer <your API key>"

// playgroundAsset is one file the page loads, with what it is served with.
type playgroundAsset struct {
	URL, SRI          string
	body              []byte
	contentType, etag string
}

// playgroundTab is one GraphiQL tab, as GraphiQL's defaultTabs takes it.
type playgroundTab struct {
	Query     string `json:"query"`
	Variables string `json:"variables,omitempty"`
	Headers   string `json:"headers"`
}

// playgroundConfig is what app.js reads from the page to start GraphiQL.
type playgroundConfig struct {
	Endpoint string `json:"endpoint"`
	// Headers is the headers editor's text for new tabs.
	Headers string `json:"headers"`
	// Placeholder is the Authorization value that stands for "the shared key": app.js sends
	// the key of the page's API key field in its place, from every tab.
	Placeholder string `json:"placeholder"`
	// APIKey fills the API key field (the --dev key); empty otherwise.
	APIKey string `json:"apiKey"`
	// PersistHeaders keeps headers in localStorage: only for the --dev key, so a real key
	// pasted into the playground is never written to disk by the browser.
	PersistHeaders bool            `json:"persistHeaders"`
	StoragePrefix  string          `json:"storagePrefix"`
	Tabs           []playgroundTab `json:"tabs"`
	// StyleNonce is the CSP nonce for the one <style> element GraphiQL inserts at run time.
	StyleNonce string `json:"styleNonce"`
}

// playgroundExample is one preloaded operation; its variables are a text/template so that
// "the last day" means the day before the page was loaded.
type playgroundExample struct {
	query     string
	variables *texttemplate.Template
}

type playground struct {
	page     *htmltemplate.Template
	assets   map[string]playgroundAsset // by URL path
	examples []playgroundExample
	endpoint string
	headers  string
	apiKey   string
	persist  bool
	prefix   string
}

// mountPlayground serves the playground page at GET / and its files under /playground/. With
// apiKey set (--dev), the example tabs carry it in their Authorization header.
func mountPlayground(mux *http.ServeMux, endpoint, apiKey string) {
	p, err := newPlayground(endpoint, apiKey)
	if err != nil {
		panic(fmt.Sprintf("playground: %v", err)) // the files are embedded: this is a build error
	}
	mux.HandleFunc("GET /{$}", p.servePage)
	mux.HandleFunc("GET /playground/{file...}", p.serveAsset)
}

func newPlayground(endpoint, apiKey string) (*playground, error) {
	root, err := fs.Sub(playgroundFiles, "playground")
	if err != nil {
		return nil, err
	}
	p := &playground{assets: map[string]playgroundAsset{}, endpoint: endpoint, persist: apiKey != ""}
	p.apiKey = apiKey
	auth := playgroundHeadersPlaceholder
	if apiKey != "" {
		auth = "Bearer " + apiKey
	}
	// The editor shows this text as it is: no HTML escaping, or the placeholder would read
	// \u003cyour API key\u003e. The page's template escapes the configuration as a whole.
	var hb bytes.Buffer
	enc := json.NewEncoder(&hb)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(map[string]string{"Authorization": auth}); err != nil {
		return nil, err
	}
	h := bytes.TrimSpace(hb.Bytes())
	p.headers = string(h)

	served, err := fs.Glob(root, "assets/*")
	if err != nil {
		return nil, err
	}
	for _, name := range append([]string{"app.js", "page.css"}, served...) {
		body, err := fs.ReadFile(root, name)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(body)
		urlPath := "/playground/" + name
		p.assets[urlPath] = playgroundAsset{
			URL: urlPath, SRI: "sha256-" + base64.StdEncoding.EncodeToString(sum[:]),
			body: body, contentType: contentTypeOf(name), etag: `"` + hex.EncodeToString(sum[:16]) + `"`,
		}
	}

	// The storage prefix changes with the examples and the headers, so GraphiQL shows new
	// examples (or a new --dev key) instead of the tabs it saved from an older page.
	stamp := sha256.New()
	stamp.Write(h)
	queries, err := fs.Glob(root, "examples/*.graphql")
	if err != nil {
		return nil, err
	}
	for _, q := range queries {
		query, err := fs.ReadFile(root, q)
		if err != nil {
			return nil, err
		}
		stamp.Write(query)
		ex := playgroundExample{query: string(query)}
		if vars, err := fs.ReadFile(root, strings.TrimSuffix(q, ".graphql")+".json"); err == nil {
			stamp.Write(vars)
			if ex.variables, err = texttemplate.New(q).Option("missingkey=error").Parse(string(vars)); err != nil {
				return nil, err
			}
		}
		p.examples = append(p.examples, ex)
	}
	p.prefix = fmt.Sprintf("gokart-playground-%x:", stamp.Sum(nil)[:6])

	page, err := fs.ReadFile(root, "index.html")
	if err != nil {
		return nil, err
	}
	p.page, err = htmltemplate.New("index.html").Option("missingkey=error").Parse(string(page))
	if err != nil {
		return nil, err
	}
	// Render once now so that a broken template or example fails at start, not per request.
	_, err = p.render(time.Now(), "startup")
	return p, err
}

// config is the page's configuration when loaded at now.
func (p *playground) config(now time.Time, styleNonce string) (playgroundConfig, error) {
	c := playgroundConfig{Endpoint: p.endpoint, Headers: p.headers, PersistHeaders: p.persist, StoragePrefix: p.prefix,
		StyleNonce: styleNonce, Placeholder: playgroundHeadersPlaceholder, APIKey: p.apiKey}
	data := struct{ DayAgo string }{now.Add(-24 * time.Hour).UTC().Format(time.RFC3339)}
	for _, ex := range p.examples {
		tab := playgroundTab{Query: ex.query, Headers: p.headers}
		if ex.variables != nil {
			var b bytes.Buffer
			if err := ex.variables.Execute(&b, data); err != nil {
				return c, err
			}
			if !json.Valid(b.Bytes()) {
				return c, fmt.Errorf("%s: variables are not JSON: %s", ex.variables.Name(), b.Bytes())
			}
			tab.Variables = b.String()
		}
		c.Tabs = append(c.Tabs, tab)
	}
	return c, nil
}

func (p *playground) render(now time.Time, styleNonce string) ([]byte, error) {
	c, err := p.config(now, styleNonce)
	if err != nil {
		return nil, err
	}
	a := func(name string) playgroundAsset { return p.assets["/playground/"+name] }
	var b bytes.Buffer
	err = p.page.Execute(&b, map[string]any{
		"Config": c,
		"Assets": map[string]playgroundAsset{
			"App": a("app.js"), "PageCSS": a("page.css"),
			"React": a("assets/react.production.min.js"), "ReactDOM": a("assets/react-dom.production.min.js"),
			"GraphiQL": a("assets/graphiql.min.js"), "GraphiQLCSS": a("assets/graphiql.min.css"),
		},
	})
	return b.Bytes(), err
}

func (p *playground) servePage(w http.ResponseWriter, r *http.Request) {
	nonce := rand.Text() // a fresh nonce per page, as CSP requires
	page, err := p.render(time.Now(), nonce)
	if err != nil {
		panic(err) // observe turns it into a logged 500
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", playgroundCSP(nonce))
	h.Set("X-Content-Type-Options", "nosniff")
	// The page can carry the --dev key and the time of the last-day example: never cache it.
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write(page)
}

func (p *playground) serveAsset(w http.ResponseWriter, r *http.Request) {
	a, ok := p.assets[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("X-Content-Type-Options", "nosniff")
	// Revalidate every time: the ETag makes that a 304, and an upgrade shows at once.
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", a.etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}

// contentTypeOf is fixed here rather than taken from the mime package, which reads the host's
// mime.types and may call JavaScript application/x-javascript.
func contentTypeOf(name string) string {
	switch path.Ext(name) {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	}
	return "text/plain; charset=utf-8" // LICENSE, SOURCES, SHA256SUMS
}
