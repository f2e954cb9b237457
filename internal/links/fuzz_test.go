package links

import (
	"errors"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// badChars is an oracle for badRune written independently of it: Unicode White_Space is Z plus
// a few Cc characters, so "other, control", "other, format" and separators cover it.
var badChars = regexp.MustCompile(`[\p{Cc}\p{Cf}\p{Z}]`)

var safeParam = regexp.MustCompile(`^[A-Za-z0-9_.~-]+$`)

// FuzzAppendClickMacro checks the properties offers rely on: a link that is accepted is tagged
// exactly once and otherwise unchanged in substance, and a refused link really broke a rule.
// The seed corpus in testdata/fuzz/FuzzAppendClickMacro holds real-looking network links.
func FuzzAppendClickMacro(f *testing.F) {
	for _, s := range []struct{ link, param string }{
		{impactTarget, "subid1"},
		{impactBare, "subid1"},
		{impactDeep, "subid1"},
		{everflow, "sub1"},
		{tune, "aff_sub"},
		{"https://brand.sjv.io/c/1/2/3?subid1=a&subid1=b#frag?x&y", "subid1"},
		{"https://bücher.example/x?", "subid1"},
		{"http://localhost:8080/x?&&", "sub1"},
		{"https://www.abcdtrk.com/ABC123/?sub%31=x&sub1=y", "sub1"},
		{"http:///path", "subid1"},
		{"javascript:alert(1)", "subid1"},
		{" https://brand.sjv.io/c/1/2/3", "subid1"},
	} {
		f.Add(s.link, s.param)
	}
	f.Fuzz(func(t *testing.T, link, param string) {
		out, err := AppendClickMacro(link, param)
		if err != nil {
			checkRefusal(t, link, param, err)
			return
		}
		if !safeParam.MatchString(param) {
			t.Fatalf("accepted param %q", param)
		}
		tagged := param + "=" + Macro

		if again, err := AppendClickMacro(out, param); err != nil || again != out {
			t.Fatalf("not idempotent:\n once  %q\n twice %q, %v", out, again, err)
		}

		if bound := MaxLinkLength + len(param) + len(Macro) + 2; len(out) > bound {
			t.Fatalf("output has %d bytes, more than %d", len(out), bound)
		}

		// The link up to its query, which holds scheme and host, is kept byte for byte.
		prefix, _, _ := strings.Cut(link, "#")
		prefix, _, _ = strings.Cut(prefix, "?")
		if !strings.HasPrefix(out, prefix+"?") {
			t.Fatalf("output %q does not start with %q", out, prefix+"?")
		}
		if i := strings.Index(link, "://"); i < 0 {
			t.Fatalf("accepted %q without ://", link)
		} else if host := link[:i+3+strings.IndexAny(link[i+3:]+"/", "/?#")]; !strings.HasPrefix(out, host) {
			t.Fatalf("output %q does not start with scheme and host %q", out, host)
		}

		// The fragment is kept at the end.
		if i := strings.IndexByte(link, '#'); i >= 0 && !strings.HasSuffix(out, link[i:]) {
			t.Fatalf("output %q lost fragment %q", out, link[i:])
		}

		// Exactly one parameter is ours, under any spelling networks would decode to param.
		rest, _, _ := strings.Cut(out, "#")
		_, query, _ := strings.Cut(rest, "?")
		ours, exact := 0, 0
		for seg := range strings.SplitSeq(query, "&") {
			if seg == "" {
				t.Fatalf("output %q has an empty query segment", out)
			}
			if setsParam(seg, param) {
				ours++
			}
			if seg == tagged {
				exact++
			}
		}
		if ours != 1 || exact != 1 {
			t.Fatalf("output %q has %d %s parameters, %d of them %q", out, ours, param, exact, tagged)
		}

		// Every other parameter survives unchanged and in order.
		var before, after []string
		_, origQuery, _ := strings.Cut(prefixQuery(link), "?")
		for seg := range strings.SplitSeq(origQuery, "&") {
			if seg != "" && !setsParam(seg, param) {
				before = append(before, seg)
			}
		}
		for seg := range strings.SplitSeq(query, "&") {
			if seg != tagged {
				after = append(after, seg)
			}
		}
		if strings.Join(before, "&") != strings.Join(after, "&") {
			t.Fatalf("other parameters changed:\n in  %q\n out %q", before, after)
		}

		u, err := url.Parse(out)
		if err != nil {
			t.Fatalf("url.Parse(%q): %v", out, err)
		}
		orig, _ := url.Parse(link)
		if u.Scheme != orig.Scheme || u.Host != orig.Host || u.EscapedPath() != orig.EscapedPath() || u.EscapedFragment() != orig.EscapedFragment() {
			t.Fatalf("url parts changed: %q -> %q", link, out)
		}

		if filled := FillClickID(out, "ck_1"); !strings.Contains(filled, param+"=ck_1") {
			t.Fatalf("FillClickID(%q) = %q", out, filled)
		}
	})
}

// setsParam is the test's own reading of a query segment, as a network would decode it.
func setsParam(seg, param string) bool {
	name, _, _ := strings.Cut(seg, "=")
	dec, err := url.QueryUnescape(name)
	return name == param || err == nil && dec == param
}

// prefixQuery returns link without its fragment.
func prefixQuery(link string) string {
	s, _, _ := strings.Cut(link, "#")
	return s
}

// checkRefusal fails unless err names a rule that link or param really breaks.
func checkRefusal(t *testing.T, link, param string, err error) {
	t.Helper()
	if errors.Is(err, ErrInvalidParam) {
		if safeParam.MatchString(param) {
			t.Fatalf("refused valid param %q: %v", param, err)
		}
		return
	}
	if !safeParam.MatchString(param) {
		t.Fatalf("bad param %q not reported, got %v", param, err)
	}
	u, perr := url.Parse(link)
	var broken bool
	switch err {
	case ErrEmpty:
		broken = link == ""
	case ErrTooLong:
		broken = len(link) > MaxLinkLength
	case ErrInvalidUTF8:
		broken = !utf8.ValidString(link)
	case ErrBadCharacters:
		broken = badChars.MatchString(link)
	case ErrMalformed:
		broken = perr != nil
	case ErrNotHTTP:
		broken = perr == nil && !strings.EqualFold(u.Scheme, "http") && !strings.EqualFold(u.Scheme, "https")
	case ErrNoHost:
		broken = perr == nil && u.Hostname() == ""
	default:
		t.Fatalf("unexpected error %v for %q", err, link)
	}
	if !broken {
		t.Fatalf("AppendClickMacro(%q, %q) refused with %q, but the link does not break that rule", link, param, err)
	}
	if Validate(link) == nil {
		t.Fatalf("Validate(%q) accepted a link AppendClickMacro refused with %v", link, err)
	}
}
