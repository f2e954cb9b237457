package httpapi

import (
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/gokart/gokart/internal/clicks"
	"github.com/gokart/gokart/internal/errcode"
	"github.com/gokart/gokart/internal/postback"
	"github.com/gokart/gokart/internal/storage"
)

// mountTracking adds the routes members' browsers and networks call: the click redirect and
// the postback. Both are public: the click needs no key, the postback carries its own.
func mountTracking(mux *http.ServeMux, db *storage.DB, log *slog.Logger, trusted []netip.Prefix) {
	pb := &postback.Service{Client: db.Client, Dialect: db.Dialect, Log: log}
	rec := &clicks.Recorder{Client: db.Client, Dialect: db.Dialect}
	mux.HandleFunc("GET /click/{offer}", func(w http.ResponseWriter, r *http.Request) {
		c, err := rec.Record(r.Context(), clicks.Request{
			OfferID: r.PathValue("offer"), Query: r.URL.Query(),
			IP: clientIP(r, trusted), UserAgent: r.UserAgent(),
		})
		if refusal, ok := errcode.AsRefusal(err); ok {
			if refusal.Redirect != "" {
				w.Header().Set("Cache-Control", "no-store")
				w.Header().Set("Referrer-Policy", "no-referrer")
				http.Redirect(w, r, refusal.Redirect, http.StatusFound)
				return
			}
			writeText(w, refusal.Status, refusal.Error())
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
		resp := pb.Handle(r.Context(), postback.Request{RawQuery: r.URL.RawQuery, SourceIP: clientIP(r, trusted)})
		w.Header().Set("Cache-Control", "no-store")
		writeText(w, resp.Status, resp.Body)
	})
}

// clientIP is the address of whoever sent the request: the peer, unless the peer is one of our
// trusted proxies, in which case the nearest address in X-Forwarded-For that is not a trusted
// proxy (read from the right: everything left of it could be forged by the client). Without
// trusted proxies no header is believed, so the postback allowlist cannot be bypassed by one.
func clientIP(r *http.Request, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !isTrusted(peer, trusted) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // a garbled hop: stop at the last address we could trust
		}
		if !isTrusted(a, trusted) {
			return a.String()
		}
		peer = a
	}
	return peer.String()
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a.Unmap()) {
			return true
		}
	}
	return false
}
