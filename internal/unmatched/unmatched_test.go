package unmatched

import "testing"

func TestSourceGroupsAnIPv6SubscriberByItsSlash64(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{"203.0.113.9", "203.0.113.9"},
		{"2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"},
		{"::ffff:203.0.113.9", "::ffff:203.0.113.9"},
		{"not an address", "not an address"},
	} {
		if got := Source(c.in); got != c.want {
			t.Errorf("Source(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
