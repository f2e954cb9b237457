package clicks_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/offer"
	"github.com/gokart/gokart/internal/accounts"
	"github.com/gokart/gokart/internal/apitest"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/storage"
	"github.com/gokart/gokart/internal/targeting"
	"github.com/gokart/gokart/internal/viewer"
)

func TestARefusedClickGoesToTheFallbackWithItsReason(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		srv := apitest.Start(t, db)
		ctx := context.Background()
		keys, err := accounts.Demo(ctx, db.Client)
		if err != nil {
			t.Fatal(err)
		}
		sys := viewer.AsSystem(ctx)
		base := db.Client.Offer.Query().Where(offer.AccountID(keys.ID), offer.TypeEQ(offer.TypeSINGLE_EVENT)).OnlyX(sys)
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		get := func(o *ent.Offer) (int, string) {
			resp, err := client.Get(fmt.Sprintf("%s/click/%d?pub_member_id=m1", srv.URL, o.ID))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode, resp.Header.Get("Location")
		}
		past := time.Now().Add(-time.Hour)
		for _, c := range []struct {
			name, reason string
			change       func(*ent.OfferUpdateOne)
		}{
			{"paused", "offer_not_active", func(u *ent.OfferUpdateOne) { u.SetStatus(offer.StatusPAUSED) }},
			{"ended", "offer_ended", func(u *ent.OfferUpdateOne) { u.SetEndsAt(past) }},
			{"not targeted", "not_targeted", func(u *ent.OfferUpdateOne) { u.SetPlatforms([]targeting.Platform{targeting.IOS}) }},
			{"out of budget", "offer_cap_total", func(u *ent.OfferUpdateOne) { u.SetCapTotal(1) }},
		} {
			o := base.Update().SetFallbackURL("https://wall.example/more?src=gk").SaveX(sys)
			upd := o.Update()
			c.change(upd)
			o = upd.SaveX(sys)
			if c.reason == "offer_cap_total" {
				if status, _ := get(o); status != http.StatusFound { // the one conversion the cap allows is a click first
					t.Fatalf("%s: first click %d", c.name, status)
				}
				db.Client.OfferCounter.Create().SetAccountID(keys.ID).SetOfferID(o.ID).SetKey("cap:offer:T:all").SetValue(1).ExecX(sys)
			}
			status, loc := get(o)
			u, _ := url.Parse(loc)
			if status != http.StatusFound || u == nil || u.Host != "wall.example" || u.Query().Get("reason") != c.reason || u.Query().Get("src") != "gk" {
				t.Errorf("%s: got %d %q, want 302 to the fallback with reason=%s", c.name, status, loc, c.reason)
			}
			// Back to a clean offer for the next case.
			base = o.Update().SetStatus(offer.StatusACTIVE).ClearEndsAt().ClearPlatforms().ClearCapTotal().SaveX(sys)
			db.Client.OfferCounter.Delete().ExecX(sys)
		}
		// Without the offer's own, the account's fallback; without either, the 410 stands.
		o := base.Update().SetFallbackURL("").SetStatus(offer.StatusPAUSED).SaveX(sys)
		if status, _ := get(o); status != http.StatusGone {
			t.Fatalf("no fallback anywhere: %d, want 410", status)
		}
		db.Client.Account.UpdateOneID(keys.ID).SetFallbackURL("https://pub.example/wall").ExecX(sys)
		if status, loc := get(o); status != http.StatusFound || loc != "https://pub.example/wall?reason=offer_not_active" {
			t.Fatalf("account fallback: %d %q", status, loc)
		}
	})
}
