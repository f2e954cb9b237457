package links

import (
	"errors"
	"strings"
	"testing"
)

// Real-looking network links used across the tests.
const (
	impactTarget = "https://goto.target.com/c/123456/81938/2092?subId1=x&u=https%3A%2F%2Fwww.target.com%2F"
	impactBare   = "https://brand.sjv.io/c/1/2/3"
	impactDeep   = "https://brand.sjv.io/c/123/456/789?u=https%3A%2F%2Fshop.example%2F"
	everflow     = "https://www.abcdtrk.com/ABC123/DEF456/?sub1=old&source_id=x"
	tune         = "https://example.go2cloud.org/aff_c?offer_id=1&aff_id=2"
)

func TestAppendClickMacro(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		link  string
		param string
		want  string
	}{
		// Appending.
		{"an Impact link without a query gets the macro after a question mark",
			impactBare, "subid1", impactBare + "?subid1={gk_click_id}"},
		{"an Impact deep link gets the macro after an ampersand and keeps the encoded deep link",
			impactDeep, "subid1", impactDeep + "&subid1={gk_click_id}"},
		{"a TUNE link keeps its offer and affiliate ids in order",
			tune, "aff_sub", tune + "&aff_sub={gk_click_id}"},
		{"a link ending in a question mark does not get a question mark and an ampersand",
			"https://brand.sjv.io/c/1/2/3?", "subid1", "https://brand.sjv.io/c/1/2/3?subid1={gk_click_id}"},
		{"a link ending in an ampersand does not get a double ampersand",
			tune + "&", "aff_sub", tune + "&aff_sub={gk_click_id}"},
		{"a link ending in a question mark and an ampersand is tidied",
			"https://brand.sjv.io/c/1/2/3?&", "subid1", "https://brand.sjv.io/c/1/2/3?subid1={gk_click_id}"},
		{"empty segments inside the query are dropped",
			"https://example.go2cloud.org/aff_c?&offer_id=1&&aff_id=2", "aff_sub", tune + "&aff_sub={gk_click_id}"},
		{"the macro braces stay literal",
			"https://x.example/", "p", "https://x.example/?p={gk_click_id}"},

		// Replacing an existing parameter.
		{"an Everflow sub1 value is replaced in place",
			everflow, "sub1", "https://www.abcdtrk.com/ABC123/DEF456/?sub1={gk_click_id}&source_id=x"},
		{"a TUNE aff_sub in the middle keeps its position",
			"https://example.go2cloud.org/aff_c?offer_id=1&aff_sub=abc&aff_id=2", "aff_sub",
			"https://example.go2cloud.org/aff_c?offer_id=1&aff_sub={gk_click_id}&aff_id=2"},
		{"later duplicates of the parameter are removed",
			"https://brand.sjv.io/c/1/2/3?subid1=a&u=x&subid1=b&subid1=c", "subid1",
			"https://brand.sjv.io/c/1/2/3?subid1={gk_click_id}&u=x"},
		{"a parameter without a value gets the macro",
			"https://brand.sjv.io/c/1/2/3?subid1&u=x", "subid1", "https://brand.sjv.io/c/1/2/3?subid1={gk_click_id}&u=x"},
		{"a parameter with an empty value gets the macro",
			"https://brand.sjv.io/c/1/2/3?subid1=&u=x", "subid1", "https://brand.sjv.io/c/1/2/3?subid1={gk_click_id}&u=x"},
		{"a value containing an equals sign is replaced whole",
			"https://brand.sjv.io/c/1/2/3?subid1=a=b&u=x", "subid1", "https://brand.sjv.io/c/1/2/3?subid1={gk_click_id}&u=x"},
		{"a percent-encoded parameter name is recognised because networks decode it",
			"https://brand.sjv.io/c/1/2/3?sub%69d1=a&u=x", "subid1", "https://brand.sjv.io/c/1/2/3?subid1={gk_click_id}&u=x"},
		{"an already tagged link is left as it is",
			impactBare + "?subid1={gk_click_id}", "subid1", impactBare + "?subid1={gk_click_id}"},

		// Names that only look like the parameter.
		{"subid10 is not taken for subid1",
			"https://brand.sjv.io/c/1/2/3?subid10=a", "subid1", "https://brand.sjv.io/c/1/2/3?subid10=a&subid1={gk_click_id}"},
		{"xsubid1 is not taken for subid1",
			"https://brand.sjv.io/c/1/2/3?xsubid1=a", "subid1", "https://brand.sjv.io/c/1/2/3?xsubid1=a&subid1={gk_click_id}"},
		{"names differing in case are different parameters, as at Impact",
			impactTarget, "subid1", impactTarget + "&subid1={gk_click_id}"},
		{"the parameter name inside another value is not a parameter",
			"https://brand.sjv.io/c/1/2/3?u=https%3A%2F%2Fs.example%2F%3Fsubid1%3Dz", "subid1",
			"https://brand.sjv.io/c/1/2/3?u=https%3A%2F%2Fs.example%2F%3Fsubid1%3Dz&subid1={gk_click_id}"},
		{"a name with a plus sign is not decoded into a match",
			"https://brand.sjv.io/c/1/2/3?sub+id1=a", "subid1", "https://brand.sjv.io/c/1/2/3?sub+id1=a&subid1={gk_click_id}"},

		// Encoding and fragments are kept as written.
		{"existing escapes are not encoded twice",
			"https://brand.sjv.io/c/1/2/3?u=https%3A%2F%2Fshop.example%2Fa%20b%2Bc", "subid1",
			"https://brand.sjv.io/c/1/2/3?u=https%3A%2F%2Fshop.example%2Fa%20b%2Bc&subid1={gk_click_id}"},
		{"unencoded characters in other values are not encoded",
			"https://brand.sjv.io/c/1/2/3?u=https://shop.example/a?b=c;d|e", "subid1",
			"https://brand.sjv.io/c/1/2/3?u=https://shop.example/a?b=c;d|e&subid1={gk_click_id}"},
		{"lowercase and uppercase escapes keep their case",
			"https://brand.sjv.io/c/1/2/3?u=%2f%2F", "subid1", "https://brand.sjv.io/c/1/2/3?u=%2f%2F&subid1={gk_click_id}"},
		{"a fragment stays after the query",
			everflow + "#top", "sub1", "https://www.abcdtrk.com/ABC123/DEF456/?sub1={gk_click_id}&source_id=x#top"},
		{"a fragment without a query stays at the end",
			impactBare + "#section-2", "subid1", impactBare + "?subid1={gk_click_id}#section-2"},
		{"question marks and ampersands inside the fragment are not a query",
			"https://shop.example/app#/p?subid1=a&b=c", "subid1", "https://shop.example/app?subid1={gk_click_id}#/p?subid1=a&b=c"},
		{"an empty fragment is kept",
			impactBare + "#", "subid1", impactBare + "?subid1={gk_click_id}#"},

		// Hosts.
		{"an IDN host is kept as written",
			"https://bücher.example/x", "subid1", "https://bücher.example/x?subid1={gk_click_id}"},
		{"a port is kept",
			"http://localhost:8080/x", "subid1", "http://localhost:8080/x?subid1={gk_click_id}"},
		{"an IPv6 host is accepted",
			"http://[::1]:8080/x?a=1", "subid1", "http://[::1]:8080/x?a=1&subid1={gk_click_id}"},
		{"an uppercase scheme is accepted and kept",
			"HTTPS://Brand.SJV.io/c/1/2/3", "subid1", "HTTPS://Brand.SJV.io/c/1/2/3?subid1={gk_click_id}"},
		{"a link without a path gets the query straight after the host",
			"https://brand.sjv.io", "subid1", "https://brand.sjv.io?subid1={gk_click_id}"},
		{"user info is kept",
			"https://user:pass@brand.sjv.io/c", "subid1", "https://user:pass@brand.sjv.io/c?subid1={gk_click_id}"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := AppendClickMacro(c.link, c.param)
			if err != nil {
				t.Fatalf("AppendClickMacro(%q, %q) error: %v", c.link, c.param, err)
			}
			if got != c.want {
				t.Fatalf("AppendClickMacro(%q, %q)\n got %q\nwant %q", c.link, c.param, got, c.want)
			}
			again, err := AppendClickMacro(got, c.param)
			if err != nil || again != got {
				t.Fatalf("not idempotent: AppendClickMacro(%q) = %q, %v", got, again, err)
			}
		})
	}
}

func TestAppendClickMacroRefusesBadLinks(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		link string
		want *LinkError
	}{
		{"an empty link is refused", "", ErrEmpty},
		{"a leading space is refused rather than trimmed", " " + impactBare, ErrBadCharacters},
		{"a trailing space is refused rather than trimmed", impactBare + " ", ErrBadCharacters},
		{"a trailing newline is refused", impactBare + "\n", ErrBadCharacters},
		{"a space inside the query is refused", tune + "&x=a b", ErrBadCharacters},
		{"a tab is refused", "https://brand.sjv.io/c/1\t/2/3", ErrBadCharacters},
		{"a carriage return is refused", "https://brand.sjv.io/c/1/2/3\r", ErrBadCharacters},
		{"a NUL byte is refused", "https://brand.sjv.io/c/1/2/3\x00", ErrBadCharacters},
		{"a DEL byte is refused", "https://brand.sjv.io/c/1/2/3\x7f", ErrBadCharacters},
		{"a C1 control character is refused", "https://brand.sjv.io/c/1/2/3\u0085", ErrBadCharacters},
		{"a no-break space is refused", "https://brand.sjv.io/c/1/2/3\u00a0", ErrBadCharacters},
		{"an ideographic space is refused", "https://brand.sjv.io/c/1/2/3\u3000", ErrBadCharacters},
		{"a zero-width space is refused", "https://brand.sjv.io/c/1/2\u200b/3", ErrBadCharacters},
		{"a byte-order mark is refused", "\ufeff" + impactBare, ErrBadCharacters},
		{"a bidi override is refused", "https://brand.sjv.io/c/\u202e1/2/3", ErrBadCharacters},
		{"invalid UTF-8 is refused", "https://brand.sjv.io/c/\xff", ErrInvalidUTF8},
		{"an ftp link is refused", "ftp://files.example/offer", ErrNotHTTP},
		{"a javascript link is refused", "javascript:alert(1)", ErrNotHTTP},
		{"a mailto link is refused", "mailto:a@b.example", ErrNotHTTP},
		{"a relative path is refused", "/c/1/2/3?subid1=x", ErrNotHTTP},
		{"a bare host is refused", "brand.sjv.io/c/1/2/3", ErrNotHTTP},
		{"a scheme-relative link is refused", "//brand.sjv.io/c/1/2/3", ErrNotHTTP},
		{"a link of only a query is refused", "?subid1=x", ErrNotHTTP},
		{"a link with an empty host is refused", "http:///path", ErrNoHost},
		{"a link with only a scheme is refused", "https://", ErrNoHost},
		{"a link with only a port is refused", "https://:8080/x", ErrNoHost},
		{"a link with only user info is refused", "https://user@/x", ErrNoHost},
		{"an opaque http link is refused", "http:brand.sjv.io/c", ErrNoHost},
		{"a link with a single slash is refused", "https:/brand.sjv.io/c", ErrNoHost},
		{"a link with a bad port is refused", "https://brand.sjv.io:80a/c", ErrMalformed},
		{"a link with a broken escape in its path is refused", "https://brand.sjv.io/c/%zz", ErrMalformed},
		{"a link with a missing scheme name is refused", "://brand.sjv.io/c", ErrMalformed},
		{"a link longer than the limit is refused", "https://brand.sjv.io/c?u=" + strings.Repeat("a", MaxLinkLength), ErrTooLong},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := AppendClickMacro(c.link, "subid1")
			if !errors.Is(err, c.want) {
				t.Fatalf("AppendClickMacro(%q) = %q, %v; want error %q", c.link, got, err, c.want)
			}
			if got != "" {
				t.Errorf("AppendClickMacro(%q) returned %q along with its error", c.link, got)
			}
			if err := Validate(c.link); !errors.Is(err, c.want) {
				t.Errorf("Validate(%q) = %v; want %q", c.link, err, c.want)
			}
		})
	}
}

func TestLengthLimit(t *testing.T) {
	t.Parallel()
	prefix := "https://brand.sjv.io/c/1/2/3?u="
	exact := prefix + strings.Repeat("a", MaxLinkLength-len(prefix))

	t.Run("a link of exactly the limit is accepted", func(t *testing.T) {
		t.Parallel()
		if len(exact) != MaxLinkLength {
			t.Fatalf("test link has %d bytes", len(exact))
		}
		if _, err := AppendClickMacro(exact, "subid1"); err != nil {
			t.Fatal(err)
		}
		if err := Validate(exact); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a link one byte over the limit is refused", func(t *testing.T) {
		t.Parallel()
		if _, err := AppendClickMacro(exact+"a", "subid1"); !errors.Is(err, ErrTooLong) {
			t.Fatalf("got %v, want ErrTooLong", err)
		}
	})
	t.Run("the limit counts bytes, so multi-byte characters count more than once", func(t *testing.T) {
		t.Parallel()
		long := prefix + strings.Repeat("ü", (MaxLinkLength-len(prefix))/2+1)
		if _, err := AppendClickMacro(long, "subid1"); !errors.Is(err, ErrTooLong) {
			t.Fatalf("got %v, want ErrTooLong", err)
		}
	})
	t.Run("a tagged link at the limit can be tagged again", func(t *testing.T) {
		t.Parallel()
		out, err := AppendClickMacro(exact, "subid1")
		if err != nil {
			t.Fatal(err)
		}
		if len(out) <= MaxLinkLength {
			t.Fatalf("expected the tagged link to exceed the limit, has %d bytes", len(out))
		}
		again, err := AppendClickMacro(out, "subid1")
		if err != nil || again != out {
			t.Fatalf("re-tagging gave %q, %v", again, err)
		}
	})
	t.Run("the output never exceeds the limit plus the tag", func(t *testing.T) {
		t.Parallel()
		bound := MaxLinkLength + len("subid1") + len(Macro) + 2
		for _, link := range []string{
			exact,
			prefix + strings.Repeat("a", MaxLinkLength-len(prefix)-len("&subid1")) + "&subid1",
			prefix + strings.Repeat("a", MaxLinkLength-len(prefix)-len("&sub%69d1")) + "&sub%69d1",
			prefix + strings.Repeat("a", MaxLinkLength-len(prefix)-len("#f")) + "#f",
		} {
			out, err := AppendClickMacro(link, "subid1")
			if err != nil {
				t.Fatal(err)
			}
			if len(out) > bound {
				t.Errorf("output has %d bytes, bound is %d", len(out), bound)
			}
		}
	})
	t.Run("a padding of our own tags does not lift the limit for other content", func(t *testing.T) {
		t.Parallel()
		long := exact + "a&subid1={gk_click_id}"
		if _, err := AppendClickMacro(long, "subid1"); !errors.Is(err, ErrTooLong) {
			t.Fatalf("got %v, want ErrTooLong", err)
		}
	})
}

func TestAppendClickMacroRefusesBadParams(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, param string }{
		{"an empty name is refused", ""},
		{"a name with a space is refused", "sub id"},
		{"a name with an equals sign is refused", "sub=1"},
		{"a name with an ampersand is refused", "sub&1"},
		{"a name with a percent sign is refused", "sub%31"},
		{"a name with braces is refused", "{sub}"},
		{"a non-ASCII name is refused", "süb"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := AppendClickMacro(impactBare, c.param)
			if !errors.Is(err, ErrInvalidParam) || got != "" {
				t.Fatalf("AppendClickMacro(_, %q) = %q, %v; want ErrInvalidParam", c.param, got, err)
			}
			if _, ok := Reason(err); ok {
				t.Errorf("a caller bug must not be offered to users as a link reason")
			}
		})
	}
	t.Run("every URL-safe character is accepted", func(t *testing.T) {
		t.Parallel()
		got, err := AppendClickMacro(impactBare, "aZ09_.~-")
		if err != nil || got != impactBare+"?aZ09_.~-={gk_click_id}" {
			t.Fatalf("got %q, %v", got, err)
		}
	})
}

func TestLinkErrorsReadAsSentences(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		err    error
		reason string
	}{
		{"an empty link explains itself", Validate(""), "is empty"},
		{"a long link names the limit", Validate("https://a.example/" + strings.Repeat("a", MaxLinkLength)), "is longer than 2048 characters"},
		{"a link with spaces says so", Validate("https://a.example/ x"), "must not contain whitespace or control characters"},
		{"a non-web link says what is wanted", Validate("ftp://a.example/"), "must be an absolute http or https URL"},
		{"a hostless link asks for a host", Validate("http:///x"), "must have a host"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, ok := Reason(c.err)
			if !ok || got != c.reason {
				t.Fatalf("Reason(%v) = %q, %v; want %q", c.err, got, ok, c.reason)
			}
			if want := "tracking link " + c.reason; c.err.Error() != want {
				t.Errorf("Error() = %q, want %q", c.err.Error(), want)
			}
		})
	}
	t.Run("a wrapped link error still yields its reason", func(t *testing.T) {
		t.Parallel()
		err := errors.Join(errors.New("saving offer"), Validate(""))
		if got, ok := Reason(err); !ok || got != "is empty" {
			t.Fatalf("Reason = %q, %v", got, ok)
		}
	})
	t.Run("an unrelated error has no reason", func(t *testing.T) {
		t.Parallel()
		if _, ok := Reason(errors.New("boom")); ok {
			t.Fatal("got a reason")
		}
	})
}

func TestValidateAcceptsNetworkLinks(t *testing.T) {
	t.Parallel()
	for _, link := range []string{impactTarget, impactBare, impactDeep, everflow, tune, "https://bücher.example/x", "http://localhost:8080/x"} {
		if err := Validate(link); err != nil {
			t.Errorf("Validate(%q) = %v", link, err)
		}
	}
}

func TestFillClickID(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		template string
		id       string
		want     string
	}{
		{"the macro is replaced by the id",
			impactBare + "?subid1={gk_click_id}", "01HZX3K9QF", impactBare + "?subid1=01HZX3K9QF"},
		{"every occurrence is replaced",
			"https://a.example/?s1={gk_click_id}&u=https%3A%2F%2Fb.example%2F%3Fc%3D{gk_click_id}", "abc",
			"https://a.example/?s1=abc&u=https%3A%2F%2Fb.example%2F%3Fc%3Dabc"},
		{"other escapes in the link are untouched",
			impactDeep + "&subid1={gk_click_id}", "abc", impactDeep + "&subid1=abc"},
		{"an id that is not URL-safe is escaped",
			"https://a.example/?s1={gk_click_id}&x=1", "a&b=c d", "https://a.example/?s1=a%26b%3Dc+d&x=1"},
		{"an id that contains the macro is not expanded again",
			"https://a.example/?s1={gk_click_id}", Macro, "https://a.example/?s1=%7Bgk_click_id%7D"},
		{"a link without the macro is returned unchanged",
			tune, "abc", tune},
		{"a look-alike macro is not replaced",
			"https://a.example/?s1={GK_CLICK_ID}&s2=%7Bgk_click_id%7D", "abc", "https://a.example/?s1={GK_CLICK_ID}&s2=%7Bgk_click_id%7D"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := FillClickID(c.template, c.id); got != c.want {
				t.Fatalf("FillClickID(%q, %q)\n got %q\nwant %q", c.template, c.id, got, c.want)
			}
		})
	}
}

func TestTaggedLinksFillToTheNetworkLink(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, link, param, want string
	}{
		{"an Impact link carries the click id in subid1", impactDeep, "subid1", impactDeep + "&subid1=ck_42"},
		{"an Everflow link carries the click id in sub1", everflow, "sub1", "https://www.abcdtrk.com/ABC123/DEF456/?sub1=ck_42&source_id=x"},
		{"a TUNE link carries the click id in aff_sub", tune, "aff_sub", tune + "&aff_sub=ck_42"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			tpl, err := AppendClickMacro(c.link, c.param)
			if err != nil {
				t.Fatal(err)
			}
			if got := FillClickID(tpl, "ck_42"); got != c.want {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
}
