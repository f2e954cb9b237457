package callbacks_test

import (
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gokart/gokart/internal/callbacks"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/storage"
)

func TestTheGuardRefusesLoopbackPrivateLinkLocalAndMetadataAddresses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		addr    string
		refused bool
	}{
		{"127.0.0.1", true}, {"127.1.2.3", true}, {"::1", true}, {"10.1.2.3", true}, {"172.16.0.1", true},
		{"192.168.1.1", true}, {"169.254.169.254", true}, {"fe80::1", true}, {"fd00:ec2::254", true},
		{"::ffff:127.0.0.1", true}, {"::ffff:10.0.0.1", true}, {"0.0.0.0", true}, {"100.64.0.1", true}, {"::", true},
		{"8.8.8.8", false}, {"1.1.1.1", false}, {"2606:4700:4700::1111", false}, {"172.32.0.1", false},
	} {
		err := callbacks.CheckAddress(netip.MustParseAddr(tc.addr))
		if (err != nil) != tc.refused {
			t.Errorf("%s: refused=%v, want %v (%v)", tc.addr, err != nil, tc.refused, err)
		}
	}
}

func TestSendsRefusePrivateDestinationsAndFollowNoRedirects(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		f := newFixture(t, db)
		rc := newReceiver(t, nil)
		port := rc.Listener.Addr().(interface{ String() string }).String()
		port = port[strings.LastIndex(port, ":"):]
		// By address and by a name that resolves to loopback: the check is on the connection.
		f.endpoint(t, map[string]any{"url": rc.URL + "/by-ip"})
		f.endpoint(t, map[string]any{"url": "http://localhost" + port + "/by-name", "format": "GET_TEMPLATE"})
		f.postback(t, f.click(t, url.Values{"pub_member_id": {"m"}}), "X-1", "approved", http.StatusOK)
		w := callbacks.NewWorker(db, callbacks.Options{AllowPrivate: false})
		drain(t, w)
		if got := rc.requests(); len(got) != 0 {
			t.Fatalf("the guard let %d requests through to loopback", len(got))
		}
		for _, d := range f.deliveries(t, nil) {
			if d.Status != "FAILED" || !strings.Contains(d.LastError, "not a public address") {
				t.Errorf("delivery %+v: want FAILED as refused", d)
			}
		}

		// With private addresses allowed, a redirect is an answer, not a hop.
		target := newReceiver(t, nil)
		redirector := newReceiver(t, func(_ int, w http.ResponseWriter) {
			w.Header().Set("Location", target.URL)
			w.WriteHeader(http.StatusFound)
		})
		f.endpoint(t, map[string]any{"url": redirector.URL})
		f.postback(t, f.click(t, url.Values{"pub_member_id": {"m2"}}), "X-2", "approved", http.StatusOK)
		drain(t, callbacks.NewWorker(db, callbacks.Options{AllowPrivate: true, Clock: func() time.Time { return time.Now() }}))
		if len(redirector.requests()) != 1 || len(target.requests()) != 0 {
			t.Fatalf("redirect: redirector %d, target %d requests", len(redirector.requests()), len(target.requests()))
		}
	})
}

func TestEndpointsMustBeHTTPURLs(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		f := newFixture(t, db)
		for _, u := range []string{"ftp://example.com/x", "file:///etc/passwd", "gopher://example.com", "/relative", "http://user:pw@example.com/"} {
			r := f.srv.GraphQL(t, f.keys.APIKey, `mutation($in: CreateCallbackEndpointInput!) { createCallbackEndpoint(input: $in) { id } }`,
				map[string]any{"in": map[string]any{"url": u}})
			if len(r.Errors) != 1 || r.Errors[0].Code() != "VALIDATION" || r.Errors[0].Field() != "url" {
				t.Errorf("%s: %+v", u, r.Errors)
			}
		}
		r := f.srv.GraphQL(t, f.keys.APIKey, `mutation($in: CreateCallbackEndpointInput!) { createCallbackEndpoint(input: $in) { id } }`,
			map[string]any{"in": map[string]any{"url": "https://example.com", "headerName": "webhook-signature", "headerValue": "x"}})
		if len(r.Errors) != 1 || r.Errors[0].Field() != "headerName" {
			t.Errorf("reserved header: %+v", r.Errors)
		}
	})
}
