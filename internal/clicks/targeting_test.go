package clicks_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/gokart/gokart/ent/offer"
	"github.com/gokart/gokart/internal/accounts"
	"github.com/gokart/gokart/internal/apitest"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/httpapi"
	"github.com/gokart/gokart/internal/storage"
	"github.com/gokart/gokart/internal/targeting"
	"github.com/gokart/gokart/internal/viewer"
)

const (
	iPhone  = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
	desktop = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)

// addressIn finds an address that the embedded IP-to-country table places in country, so the
// test follows the table's own ranges instead of assuming them.
func addressIn(t *testing.T, country string) string {
	t.Helper()
	for a := 1; a < 224; a++ {
		for b := 0; b < 256; b += 17 {
			ip := netip.AddrFrom4([4]byte{byte(a), byte(b), 1, 1}).String()
			if targeting.CountryOf(ip) == country {
				return ip
			}
		}
	}
	t.Fatalf("no address of %s in the embedded table", country)
	return ""
}

func TestClicksOutsideTheTargetingAreRefused(t *testing.T) {
	t.Parallel()
	de, us := addressIn(t, "DE"), addressIn(t, "US")
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		srv := apitest.StartWith(t, db, func(o *httpapi.Options) {
			o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
		})
		keys, err := accounts.Demo(context.Background(), db.Client)
		if err != nil {
			t.Fatal(err)
		}
		sys := viewer.AsSystem(context.Background())
		o := db.Client.Offer.Query().Where(offer.AccountID(keys.ID), offer.TypeEQ(offer.TypeSINGLE_EVENT)).OnlyX(sys)
		o = o.Update().SetCountries([]string{"DE"}).SetPlatforms([]targeting.Platform{targeting.IOS}).SaveX(sys)

		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		for _, c := range []struct {
			name, ip, ua string
			status       int
			body         string
		}{
			{"an iPhone in Germany is redirected", de, iPhone, http.StatusFound, ""},
			{"an iPhone in the United States is refused by country", us, iPhone, http.StatusGone, "not targeted (country)"},
			{"a desktop browser in Germany is refused by platform", de, desktop, http.StatusGone, "not targeted (platform)"},
			{"a desktop browser on loopback (no country) is refused", "127.0.0.1", desktop, http.StatusGone, "not targeted (country)"},
		} {
			req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/click/%d?pub_member_id=m-%s", srv.URL, o.ID, strings.ReplaceAll(c.name, " ", "-")), nil)
			req.Header.Set("X-Forwarded-For", c.ip)
			req.Header.Set("User-Agent", c.ua)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.status || c.body != "" && !strings.Contains(string(body), c.body) {
				t.Errorf("%s: got %d %q, want %d %q", c.name, resp.StatusCode, body, c.status, c.body)
			}
		}
	})
}

func TestPlatformsFromUserAgents(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		ua   string
		want targeting.Platform
		ok   bool
	}{
		{iPhone, targeting.IOS, true},
		{"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36", targeting.Android, true},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15", targeting.MacOS, true},
		{desktop, targeting.Browser, true},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", targeting.Browser, true},
		{"Googlebot/2.1 (+http://www.google.com/bot.html)", "", false},
	} {
		if got, ok := targeting.PlatformOf(c.ua); got != c.want || ok != c.ok {
			t.Errorf("PlatformOf(%.40q…) = %q, %v; want %q, %v", c.ua, got, ok, c.want, c.ok)
		}
	}
}
