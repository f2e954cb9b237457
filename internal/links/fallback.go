package links

import "net/url"

// IsAbsoluteHTTP reports whether s is an absolute http or https URL with a host: what a
// website, an image or a fallback may be.
func IsAbsoluteHTTP(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// WithReason is a fallback URL with reason=<rule> set: where a refused click sends the member,
// telling the page why. Other parameters, their order and the fragment are kept.
func WithReason(fallback, rule string) string {
	u, err := url.Parse(fallback)
	if err != nil {
		return fallback
	}
	q := u.Query()
	q.Del("reason")
	enc := q.Encode()
	if enc != "" {
		enc += "&"
	}
	u.RawQuery = enc + "reason=" + url.QueryEscape(rule)
	return u.String()
}
