package httpapi

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gokart/gokart/ent/postbacklog"
	"github.com/gokart/gokart/internal/accounts"
	"github.com/gokart/gokart/internal/bulk"
	"github.com/gokart/gokart/internal/errcode"
	"github.com/gokart/gokart/internal/lifecycle"
	"github.com/gokart/gokart/internal/postback"
	"github.com/gokart/gokart/internal/storage"
)

// StreamTimeout bounds the streamed CSV routes (/export/, /import/), which are not buffered
// like the other routes (deadline.go): a million rows take seconds, not the 10 s of a query.
const StreamTimeout = 10 * time.Minute

// mountCSV mounts the CSV export and import, authenticated by an API key like /query.
func mountCSV(mux *http.ServeMux, db *storage.DB, log *slog.Logger) {
	mux.HandleFunc("GET /export/conversions.csv", func(w http.ResponseWriter, r *http.Request) {
		serveExport(w, r, db, log, "conversions", func(accountID int, out http.ResponseWriter, flush func()) (int, error) {
			f, err := exportFilter(r)
			if err == nil {
				f.AccountID = accountID
				err = f.Normalize(time.Now())
			}
			if err != nil {
				return 0, err
			}
			return bulk.ExportConversions(r.Context(), db.SQL, f, out, flush)
		})
	})
	mux.HandleFunc("GET /export/postback-logs.csv", func(w http.ResponseWriter, r *http.Request) {
		serveExport(w, r, db, log, "postback-logs", func(accountID int, out http.ResponseWriter, flush func()) (int, error) {
			var f bulk.LogExportFilter
			err := exportRange(r, &f.From, &f.To, &f.After, &f.Limit)
			for _, o := range listParam(r, "outcome") {
				f.Outcomes = append(f.Outcomes, postbacklog.Outcome(o))
			}
			if err == nil {
				f.AccountID = accountID
				err = f.Normalize(time.Now())
			}
			if err != nil {
				return 0, err
			}
			return bulk.ExportPostbackLogs(r.Context(), db.SQL, f, out, flush)
		})
	})
}

// serveExport authenticates the API key and streams one CSV export: export checks its
// parameters (an errcode error before any row is a 400) and writes the rows.
func serveExport(w http.ResponseWriter, r *http.Request, db *storage.DB, log *slog.Logger, name string,
	export func(accountID int, w http.ResponseWriter, flush func()) (int, error)) {
	accountID, ok := csvCaller(w, r, db, log)
	if !ok {
		return
	}
	extendWriteDeadline(w)
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
	h.Set("Cache-Control", "no-store")
	flusher, _ := w.(http.Flusher)
	n, err := export(accountID, w, func() {
		if flusher != nil {
			flusher.Flush()
		}
	})
	if e, ok := errcode.As(err); ok && n == 0 {
		// A bad parameter, checked before any row (the CSV header is still in the CSV
		// writer's buffer): a 400.
		h.Del("Content-Disposition")
		writeText(w, http.StatusBadRequest, e.Error())
		return
	}
	if err != nil {
		// The status is sent; cutting the response short tells the client it is incomplete.
		log.ErrorContext(r.Context(), "export "+name, "rows", n, "err", err)
		panic(http.ErrAbortHandler)
	}
}

// mountImport mounts POST /import/conversion-statuses and POST /import/conversions.
func mountImport(mux *http.ServeMux, db *storage.DB, log *slog.Logger) {
	// Its own postback service: lines of an import are postbacks of the account's key.
	pb := &postback.Service{Client: db.Client, Dialect: db.Dialect, Log: log}
	mux.HandleFunc("POST /import/conversions", func(w http.ResponseWriter, r *http.Request) {
		accountID, ok := csvCaller(w, r, db, log)
		if !ok {
			return
		}
		if r.ContentLength > bulk.MaxImportBytes {
			writeText(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body may be at most %d bytes; split the file", bulk.MaxImportBytes))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, bulk.MaxImportBytes)
		rc := http.NewResponseController(w)
		_ = rc.EnableFullDuplex()
		_ = rc.SetReadDeadline(time.Now().Add(StreamTimeout))
		extendWriteDeadline(w)
		var pending bytes.Buffer
		started := false
		out := &lazyWriter{w: w, pending: &pending, start: func() {
			started = true
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
		}}
		sum, err := bulk.ImportConversions(r.Context(), pb, accountID, r.Body, out, func() {
			out.flush()
			_ = rc.Flush()
		}, time.Now)
		if e, ok := errcode.As(err); ok && !started {
			writeText(w, http.StatusBadRequest, e.Error())
			return
		}
		if err != nil {
			log.ErrorContext(r.Context(), "import conversions", "err", err)
			if !started {
				writeText(w, http.StatusServiceUnavailable, "import failed; lines before it are applied, retry the file (applied lines answer DUPLICATE)")
				return
			}
			panic(http.ErrAbortHandler)
		}
		out.flush()
		log.InfoContext(r.Context(), "import conversions", "account", accountID, "accepted", sum.Accepted, "duplicate", sum.Duplicate, "updated", sum.Updated, "failed", sum.Failed)
	})
	mux.HandleFunc("POST /import/conversion-statuses", func(w http.ResponseWriter, r *http.Request) {
		accountID, ok := csvCaller(w, r, db, log)
		if !ok {
			return
		}
		if r.ContentLength > bulk.MaxImportBytes {
			writeText(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body may be at most %d bytes; split the file", bulk.MaxImportBytes))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, bulk.MaxImportBytes)
		rc := http.NewResponseController(w)
		// Result lines go out while the body is still being read.
		_ = rc.EnableFullDuplex()
		_ = rc.SetReadDeadline(time.Now().Add(StreamTimeout))
		extendWriteDeadline(w)
		var pending bytes.Buffer // the header row, until the body's header is known to be good
		started := false
		out := &lazyWriter{w: w, pending: &pending, start: func() {
			started = true
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
		}}
		sum, err := bulk.ImportStatuses(r.Context(), db.Client, db.Dialect, accountID, r.Body, out, func() {
			out.flush()
			_ = rc.Flush()
		})
		if e, ok := errcode.As(err); ok && !started && sum == (bulk.ImportSummary{}) {
			writeText(w, http.StatusBadRequest, e.Error())
			return
		}
		if err != nil {
			log.ErrorContext(r.Context(), "import conversion statuses", "err", err)
			if !started {
				writeText(w, http.StatusServiceUnavailable, "import failed; lines before it are applied, retry the file")
				return
			}
			panic(http.ErrAbortHandler)
		}
		out.flush()
		log.InfoContext(r.Context(), "import conversion statuses", "account", accountID, "changed", sum.Changed, "unchanged", sum.Unchanged, "failed", sum.Failed)
	})
}

// lazyWriter holds what is written until the first flush, so that a refused header can still
// answer 400 instead of a CSV.
type lazyWriter struct {
	w       http.ResponseWriter
	pending *bytes.Buffer
	start   func()
	live    bool
}

func (l *lazyWriter) Write(p []byte) (int, error) {
	if l.live {
		return l.w.Write(p)
	}
	return l.pending.Write(p)
}

func (l *lazyWriter) flush() {
	if !l.live {
		l.live = true
		l.start()
		_, _ = l.w.Write(l.pending.Bytes())
		l.pending.Reset()
	}
}

// csvCaller authenticates the API key; a publishable key may not export or import.
func csvCaller(w http.ResponseWriter, r *http.Request, db *storage.DB, log *slog.Logger) (int, bool) {
	key, ok := accounts.BearerToken(r)
	if !ok {
		writeText(w, http.StatusUnauthorized, accounts.ErrUnauthenticated.Error())
		return 0, false
	}
	caller, err := accounts.AuthenticateKey(r.Context(), db.Client, key)
	if errors.Is(err, accounts.ErrUnauthenticated) {
		writeText(w, http.StatusUnauthorized, err.Error())
		return 0, false
	}
	if err != nil {
		log.ErrorContext(r.Context(), "authenticate API key", "err", err)
		writeText(w, http.StatusServiceUnavailable, "cannot check the API key right now; retry")
		return 0, false
	}
	if caller.Publishable {
		writeText(w, http.StatusForbidden, "a publishable key may call the offerwall feed only")
		return 0, false
	}
	return caller.AccountID, true
}

// exportFilter reads the query: from, to (RFC 3339), status (comma-separated or repeated),
// offer (id), after (id), limit.
func exportFilter(r *http.Request) (bulk.ExportFilter, error) {
	var f bulk.ExportFilter
	if err := exportRange(r, &f.From, &f.To, &f.After, &f.Limit); err != nil {
		return f, err
	}
	for _, s := range listParam(r, "status") {
		f.Statuses = append(f.Statuses, lifecycle.Status(s))
	}
	if v := r.URL.Query().Get("offer"); v != "" {
		id, err := strconv.Atoi(v)
		if err != nil || id <= 0 {
			return f, errcode.Invalid("offer", "must be an id")
		}
		f.OfferID = id
	}
	return f, nil
}

// exportRange reads the query parameters every export has: from, to (RFC 3339), after (an
// id), limit.
func exportRange(r *http.Request, from, to *time.Time, after, limit *int) error {
	q := r.URL.Query()
	for _, p := range []struct {
		name string
		into *time.Time
	}{{"from", from}, {"to", to}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return errcode.Invalid(p.name, "must be an RFC 3339 time such as 2026-12-01T00:00:00Z")
			}
			*p.into = t
		}
	}
	if v := q.Get("after"); v != "" {
		id, err := strconv.Atoi(v)
		if err != nil || id <= 0 {
			return errcode.Invalid("after", "must be an id")
		}
		*after = id
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return errcode.Invalid("limit", "must be between 1 and %d", bulk.MaxExportRows)
		}
		*limit = n
	}
	return nil
}

// listParam is a comma-separated or repeated query parameter's values, upper-cased.
func listParam(r *http.Request, name string) []string {
	var out []string
	for _, v := range r.URL.Query()[name] {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, strings.ToUpper(s))
			}
		}
	}
	return out
}

// extendWriteDeadline lifts the server's WriteTimeout for a streamed response.
func extendWriteDeadline(w http.ResponseWriter) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(StreamTimeout))
}

// streamed says whether a path is a streamed CSV route.
func streamed(path string) bool {
	return strings.HasPrefix(path, "/export/") || strings.HasPrefix(path, "/import/")
}
