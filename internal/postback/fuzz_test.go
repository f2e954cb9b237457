package postback

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParse feeds arbitrary query strings to the parser: it must never panic, and whatever it
// accepts must be safe to store and look up.
func FuzzParse(f *testing.F) {
	f.Add("key=k&gk_click_id=AbC_-123&cnv_event_id=Sign%20Up&cnv_status=approved&cnv_payout=2.50&cnv_currency=usd")
	f.Add("gk_click_id=x&gk_click_id=x&cnv_amount=0.000001&cnv_conversion_ip_address=::ffff:1.2.3.4")
	f.Add("gk_click_id=%zz&key=%")
	f.Add("gk_click_id=a&cnv_sub_1=%00&cnv_email=%ff")
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := Parse(raw)
		red := Redact(raw)
		if !utf8.ValidString(red) || strings.ContainsRune(red, 0) {
			t.Fatalf("Redact(%q) = %q is not storable text", raw, red)
		}
		_ = KeyOf(raw)
		if err != nil {
			if _, ok := err.(*ParamError); !ok {
				t.Fatalf("Parse(%q) error of type %T", raw, err)
			}
			return
		}
		if p.ClickID == "" || len(p.ClickID) > MaxClickIDLength || !urlSafe(p.ClickID) {
			t.Fatalf("accepted click id %q", p.ClickID)
		}
		if p.Currency != "" && (len(p.Currency) != 3 || strings.ToUpper(p.Currency) != p.Currency) {
			t.Fatalf("accepted currency %q", p.Currency)
		}
		if p.Payout != nil && *p.Payout < 0 || p.Amount != nil && *p.Amount < 0 {
			t.Fatalf("accepted a negative amount from %q", raw)
		}
		for _, v := range append([]string{p.EventID, p.ConversionID, p.Status}, mapValues(p.Extras)...) {
			if !utf8.ValidString(v) || strings.ContainsRune(v, 0) || len(v) > 320 {
				t.Fatalf("accepted value %q from %q", v, raw)
			}
		}
	})
}

func mapValues(m map[string]string) []string {
	var vs []string
	for _, v := range m {
		vs = append(vs, v)
	}
	return vs
}
