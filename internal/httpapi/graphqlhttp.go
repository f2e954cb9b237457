package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/gokart/gokart/internal/errcode"
)

// The media types of the GraphQL-over-HTTP spec.
const (
	mediaGraphQLResponse = "application/graphql-response+json"
	mediaJSON            = "application/json"
)

// graphQLOverHTTP makes /query follow the GraphQL-over-HTTP spec where gqlgen's transports
// stop short: 405 with Allow for other methods and for mutations over GET, 415 for bodies that
// are not JSON, 406 when the client accepts neither JSON type, 400 for a request that carries
// no query, 200 rather than 422 for request errors under application/json, no `data` entry at
// all on request errors, and an `extensions.code` on every error.
//
// It checks the caller with auth before it reads a byte of the body: a request without a
// valid API key costs its headers and nothing more.
func graphQLOverHTTP(auth authenticator, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Every answer is JSON, its strings' < > & unescaped (rawData): never to be read as HTML.
		w.Header().Set("X-Content-Type-Options", "nosniff")
		switch r.Method {
		case http.MethodGet, http.MethodPost, http.MethodOptions:
		default:
			w.Header().Set("Allow", "GET, POST, OPTIONS")
			refuseBody(w, r)
			writeGraphQLErrorAs(w, mediaJSON, http.StatusMethodNotAllowed, errcode.Validation, "use GET for queries or POST for any operation")
			return
		}
		if r.Method == http.MethodOptions {
			next.ServeHTTP(w, r)
			return
		}
		media, ok := negotiate(r.Header.Get("Accept"))
		if !ok {
			refuseBody(w, r)
			writeGraphQLErrorAs(w, mediaJSON, http.StatusNotAcceptable, errcode.Validation, "accept application/graphql-response+json or application/json")
			return
		}
		if r.Method == http.MethodPost {
			ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
			if err != nil || ct != mediaJSON {
				refuseBody(w, r)
				writeGraphQLErrorAs(w, media, http.StatusUnsupportedMediaType, errcode.Validation, "send the request body as application/json")
				return
			}
		}
		r, ok = auth(w, r, media)
		if !ok {
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		if status, msg := missingQuery(r); msg != "" {
			writeGraphQLErrorAs(w, media, status, errcode.Validation, msg)
			return
		}
		rw := &specWriter{ResponseWriter: w, media: media, get: r.Method == http.MethodGet}
		next.ServeHTTP(rw, r)
		rw.finish()
	})
}

// refuseBody makes the server close the connection after an answer given without reading the
// request body, instead of reading (and discarding) up to 256 KiB of it to reuse the connection.
func refuseBody(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength != 0 {
		w.Header().Set("Connection", "close")
	}
}

// negotiate picks the response media type from Accept; no Accept means application/json.
func negotiate(accept string) (string, bool) {
	if strings.TrimSpace(accept) == "" {
		return mediaJSON, true
	}
	json := false
	for part := range strings.SplitSeq(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil || params["q"] == "0" {
			continue
		}
		switch mt {
		case mediaGraphQLResponse:
			return mediaGraphQLResponse, true
		case mediaJSON, "application/*", "*/*":
			json = true
		}
	}
	return mediaJSON, json
}

// missingQuery reports a request that names no operation at all (neither a query nor a
// persisted-query hash), or whose body is not JSON or too large: a malformed request, not a
// GraphQL error.
func missingQuery(r *http.Request) (int, string) {
	const msg = "the request has no query"
	if r.Method == http.MethodGet {
		q := r.URL.Query()
		if q.Get("query") == "" && !strings.Contains(q.Get("extensions"), "persistedQuery") {
			return http.StatusBadRequest, msg
		}
		return 0, ""
	}
	body, err := io.ReadAll(r.Body)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body is over %d bytes", tooLarge.Limit)
	}
	if err != nil {
		return http.StatusBadRequest, "the request body could not be read"
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	// The shape is checked here, in our words: gqlgen's decoder would name Go types.
	var p map[string]json.RawMessage
	if err := json.Unmarshal(body, &p); err != nil || p == nil {
		return http.StatusBadRequest, "the request body must be a JSON object with a query"
	}
	for name, want := range map[string]byte{"query": '"', "operationName": '"', "variables": '{', "extensions": '{'} {
		v, ok := p[name]
		if !ok || string(v) == "null" {
			continue
		}
		if v[0] != want {
			return http.StatusBadRequest, fmt.Sprintf("%s must be %s", name, map[byte]string{'"': "a string", '{': "a JSON object"}[want])
		}
	}
	var q string
	_ = json.Unmarshal(p["query"], &q)
	if q != "" || hasPersistedQuery(p["extensions"]) {
		return 0, ""
	}
	return http.StatusBadRequest, msg
}

func hasPersistedQuery(ext json.RawMessage) bool {
	var e map[string]json.RawMessage
	_ = json.Unmarshal(ext, &e)
	v, ok := e["persistedQuery"]
	return ok && string(v) != "null"
}

// specWriter fixes status codes and bodies of gqlgen's answers on the way out.
type specWriter struct {
	http.ResponseWriter
	media  string
	get    bool
	status int
	buf    *bytes.Buffer // set while holding back a request-error body
}

func (s *specWriter) WriteHeader(code int) {
	if s.status != 0 {
		return
	}
	s.status = code
	switch {
	case s.get && code == http.StatusNotAcceptable:
		// gqlgen answers a mutation over GET with 406; the spec says 405 and Allow: POST.
		s.status = http.StatusMethodNotAllowed
		s.Header().Set("Allow", "POST")
	case code == http.StatusUnprocessableEntity && s.media == mediaJSON:
		// Under application/json a well-formed request gets 200 whatever its GraphQL errors.
		s.status = http.StatusOK
		s.buf = &bytes.Buffer{}
		return
	}
	if code >= 400 {
		s.buf = &bytes.Buffer{}
		return
	}
	s.ResponseWriter.WriteHeader(s.status)
}

func (s *specWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.WriteHeader(http.StatusOK)
	}
	if s.buf != nil {
		return s.buf.Write(b)
	}
	return s.ResponseWriter.Write(b)
}

func (s *specWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// finish sends a held-back request-error body without its `data` entry (a request error
// means execution never started, and the spec says data must then be absent), and with an
// `extensions.code` on every error, gqlgen's transport errors included.
func (s *specWriter) finish() {
	if s.buf == nil {
		return
	}
	body := s.buf.Bytes()
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) == nil {
		if d, ok := m["data"]; ok && string(d) == "null" {
			delete(m, "data")
		}
		var errs []map[string]any
		if json.Unmarshal(m["errors"], &errs) == nil {
			for _, e := range errs {
				ext, _ := e["extensions"].(map[string]any)
				if ext == nil {
					ext = map[string]any{}
					e["extensions"] = ext
				}
				if _, ok := ext["code"]; !ok {
					ext["code"] = codeForStatus(s.status)
				}
			}
			m["errors"], _ = json.Marshal(errs)
		}
		if b, err := json.Marshal(m); err == nil {
			body = append(b, '\n')
		}
	}
	s.Header().Del("Content-Length")
	s.ResponseWriter.WriteHeader(s.status)
	_, _ = s.ResponseWriter.Write(body)
}

// codeForStatus is the code of an error that came with an HTTP status and no code of its own.
func codeForStatus(status int) errcode.Code {
	switch {
	case status == http.StatusUnauthorized:
		return errcode.Unauthenticated
	case status == http.StatusForbidden:
		return errcode.Forbidden
	case status >= 500:
		return errcode.Internal
	default:
		return errcode.Validation
	}
}

// writeGraphQLErrorAs answers with a GraphQL error body in the negotiated media type.
func writeGraphQLErrorAs(w http.ResponseWriter, media string, status int, code errcode.Code, msg string) {
	w.Header().Set("Content-Type", media)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errors": []map[string]any{{"message": msg, "extensions": map[string]any{"code": code}}},
	})
}
