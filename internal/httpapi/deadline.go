package httpapi

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gokart/gokart/internal/errcode"
)

// Default deadlines, for Options that leave them zero.
const (
	DefaultGraphQLTimeout  = 10 * time.Second
	DefaultTrackingTimeout = 5 * time.Second
	// otherTimeout bounds everything else: health checks, metrics, the playground.
	otherTimeout = 10 * time.Second
)

// withDeadlines gives every request a deadline: GraphQL, then click and postback, then the rest.
// The request's context ends at the deadline, which cancels its database calls (the storage
// layer aborts a call the database does not answer), and whatever the handler has not answered
// by then is answered 503 with Retry-After: a handler that does not stop in time (the postback
// finishes or rolls back its transaction on its own clock) is cut off from its client, never
// left holding it. The response is buffered until the handler returns, so the client sees
// either the whole answer or the 503.
//
// The CSV routes (/export/, /import/) stream instead: they get StreamTimeout and no buffer.
//
// The wrapped mux's pattern is copied to the request so that the request log and metrics,
// outside this handler, still name the route.
func withDeadlines(mux *http.ServeMux, graphQL, tracking time.Duration, next http.Handler) http.Handler {
	if graphQL <= 0 {
		graphQL = DefaultGraphQLTimeout
	}
	if tracking <= 0 {
		tracking = DefaultTrackingTimeout
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, r.Pattern = mux.Handler(r)
		if streamed(r.URL.Path) {
			// Streamed CSV: rows go out as they are read, so nothing is buffered here; the
			// handler answers its own errors before the first row.
			ctx, cancel := context.WithTimeout(r.Context(), StreamTimeout)
			defer cancel()
			next.ServeHTTP(w, r.WithContext(ctx))
			return
		}
		limit := otherTimeout
		switch p := r.URL.Path; {
		case p == "/query":
			limit = graphQL
		case p == "/postback", strings.HasPrefix(p, "/click/"):
			limit = tracking
		}
		ctx, cancel := context.WithTimeout(r.Context(), limit)
		defer cancel()
		bw := &bufferedWriter{header: http.Header{}, body: bodies.Get().(*bytes.Buffer)}
		done := make(chan any, 1)
		handlers.run(func() {
			defer func() {
				p := recover()
				bw.finish()
				done <- p
			}()
			next.ServeHTTP(bw, r.WithContext(ctx))
		})
		select {
		case p := <-done:
			if p != nil {
				panic(p) // observe turns it into a 500, as for any handler
			}
			bw.flushTo(w)
			bw.recycle()
		case <-ctx.Done():
			if !bw.expire() {
				// The handler returned just as the deadline passed: its answer stands.
				if p := <-done; p != nil {
					panic(p)
				}
				bw.flushTo(w)
				bw.recycle()
				return
			}
			w.Header().Set("Retry-After", "1")
			w.Header().Set("Cache-Control", "no-store")
			if r.URL.Path == "/query" {
				media, ok := negotiate(r.Header.Get("Accept"))
				if !ok {
					media = mediaJSON
				}
				writeGraphQLErrorAs(w, media, http.StatusServiceUnavailable, errcode.Internal, "the request took too long; retry")
				return
			}
			writeText(w, http.StatusServiceUnavailable, "timed out, retry later")
		}
	})
}

// bufferedWriter holds a handler's answer until it returns; after expire, writes are dropped.
type bufferedWriter struct {
	mu       sync.Mutex
	header   http.Header
	status   int
	body     *bytes.Buffer // from bodies
	finished bool          // the handler returned, or the deadline passed first (expired)
	expired  bool
}

func (b *bufferedWriter) Header() http.Header { return b.header }

func (b *bufferedWriter) WriteHeader(code int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.status == 0 && !b.expired {
		b.status = code
	}
}

func (b *bufferedWriter) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.expired {
		return 0, http.ErrHandlerTimeout
	}
	if b.finished {
		return 0, errWriteAfterReturn // its body may be recycled already
	}
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

// expire marks the answer as too late; false when the handler had returned already.
func (b *bufferedWriter) expire() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.finished {
		return false
	}
	b.finished, b.expired = true, true
	return true
}

// finish marks the handler as returned.
func (b *bufferedWriter) finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.finished = true
}

func (b *bufferedWriter) flushTo(w http.ResponseWriter) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k, v := range b.header {
		w.Header()[k] = v
	}
	if b.status == 0 {
		b.status = http.StatusOK
	}
	if b.status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", "1") // a database call that failed at the deadline, say
	}
	w.WriteHeader(b.status)
	_, _ = w.Write(b.body.Bytes())
}

// bodies are the buffers of answers written: a page of offer cards is some 25 KB, and a new
// buffer for each, grown by doubling, was a quarter of the feed's allocations.
var bodies = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxRecycled bounds the buffers kept for reuse: a rare large answer is not held on to.
const maxRecycled = 256 << 10

// recycle gives the body back to bodies once it has been written out and the handler has
// returned (never after expire, when the handler may still hold it).
func (b *bufferedWriter) recycle() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.body.Cap() > maxRecycled {
		return
	}
	b.body.Reset()
	bodies.Put(b.body)
	b.body = nil
}

var errWriteAfterReturn = errors.New("write to an answer after its handler returned")
