// Package links prepares the affiliate-network links that gokart redirects clicks to: it tags
// a brand's pasted link with our click-id macro once, at save time, and fills the macro per click,
// so the network echoes our click id back in its postback.
package links

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	lru "github.com/hashicorp/golang-lru/v2"
)

// Macro is the placeholder that AppendClickMacro puts in the link and FillClickID replaces. It is
// kept literally (braces unescaped) so that brands recognise it when they look at a saved link.
const Macro = "{gk_click_id}"

// MaxLinkLength is the longest link a brand may paste, in bytes. Browsers and networks start
// truncating or refusing URLs beyond roughly this size, and a truncated link loses its click id.
const MaxLinkLength = 2048

// LinkError says why a link was refused. Reason is a short phrase meant to be shown to the brand
// after the field's name, e.g. "Tracking link " + Reason.
type LinkError struct{ Reason string }

func (e *LinkError) Error() string { return "tracking link " + e.Reason }

// The link errors, returned as these exact values so callers can match them with errors.Is.
var (
	ErrEmpty         = &LinkError{Reason: "is empty"}
	ErrTooLong       = &LinkError{Reason: fmt.Sprintf("is longer than %d characters", MaxLinkLength)}
	ErrInvalidUTF8   = &LinkError{Reason: "is not valid UTF-8 text"}
	ErrBadCharacters = &LinkError{Reason: "must not contain whitespace or control characters"}
	ErrMalformed     = &LinkError{Reason: "is not a valid URL"}
	ErrNotHTTP       = &LinkError{Reason: "must be an absolute http or https URL"}
	ErrNoHost        = &LinkError{Reason: "must have a host"}
)

// ErrInvalidParam reports a click-id parameter name that is empty or needs escaping. The name
// comes from our own network presets, not from users, so it is deliberately not a *LinkError and
// Reason will not offer it for display.
var ErrInvalidParam = errors.New("tracking: invalid click-id parameter name")

// Reason returns the user-facing reason of a *LinkError anywhere in err's chain, so handlers can
// show it next to the field without knowing the individual errors.
func Reason(err error) (string, bool) {
	var le *LinkError
	if errors.As(err, &le) {
		return le.Reason, true
	}
	return "", false
}

// Validate runs the checks AppendClickMacro applies to a pasted link, so forms can reject a link
// before a network preset is chosen.
func Validate(link string) error {
	if err, ok := validated.Get(link); ok {
		return err
	}
	err := checkLink(link, 0)
	validated.Add(link, err)
	return err
}

// validated remembers Validate's answers for the links seen lately: the click route and every
// offerwall page ask for each offer's link, and the answer depends on the link alone.
var validated, _ = lru.New[string, error](4096)

// AppendClickMacro tags link with param={gk_click_id}. The result is built from link itself rather
// than from a re-encoded url.URL: networks compare signatures and deep links byte for byte, so
// every other parameter, escape and the fragment are kept exactly as pasted. An existing param
// (exact, case-sensitive name, also when percent-encoded) has its first occurrence replaced in
// place and its duplicates dropped, because networks read the first value; empty "&&" segments
// are dropped too. Applying it to its own result changes nothing.
func AppendClickMacro(link, param string) (string, error) {
	if !validParam(param) {
		return "", fmt.Errorf("%w %q: want a non-empty name made of A-Z a-z 0-9 _ . ~ -", ErrInvalidParam, param)
	}
	rest, frag := link, ""
	if i := strings.IndexByte(link, '#'); i >= 0 {
		rest, frag = link[:i], link[i:]
	}
	base, query, _ := strings.Cut(rest, "?")
	tagged := param + "=" + Macro

	// Our own tag does not count towards the length limit; otherwise a link of exactly
	// MaxLinkLength would be accepted once and refused when tagged again.
	uncounted := 0
	if query != "" {
		for seg := range strings.SplitSeq(query, "&") {
			if seg == tagged {
				uncounted += len(seg) + 1
			}
		}
	}
	if err := checkLink(link, uncounted); err != nil {
		return "", err
	}

	var b strings.Builder
	b.Grow(len(link) + len(tagged) + 1)
	b.WriteString(base)
	sep, found := byte('?'), false
	if query != "" {
		for seg := range strings.SplitSeq(query, "&") {
			if seg == "" {
				continue
			}
			if isParam(seg, param) {
				if found {
					continue
				}
				seg, found = tagged, true
			}
			b.WriteByte(sep)
			b.WriteString(seg)
			sep = '&'
		}
	}
	if !found {
		b.WriteByte(sep)
		b.WriteString(tagged)
	}
	b.WriteString(frag)
	return b.String(), nil
}

// FillClickID puts a minted click id into a link prepared by AppendClickMacro. Ids are URL-safe
// already; escaping anyway means a future id format cannot break out of its parameter.
func FillClickID(template, clickID string) string {
	return strings.ReplaceAll(template, Macro, url.QueryEscape(clickID))
}

// checkLink validates link, ignoring uncounted bytes for the length limit.
func checkLink(link string, uncounted int) error {
	switch {
	case link == "":
		return ErrEmpty
	case len(link)-uncounted > MaxLinkLength:
		return ErrTooLong
	case !utf8.ValidString(link):
		// Links are stored in text columns, which refuse invalid UTF-8.
		return ErrInvalidUTF8
	case strings.IndexFunc(link, badRune) >= 0:
		// Rejected rather than trimmed: a stray space or an invisible character pasted from a
		// document usually means the link was copied wrongly, and it would break the redirect.
		return ErrBadCharacters
	}
	u, err := url.Parse(link)
	switch {
	case err != nil:
		return ErrMalformed
	case u.Scheme != "http" && u.Scheme != "https": // url.Parse lowercases the scheme
		return ErrNotHTTP
	case u.Opaque != "" || u.Hostname() == "":
		return ErrNoHost
	}
	return nil
}

// badRune matches whitespace, control characters and invisible format characters (zero-width
// spaces, byte-order marks, bidi overrides), which can hide what a link really points to.
func badRune(r rune) bool {
	return unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r)
}

// validParam accepts names that need no escaping in a query, so the tag can be written verbatim.
func validParam(p string) bool {
	if p == "" {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '~' || c == '-') {
			return false
		}
	}
	return true
}

// isParam reports whether the raw query segment seg sets param. Names are compared after
// percent-decoding because that is how networks read them: "sub%69d1=x" is subid1 to them.
func isParam(seg, param string) bool {
	name, _, _ := strings.Cut(seg, "=")
	if name == param {
		return true
	}
	if !strings.Contains(name, "%") {
		return false
	}
	n, err := url.QueryUnescape(name)
	return err == nil && n == param
}
