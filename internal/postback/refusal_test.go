package postback_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/offer"
	"github.com/gokart/gokart/ent/postbacklog"
	"github.com/gokart/gokart/internal/apitest"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/lifecycle"
	"github.com/gokart/gokart/internal/storage"
)

func TestEveryRuleRefusesTheConversionOverItsLimitWith409(t *testing.T) {
	t.Parallel()
	one := ptr(1)
	cases := []struct {
		rule   string
		offer  func(*ent.OfferCreate)
		event  func(*ent.OfferEventCreate)
		member string // the same member clicks twice when set
	}{
		{rule: "one_completion_per_member", offer: func(c *ent.OfferCreate) { c.SetOneCompletionPerMember(true) }, member: "same"},
		{rule: "event_cap_daily", event: func(c *ent.OfferEventCreate) { c.SetCapDaily(1) }},
		{rule: "event_cap_weekly", event: func(c *ent.OfferEventCreate) { c.SetCapWeekly(1) }},
		{rule: "event_cap_monthly", event: func(c *ent.OfferEventCreate) { c.SetCapMonthly(1) }},
		{rule: "event_cap_total", event: func(c *ent.OfferEventCreate) { c.SetCapTotal(1) }},
		{rule: "offer_cap_daily", offer: func(c *ent.OfferCreate) { c.SetNillableCapDaily(one) }},
		{rule: "offer_cap_weekly", offer: func(c *ent.OfferCreate) { c.SetNillableCapWeekly(one) }},
		{rule: "offer_cap_monthly", offer: func(c *ent.OfferCreate) { c.SetNillableCapMonthly(one) }},
		{rule: "offer_cap_total", offer: func(c *ent.OfferCreate) { c.SetNillableCapTotal(one) }},
		{rule: "budget_daily", offer: func(c *ent.OfferCreate) { c.SetBudgetDaily(payout + payout/2) }},
		{rule: "budget_total", offer: func(c *ent.OfferCreate) { c.SetBudgetTotal(payout + payout/2) }},
	}
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		srv := apitest.Start(t, db)
		keys := srv.NewAccount(t, "rules")
		for _, c := range cases {
			o := newOffer(t, db.Client, keys.ID, c.offer, eventSpec{id: "Sign Up", payout: payout, adjust: c.event})
			m1, m2 := "a", "b"
			if c.member != "" {
				m1, m2 = c.member, c.member
			}
			first, second := click(t, srv, o.ID, m1), click(t, srv, o.ID, m2)
			if status, body := pb(t, srv.URL, keys.PostbackKey, "gk_click_id="+first); status != 200 {
				t.Fatalf("%s: first conversion %d %q", c.rule, status, body)
			}
			if status, body := pb(t, srv.URL, keys.PostbackKey, "gk_click_id="+second); status != 409 || body != c.rule {
				t.Fatalf("%s: second conversion %d %q, want 409 %q", c.rule, status, body, c.rule)
			}
			if n := countConversions(t, db.Client, o.ID, lifecycle.Rejected); n != 1 {
				t.Fatalf("%s: %d rejected conversions kept", c.rule, n)
			}
			if got := spentOf(t, db.Client, o.ID); got != payout {
				t.Fatalf("%s: spent %s", c.rule, got)
			}
			// Reversing the first frees the limit for a later conversion.
			if status, _ := pb(t, srv.URL, keys.PostbackKey, "gk_click_id="+first, "cnv_status=reversed"); status != 200 {
				t.Fatalf("%s: reversal %d", c.rule, status)
			}
			third := click(t, srv, o.ID, m1+"3")
			if c.member != "" {
				third = click(t, srv, o.ID, c.member)
			}
			if status, body := pb(t, srv.URL, keys.PostbackKey, "gk_click_id="+third); status != 200 {
				t.Fatalf("%s: conversion after the reversal %d %q", c.rule, status, body)
			}
		}

		// An ended offer refuses conversions of clicks made while it was active; a paused one takes them.
		o := newOffer(t, db.Client, keys.ID, nil, eventSpec{id: "Sign Up", payout: payout})
		a, b := click(t, srv, o.ID, "a"), click(t, srv, o.ID, "b")
		db.Client.Offer.UpdateOneID(o.ID).SetStatus(offer.StatusPAUSED).ExecX(sys)
		if status, body := pb(t, srv.URL, keys.PostbackKey, "gk_click_id="+a); status != 200 {
			t.Fatalf("paused offer: %d %q", status, body)
		}
		db.Client.Offer.UpdateOneID(o.ID).SetStatus(offer.StatusENDED).ExecX(sys)
		if status, body := pb(t, srv.URL, keys.PostbackKey, "gk_click_id="+b); status != 409 || body != "offer_ended" {
			t.Fatalf("ended offer: %d %q", status, body)
		}
	})
}

func TestMalformedUnauthorizedAndUnknownPostbacks(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		srv := apitest.Start(t, db)
		keys, single, multi := demo(t, srv)
		other := srv.NewAccount(t, "other")
		gk := click(t, srv, single.ID, "m")
		gkMulti := click(t, srv, multi.ID, "m")
		walled := srv.NewAccount(t, "walled")
		db.Client.Account.UpdateOneID(walled.ID).SetPostbackAllowlist([]string{"10.0.0.0/8"}).ExecX(sys)

		cases := []struct {
			name    string
			key     string
			params  []string
			status  int
			body    string
			outcome postbacklog.Outcome
		}{
			{"a postback without gk_click_id is malformed", keys.PostbackKey, nil, 400, "malformed: gk_click_id: is required", postbacklog.OutcomeMALFORMED},
			{"a click id with foreign characters is malformed", keys.PostbackKey, []string{"gk_click_id=ab%24cd%2Aef"}, 400, "malformed: gk_click_id: is not a gokart click id", postbacklog.OutcomeMALFORMED},
			{"an exponent payout is malformed", keys.PostbackKey, []string{"gk_click_id=" + gk, "cnv_payout=1e3"}, 400, "", postbacklog.OutcomeMALFORMED},
			{"a negative amount is malformed", keys.PostbackKey, []string{"gk_click_id=" + gk, "cnv_amount=-1"}, 400, "malformed: cnv_amount: must not be negative", postbacklog.OutcomeMALFORMED},
			{"a two-letter currency is malformed", keys.PostbackKey, []string{"gk_click_id=" + gk, "cnv_currency=US"}, 400, "malformed: cnv_currency: must be an ISO 4217 code such as USD", postbacklog.OutcomeMALFORMED},
			{"a bad conversion IP is malformed", keys.PostbackKey, []string{"gk_click_id=" + gk, "cnv_conversion_ip_address=1.2.3"}, 400, "malformed: cnv_conversion_ip_address: must be an IP address", postbacklog.OutcomeMALFORMED},
			{"two different click ids are malformed", keys.PostbackKey, []string{"gk_click_id=" + gk, "gk_click_id=other"}, 400, "malformed: gk_click_id: given more than once with different values", postbacklog.OutcomeMALFORMED},
			{"an unknown status word is malformed", keys.PostbackKey, []string{"gk_click_id=" + gk, "cnv_status=paid"}, 400, `malformed: unknown cnv_status "paid"`, postbacklog.OutcomeMALFORMED},
			{"a multi-event offer needs the event id", keys.PostbackKey, []string{"gk_click_id=" + gkMulti}, 400, "cnv_event_id is required for this offer", postbacklog.OutcomeMALFORMED},
			{"a missing key is forbidden", "", []string{"gk_click_id=" + gk}, 403, "missing key", postbacklog.OutcomeUNAUTHORIZED},
			{"a wrong key is forbidden", keys.PostbackKey + "x", []string{"gk_click_id=" + gk}, 403, "invalid key", postbacklog.OutcomeUNAUTHORIZED},
			{"an address outside the allowlist is forbidden", walled.PostbackKey, []string{"gk_click_id=" + gk}, 403, "source address not allowed", postbacklog.OutcomeUNAUTHORIZED},
			{"an unknown click id is not found", keys.PostbackKey, []string{"gk_click_id=AAAAAAAAAAAAAAAAAAAAAA"}, 404, "unknown click id", postbacklog.OutcomeNOT_FOUND},
			{"another account's key does not find the click", other.PostbackKey, []string{"gk_click_id=" + gk}, 404, "unknown click id", postbacklog.OutcomeNOT_FOUND},
			{"an unknown event is not found", keys.PostbackKey, []string{"gk_click_id=" + gkMulti, "cnv_event_id=Sign%20Off"}, 404, "unknown event", postbacklog.OutcomeNOT_FOUND},
		}
		accountless := 0
		for i, c := range cases {
			var status int
			var body string
			if c.key == "" {
				status, body = get(t, srv.URL, "/postback?"+strings.Join(c.params, "&"))
			} else {
				status, body = pb(t, srv.URL, c.key, c.params...)
			}
			if status != c.status || c.body != "" && body != c.body {
				t.Fatalf("%s: got %d %q, want %d %q", c.name, status, body, c.status, c.body)
			}
			if c.status == 403 && c.key != walled.PostbackKey {
				// No account: counted by source, reason and hour (package unmatched), not logged.
				accountless++
				if n := db.Client.UnmatchedPostback.Query().CountX(sys); n != accountless {
					t.Fatalf("%s: %d unmatched rows after %d account-less requests", c.name, n, accountless)
				}
				continue
			}
			logs := db.Client.PostbackLog.Query().Order(postbacklog.ByID()).AllX(sys)
			if len(logs) != i+1-accountless {
				t.Fatalf("%s: %d log rows after %d requests", c.name, len(logs), i+1-accountless)
			}
			if l := logs[i-accountless]; l.Outcome != c.outcome || l.HTTPStatus != c.status || l.Reason == "" {
				t.Fatalf("%s: logged %+v", c.name, l)
			}
		}
		if n := db.Client.Conversion.Query().CountX(sys); n != 0 {
			t.Fatalf("%d conversions from refused postbacks", n)
		}
	})
}

func TestClickRedirectRefusals(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		srv := apitest.Start(t, db)
		keys := srv.NewAccount(t, "clicks")
		ev := eventSpec{id: "Sign Up", payout: payout}
		mk := func(adjust func(*ent.OfferCreate)) int { return newOffer(t, db.Client, keys.ID, adjust, ev).ID }
		capped := mk(func(c *ent.OfferCreate) { c.SetCapTotal(1) })
		pb(t, srv.URL, keys.PostbackKey, "gk_click_id="+click(t, srv, capped, "m"))
		cases := []struct {
			name   string
			path   string
			status int
			body   string
		}{
			{"an unknown offer is not found", "/click/999999999", 404, "unknown offer"},
			{"a malformed offer id is not found", "/click/12abc", 404, "unknown offer"},
			{"an offer id with a leading zero is not found", fmt.Sprintf("/click/0%d", capped), 404, "unknown offer"},
			{"a paused offer is gone", fmt.Sprintf("/click/%d", mk(func(c *ent.OfferCreate) { c.SetStatus(offer.StatusPAUSED) })), 410, "offer is not active"},
			{"a draft offer is gone", fmt.Sprintf("/click/%d", mk(func(c *ent.OfferCreate) { c.SetStatus(offer.StatusDRAFT) })), 410, "offer is not active"},
			{"an offer before its start is gone", fmt.Sprintf("/click/%d", mk(func(c *ent.OfferCreate) { c.SetStartsAt(time.Now().Add(time.Hour)) })), 410, "offer has not started yet"},
			{"an offer after its end is gone", fmt.Sprintf("/click/%d", mk(func(c *ent.OfferCreate) { c.SetEndsAt(time.Now().Add(-time.Minute)) })), 410, "offer has ended"},
			{"an offer whose budget cannot pay an event is gone", fmt.Sprintf("/click/%d", mk(func(c *ent.OfferCreate) { c.SetBudgetTotal(payout - 1) })), 410, "offer is out of budget or cap (budget_total)"},
			{"an offer at its cap is gone", fmt.Sprintf("/click/%d", capped), 410, "offer is out of budget or cap (offer_cap_total)"},
			{"an offer of one completion per member needs the member", fmt.Sprintf("/click/%d", mk(func(c *ent.OfferCreate) { c.SetOneCompletionPerMember(true) })), 400, "pub_member_id is required: the offer allows one completion per member"},
		}
		for _, c := range cases {
			status, body := get(t, srv.URL, c.path)
			if status != c.status || body != c.body {
				t.Fatalf("%s: got %d %q, want %d %q", c.name, status, body, c.status, c.body)
			}
		}
		if n := db.Client.Click.Query().CountX(sys); n != 1 {
			t.Fatalf("%d clicks recorded, want only the capped offer's first", n)
		}
		// The redirect goes to the offer's template only, with the id filled in and the rest kept.
		o := newOffer(t, db.Client, keys.ID, func(c *ent.OfferCreate) {
			c.SetClickURLTemplate("https://brand.sjv.io/c/1/2/3?u=https%3A%2F%2Fshop.example%2F&subid1={gk_click_id}#top")
		}, ev)
		resp, _ := srv.Get(t, fmt.Sprintf("/click/%d?pub_member_id=m&pub_sub_1=s1&pub_click_id=pc", o.ID))
		gk := db.Client.Click.Query().Order(ent.Desc("id")).FirstX(sys)
		want := "https://brand.sjv.io/c/1/2/3?u=https%3A%2F%2Fshop.example%2F&subid1=" + gk.GkClickID + "#top"
		if resp.StatusCode != 302 || resp.Header.Get("Location") != want {
			t.Fatalf("redirect %d %q, want %q", resp.StatusCode, resp.Header.Get("Location"), want)
		}
		if gk.PubSub1 != "s1" || gk.PubClickID != "pc" || gk.PubMemberID != "m" || gk.UserAgent == "" {
			t.Fatalf("click %+v", gk)
		}
	})
}
