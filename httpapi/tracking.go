package httpapi

import (
	"log/slog"
	"net"
	"net/http"

	"github.com/gokart/gokart/budget"
	"github.com/gokart/gokart/clicks"
	"github.com/gokart/gokart/postback"
	"github.com/gokart/gokart/storage"
)

// mountTracking adds the routes members' browsers and networks call: the click redirect and
// the postback. Both are public: the click needs no key, the postback carries its own.
func mountTracking(mux *http.ServeMux, db *storage.DB, log *slog.Logger) {
	pb := &postback.Service{Client: db.Client, Dialect: db.Dialect, Log: log}
	rec := &clicks.Recorder{Client: db.Client}
	mux.HandleFunc("GET /click/{offer}", func(w http.ResponseWriter, r *http.Request) {
		c, err := rec.Record(budget.WithDialect(r.Context(), db.Dialect), clicks.Request{
			OfferID: r.PathValue("offer"), Query: r.URL.Query(),
			IP: remoteIP(r), UserAgent: r.UserAgent(),
		})
		if refusal, ok := clicks.AsRefusal(err); ok {
			writeText(w, refusal.Status, refusal.Reason)
			return
		}
		if err != nil {
			log.ErrorContext(r.Context(), "record click", "err", err)
			writeText(w, http.StatusServiceUnavailable, "temporarily unavailable, retry later")
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Referrer-Policy", "no-referrer")
		w.Header().Set("Location", c.Location)
		w.WriteHeader(http.StatusFound)
	})
	mux.HandleFunc("GET /postback", func(w http.ResponseWriter, r *http.Request) {
		resp := pb.Handle(r.Context(), postback.Request{RawQuery: r.URL.RawQuery, SourceIP: remoteIP(r)})
		w.Header().Set("Cache-Control", "no-store")
		writeText(w, resp.Status, resp.Body)
	})
}

// remoteIP is the peer's address. Forwarded headers are not trusted: the postback allowlist
// must not be bypassable by a header.
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
