package callbacks_test

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/gokart/gokart/internal/callbacks"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/storage"
)

const fuzzTemplate = "https://partner.example/cb/{pub_click_id}?a={pub_member_id}&b=1#frag"

// FuzzFillTemplateKeepsValuesInTheirPlace: whatever a publisher or network put in a value, the
// filled URL has the template's host, parameters and fragment, and the value comes back intact.
func FuzzFillTemplateKeepsValuesInTheirPlace(f *testing.F) {
	for _, s := range []string{"", "a&b=c", "x#y", "../../admin", "100% sure", "a+b c", "ü\x00\r\n", "{pub_member_id}", "?a=2&b=3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		got := callbacks.FillTemplate(fuzzTemplate, callbacks.Macros{"pub_click_id": v, "pub_member_id": v})
		u, err := url.Parse(got)
		if err != nil {
			t.Fatalf("%q: filled URL %q does not parse: %v", v, got, err)
		}
		q := u.Query()
		if u.Host != "partner.example" || u.Fragment != "frag" || len(q) != 2 || q.Get("b") != "1" {
			t.Fatalf("%q: filled URL %q moved the template's parts", v, got)
		}
		if q.Get("a") != v || u.Path != "/cb/"+v {
			t.Fatalf("%q: came back as a=%q, path %q", v, q.Get("a"), u.Path)
		}
	})
}

func TestGETTemplatesFillEveryMacroPercentEncoded(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		f := newFixture(t, db)
		rc := newReceiver(t, nil)
		tmpl := rc.URL + "/pb/{pub_click_id}?m={pub_member_id}&s1={pub_sub_1}&s5={pub_sub_5}&gk={gk_click_id}&o={gk_offer_id}" +
			"&on={gk_offer_name}&e={cnv_event_id}&en={cnv_event_name}&st={cnv_status}&p={cnv_payout}&am={cnv_amount}" +
			"&cur={cnv_currency}&c={gk_conversion_id}&seq={sequence}&keep={unknown}"
		f.endpoint(t, map[string]any{"url": tmpl, "format": "GET_TEMPLATE", "events": []string{"CONVERSION_APPROVED"}})
		hostile := "a&b=c#x y+z%20/../ü"
		gk := f.click(t, url.Values{"pub_member_id": {hostile}, "pub_click_id": {"../../admin?x=1"}, "pub_sub_1": {"1=2&3"}, "pub_sub_5": {"\u202e"}})
		f.postback(t, gk, "G-1", "approved", http.StatusOK)
		drain(t, callbacks.NewWorker(db, callbacks.Options{AllowPrivate: true}))
		got := rc.requests()
		if len(got) != 1 || got[0].Method != http.MethodGet {
			t.Fatalf("receiver got %+v", got)
		}
		u := got[0].URL
		q := u.Query()
		conv := db.Client.Conversion.Query().OnlyX(sys)
		want := map[string]string{
			"m": hostile, "s1": "1=2&3", "s5": "\u202e", "gk": gk, "on": "Shoes & more", "e": "sale", "en": "Sale",
			"st": "approved", "p": "2.50", "am": "49.99", "cur": "USD", "seq": "1", "keep": "{unknown}",
		}
		for k, v := range want {
			if q.Get(k) != v {
				t.Errorf("%s = %q, want %q", k, q.Get(k), v)
			}
		}
		if q.Get("c") == "" || q.Get("c") != itoa(conv.ID) || q.Get("o") != itoa(f.offer.ID) {
			t.Errorf("ids: c=%q o=%q", q.Get("c"), q.Get("o"))
		}
		if u.Path != "/pb/../../admin?x=1" || u.RawQuery == "" || len(q) != len(want)+2 {
			t.Errorf("path %q (escaped %q), %d parameters", u.Path, u.EscapedPath(), len(q))
		}
	})
}

func itoa(n int) string { return strconv.Itoa(n) }
