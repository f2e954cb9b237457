package postback

import (
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gokart/gokart/ent/schema"
	"github.com/gokart/gokart/internal/money"
)

// MaxQueryLength bounds a postback's query string; real ones are a few hundred bytes.
const MaxQueryLength = 4096

// MaxClickIDLength is the longest gk_click_id we ever mint or accept.
const MaxClickIDLength = schema.MaxClickIDLength

// Params are a postback's parameters, validated.
type Params struct {
	ClickID      string
	EventID      string // "" when absent
	ConversionID string // "" when absent
	Status       string // the network's word; "" when absent
	Payout       *money.Micros
	Amount       *money.Micros
	Currency     string // upper case; "" when absent
	// Extras are the optional extras, by parameter name, as stored on the conversion.
	Extras map[string]string
	// Notes say what was read differently from how it came, for the postback log: optional
	// parameters that held a macro the network did not fill, read as absent.
	Notes []string
}

// ParamError is a malformed parameter: a 400 answer.
type ParamError struct {
	Param   string
	Message string
}

func (e *ParamError) Error() string {
	if e.Param == "" {
		return e.Message
	}
	return e.Param + ": " + e.Message
}

var extraParams = []struct {
	name string
	max  int
}{
	{"cnv_user_id", schema.MaxIDLength}, {"cnv_email", 320}, {"cnv_conversion_ip_address", schema.MaxSourceIPLength},
	{"cnv_sub_1", schema.MaxIDLength}, {"cnv_sub_2", schema.MaxIDLength}, {"cnv_sub_3", schema.MaxIDLength}, {"cnv_sub_4", schema.MaxIDLength}, {"cnv_sub_5", schema.MaxIDLength},
}

// Parse reads and validates a postback's query string (the key aside, see KeyOf). Empty values
// count as absent: networks leave a macro empty when they have nothing for it.
func Parse(rawQuery string) (Params, error) {
	var p Params
	if len(rawQuery) > MaxQueryLength {
		return p, &ParamError{Message: fmt.Sprintf("query string is longer than %d bytes", MaxQueryLength)}
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return p, &ParamError{Message: "malformed query string"}
	}
	get := func(name string, max int) (string, error) {
		vs := q[name]
		v := ""
		for _, x := range vs {
			if x == "" {
				continue
			}
			if macro, ok := UnfilledMacro(x); ok {
				if name == "gk_click_id" {
					return "", &ParamError{Param: name, Message: fmt.Sprintf("is %s, a macro the network did not fill: "+
						"check that the offer's tracking link passes gokart's click id in the network's click-id parameter "+
						"(for Impact subid1={gk_click_id}) and that the postback URL echoes that parameter's macro", macro)}
				}
				p.Notes = append(p.Notes, fmt.Sprintf("%s was %s, a macro the network did not fill: read as absent", name, macro))
				continue
			}
			if v != "" && x != v {
				return "", &ParamError{Param: name, Message: "given more than once with different values"}
			}
			v = x
		}
		if len(v) > max {
			return "", &ParamError{Param: name, Message: fmt.Sprintf("longer than %d bytes", max)}
		}
		if !utf8.ValidString(v) || strings.IndexFunc(v, unicode.IsControl) >= 0 {
			return "", &ParamError{Param: name, Message: "must be text without control characters"}
		}
		return v, nil
	}
	if p.ClickID, err = get("gk_click_id", MaxClickIDLength); err != nil {
		return p, err
	}
	if p.ClickID == "" {
		return p, &ParamError{Param: "gk_click_id", Message: "is required"}
	}
	if !urlSafe(p.ClickID) {
		return p, &ParamError{Param: "gk_click_id", Message: "is not a gokart click id"}
	}
	if p.EventID, err = get("cnv_event_id", schema.MaxIDLength); err != nil {
		return p, err
	}
	if p.ConversionID, err = get("cnv_conversion_id", schema.MaxIDLength); err != nil {
		return p, err
	}
	if p.Status, err = get("cnv_status", 64); err != nil {
		return p, err
	}
	for _, m := range []struct {
		name string
		dst  **money.Micros
	}{{"cnv_payout", &p.Payout}, {"cnv_amount", &p.Amount}} {
		v, err := get(m.name, 32)
		if err != nil {
			return p, err
		}
		if v == "" {
			continue
		}
		n, err := money.Parse(v)
		if err != nil {
			return p, &ParamError{Param: m.name, Message: err.Error()}
		}
		if n < 0 {
			return p, &ParamError{Param: m.name, Message: "must not be negative"}
		}
		*m.dst = &n
	}
	cur, err := get("cnv_currency", 3)
	if err != nil {
		return p, err
	}
	if cur != "" {
		cur = strings.ToUpper(cur)
		if len(cur) != 3 || strings.IndexFunc(cur, func(r rune) bool { return r < 'A' || r > 'Z' }) >= 0 {
			return p, &ParamError{Param: "cnv_currency", Message: "must be an ISO 4217 code such as USD"}
		}
		p.Currency = cur
	}
	for _, e := range extraParams {
		v, err := get(e.name, e.max)
		if err != nil {
			return p, err
		}
		if v == "" {
			continue
		}
		if e.name == "cnv_conversion_ip_address" {
			a, err := netip.ParseAddr(v)
			if err != nil {
				return p, &ParamError{Param: e.name, Message: "must be an IP address"}
			}
			v = a.String()
		}
		if p.Extras == nil {
			p.Extras = map[string]string{}
		}
		p.Extras[e.name] = v
	}
	return p, nil
}

// macroSpellings are the unfilled-macro syntaxes of the networks we know, by their delimiters:
// {Amount} (Impact, Everflow, gokart), {{amount}}, ${amount}, [amount], #amount#, !!amount!!
// and <amount>.
var macroSpellings = []struct{ open, close string }{
	{"{{", "}}"}, {"${", "}"}, {"{", "}"}, {"[", "]"}, {"#", "#"}, {"!!", "!!"}, {"<", ">"},
}

// UnfilledMacro reports whether v is a macro a network left unreplaced, such as {Amount} or
// %7BAmount%7D (escaped once more than the query string), and returns it as it would read.
func UnfilledMacro(v string) (string, bool) {
	if u, err := url.QueryUnescape(v); err == nil && u != v {
		if m, ok := UnfilledMacro(u); ok {
			return m, true
		}
	}
	for _, sp := range macroSpellings {
		name, ok := strings.CutPrefix(v, sp.open)
		if !ok {
			continue
		}
		if name, ok = strings.CutSuffix(name, sp.close); ok && macroName(name) {
			return v, true
		}
	}
	return "", false
}

// macroName reports whether s reads as a macro's name: a letter, then letters, digits, '_',
// '.' or '-' (a space inside would be data, not a macro).
func macroName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i, r := range s {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if i == 0 && !letter || !letter && !(r >= '0' && r <= '9') && r != '_' && r != '.' && r != '-' {
			return false
		}
	}
	return true
}

func urlSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// KeyOf returns the key parameter, even from a query string that is otherwise malformed, so
// that a malformed postback can still be logged in its account.
func KeyOf(rawQuery string) string {
	if len(rawQuery) > MaxQueryLength {
		rawQuery = rawQuery[:MaxQueryLength]
	}
	for seg := range strings.SplitSeq(rawQuery, "&") {
		name, value, _ := strings.Cut(seg, "=")
		if n, err := url.QueryUnescape(name); err == nil && n == "key" {
			if v, err := url.QueryUnescape(value); err == nil {
				return v
			}
			return ""
		}
	}
	return ""
}

// Redact returns the query string for the log: the key's value replaced, invalid text
// replaced, and at most MaxQueryLength bytes.
func Redact(rawQuery string) string {
	if len(rawQuery) > MaxQueryLength {
		rawQuery = rawQuery[:MaxQueryLength]
	}
	segs := strings.Split(rawQuery, "&")
	for i, seg := range segs {
		name, _, _ := strings.Cut(seg, "=")
		// A name that does not unescape might hide the key, and a mis-pasted one ("amp;key",
		// "postback_key") still carries it: redact those too.
		if n, err := url.QueryUnescape(name); err != nil || strings.HasSuffix(strings.ToLower(n), "key") {
			segs[i] = name + "=REDACTED"
		}
	}
	out := strings.Join(segs, "&")
	out = strings.ToValidUTF8(out, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if r == 0 {
			return -1
		}
		return r
	}, out)
}
