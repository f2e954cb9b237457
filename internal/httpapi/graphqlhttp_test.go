package httpapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"entgo.io/ent/dialect"

	"github.com/gokart/gokart/internal/apitest"
	"github.com/gokart/gokart/internal/dbtest"
)

// TestGraphQLOverHTTPFollowsTheSpec checks /query against the GraphQL-over-HTTP spec, for both
// response media types.
func TestGraphQLOverHTTPFollowsTheSpec(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, dbtest.Open(t, dialect.SQLite))
	key := srv.NewAccount(t, "Spec").APIKey
	const gqlResp, appJSON = "application/graphql-response+json", "application/json"
	cases := []struct {
		name, method, accept, contentType, body, query string
		wantStatus                                     int
		wantType                                       string
		wantData                                       string // "absent", "present"
		wantAllow                                      string
	}{
		{"a query", "POST", gqlResp, appJSON, `{"query":"{ viewer { name } }"}`, "", 200, gqlResp, "present", ""},
		{"a query under application/json", "POST", appJSON, appJSON, `{"query":"{ viewer { name } }"}`, "", 200, appJSON, "present", ""},
		{"a query without Accept", "POST", "", appJSON, `{"query":"{ viewer { name } }"}`, "", 200, appJSON, "present", ""},
		{"a parse error", "POST", gqlResp, appJSON, `{"query":"{ viewer { "}`, "", 400, gqlResp, "absent", ""},
		{"a parse error under application/json", "POST", appJSON, appJSON, `{"query":"{ viewer { "}`, "", 200, appJSON, "absent", ""},
		{"a validation error", "POST", gqlResp, appJSON, `{"query":"{ viewer { nope } }"}`, "", 400, gqlResp, "absent", ""},
		{"a validation error under application/json", "POST", appJSON, appJSON, `{"query":"{ viewer { nope } }"}`, "", 200, appJSON, "absent", ""},
		{"a variable coercion error", "POST", gqlResp, appJSON, `{"query":"query($n: Int) { offers(first: $n) { totalCount } }","variables":{"n":"ten"}}`, "", 400, gqlResp, "absent", ""},
		{"a variable coercion error under application/json", "POST", appJSON, appJSON, `{"query":"query($n: Int) { offers(first: $n) { totalCount } }","variables":{"n":"ten"}}`, "", 200, appJSON, "absent", ""},
		{"a field error keeps data", "POST", gqlResp, appJSON, `{"query":"{ node(id: \"99\") { id } }"}`, "", 200, gqlResp, "present", ""},
		{"a body that is not JSON", "POST", gqlResp, appJSON, `{"query":`, "", 400, gqlResp, "absent", ""},
		{"a request without a query", "POST", gqlResp, appJSON, `{"variables":{}}`, "", 400, gqlResp, "absent", ""},
		{"a query that is not a string", "POST", appJSON, appJSON, `{"query":42}`, "", 400, appJSON, "absent", ""},
		{"a body that is not application/json", "POST", gqlResp, "text/plain", `{ viewer { name } }`, "", 415, gqlResp, "absent", ""},
		{"an Accept the server cannot serve", "POST", "text/html", appJSON, `{"query":"{ viewer { name } }"}`, "", 406, appJSON, "absent", ""},
		{"a PUT", "PUT", gqlResp, appJSON, `{"query":"{ viewer { name } }"}`, "", 405, appJSON, "absent", "GET, POST, OPTIONS"},
		{"a query over GET", "GET", gqlResp, "", "", "{ viewer { name } }", 200, gqlResp, "present", ""},
		{"a mutation over GET", "GET", gqlResp, "", "", "mutation { rotatePostbackKey { id } }", 405, gqlResp, "absent", "POST"},
		{"a GET without a query", "GET", gqlResp, "", "", "", 400, gqlResp, "absent", ""},
		{"a body over 1 MiB", "POST", gqlResp, appJSON, `{"query":"{ viewer { name } }","variables":{"pad":"` + strings.Repeat("x", 1<<20) + `"}}`, "", 413, gqlResp, "absent", ""},
	}
	for _, c := range cases {
		u := srv.URL + "/query"
		if c.query != "" {
			u += "?query=" + url.QueryEscape(c.query)
		}
		req, _ := http.NewRequest(c.method, u, strings.NewReader(c.body))
		req.Header.Set("Authorization", "Bearer "+key)
		if c.accept != "" {
			req.Header.Set("Accept", c.accept)
		}
		if c.contentType != "" {
			req.Header.Set("Content-Type", c.contentType)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var body map[string]json.RawMessage
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Errorf("%s: body %q is not a JSON object", c.name, raw)
			continue
		}
		_, hasData := body["data"]
		ct := strings.Split(resp.Header.Get("Content-Type"), ";")[0]
		switch {
		case resp.StatusCode != c.wantStatus:
			t.Errorf("%s: status %d, want %d (body %s)", c.name, resp.StatusCode, c.wantStatus, raw)
		case ct != c.wantType:
			t.Errorf("%s: Content-Type %q, want %q", c.name, ct, c.wantType)
		case hasData != (c.wantData == "present"):
			t.Errorf("%s: data %s, want it %s (body %s)", c.name, map[bool]string{true: "present", false: "absent"}[hasData], c.wantData, raw)
		case c.wantData == "absent" && len(body["errors"]) < 3:
			t.Errorf("%s: no errors in %s", c.name, raw)
		case resp.Header.Get("Allow") != c.wantAllow:
			t.Errorf("%s: Allow %q, want %q", c.name, resp.Header.Get("Allow"), c.wantAllow)
		}
		var errs []struct {
			Extensions struct{ Code string }
		}
		_ = json.Unmarshal(body["errors"], &errs)
		for _, e := range errs {
			if e.Extensions.Code == "" {
				t.Errorf("%s: an error without extensions.code in %s", c.name, raw)
			}
		}
	}
}
