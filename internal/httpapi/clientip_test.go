package httpapi

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientIPBelievesForwardedForOnlyFromTrustedProxies(t *testing.T) {
	t.Parallel()
	lb := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	cases := []struct {
		name, peer, xff string
		trusted         []netip.Prefix
		want            string
	}{
		{"no proxies configured: the peer, whatever the header says", "203.0.113.7:5555", "198.51.100.1", nil, "203.0.113.7"},
		{"an untrusted peer cannot forge its address", "203.0.113.7:5555", "198.51.100.1", lb, "203.0.113.7"},
		{"behind the load balancer: the client it saw", "10.1.2.3:5555", "198.51.100.1", lb, "198.51.100.1"},
		{"a forged left-most hop is ignored", "10.1.2.3:5555", "6.6.6.6, 198.51.100.1", lb, "198.51.100.1"},
		{"chained trusted proxies are skipped", "10.1.2.3:5555", "198.51.100.1, 10.9.9.9", lb, "198.51.100.1"},
		{"no header from the proxy: the proxy", "10.1.2.3:5555", "", lb, "10.1.2.3"},
		{"a garbled hop stops the walk", "10.1.2.3:5555", "198.51.100.1, junk", lb, "10.1.2.3"},
		{"IPv6 clients", "[::ffff:10.0.0.1]:5555", "2001:db8::1", lb, "2001:db8::1"},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/postback", nil)
		r.RemoteAddr = c.peer
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if got := clientIP(r, c.trusted); got != c.want {
			t.Errorf("%s: clientIP = %s, want %s", c.name, got, c.want)
		}
	}
}
