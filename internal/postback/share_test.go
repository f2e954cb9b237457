package postback_test

import (
	"fmt"
	"testing"

	"github.com/gokart/gokart/ent"
	entclick "github.com/gokart/gokart/ent/click"
	"github.com/gokart/gokart/ent/conversion"
	"github.com/gokart/gokart/ent/conversionstatuschange"
	"github.com/gokart/gokart/ent/offerevent"
	"github.com/gokart/gokart/ent/postbacklog"
	"github.com/gokart/gokart/internal/apitest"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/lifecycle"
	"github.com/gokart/gokart/internal/money"
	"github.com/gokart/gokart/internal/storage"
)

func TestRevenueSharePaysAPercentageOfTheAmount(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		srv := apitest.Start(t, db)
		keys := srv.NewAccount(t, "rev share")
		c := db.Client
		// 12.5% of each sale, at most 5.00 a sale, from a budget of 9.00.
		o := newOffer(t, c, keys.ID, func(c *ent.OfferCreate) { c.SetBudgetTotal(9_000_000) },
			eventSpec{id: "Sale", adjust: func(c *ent.OfferEventCreate) {
				c.SetPayoutType(offerevent.PayoutTypePERCENT).SetPayoutPercent(12_500_000).SetPayoutCap(5_000_000).SetAllowRepeats(true)
			}})
		gk := click(t, srv, o.ID, "m")
		payoutOf := func(ncid string) money.Micros {
			return c.Conversion.Query().Where(conversion.NetworkConversionID(ncid)).OnlyX(sys).Payout
		}
		steps := []struct {
			name, params, want string
			spent              money.Micros
		}{
			{"a sale without an amount", "cnv_conversion_id=S1", "422 amount_required", 0},
			{"a sale with its amount in another currency", "cnv_conversion_id=S1&cnv_amount=20&cnv_currency=EUR", "422 amount_currency", 0},
			{"the sale with its amount: 12.5% of 20.00, the kept REJECTED conversion counts", "cnv_conversion_id=S1&cnv_amount=20.00", "200 updated", 2_500_000},
			{"a second sale: 12.5% of 100.00, capped at 5.00", "cnv_conversion_id=S2&cnv_amount=100", "200 accepted", 7_500_000},
			{"the first sale modified to 30.00 moves spend by +1.25", "cnv_conversion_id=S1&cnv_amount=30", "200 updated", 8_750_000},
			{"and to 8.00 by -2.75", "cnv_conversion_id=S1&cnv_amount=8", "200 updated", 6_000_000},
			{"an approval without the amount keeps the payout", "cnv_conversion_id=S2&cnv_status=approved", "200 updated", 6_000_000},
			{"a third sale the budget cannot pay", "cnv_conversion_id=S3&cnv_amount=60", "409 budget_total", 6_000_000},
			{"a modification the budget cannot pay changes nothing", "cnv_conversion_id=S1&cnv_amount=40", "409 budget_total", 6_000_000},
			{"one that fits exactly", "cnv_conversion_id=S1&cnv_amount=32", "200 updated", 9_000_000},
			{"a higher amount over the cap pays the cap", "cnv_conversion_id=S2&cnv_amount=1000&cnv_status=approved", "200 updated", 9_000_000},
		}
		for _, s := range steps {
			status, body := pb(t, srv.URL, keys.PostbackKey, "gk_click_id="+gk, s.params)
			if got := fmt.Sprint(status, " ", body); got != s.want {
				t.Fatalf("%s: %s, want %s", s.name, got, s.want)
			}
			if got := spentOf(t, c, o.ID); got != s.spent {
				t.Fatalf("%s: spent %s, want %s", s.name, got, s.spent)
			}
		}
		if p := payoutOf("S1"); p != 4_000_000 {
			t.Errorf("S1 pays %s, want 4.00", p)
		}
		if p := payoutOf("S2"); p != 5_000_000 {
			t.Errorf("S2 pays %s, want 5.00", p)
		}
		s3 := c.Conversion.Query().Where(conversion.NetworkConversionID("S3")).OnlyX(sys)
		if s3.Status != lifecycle.Rejected || s3.Reason != "budget_total" || s3.Payout != 5_000_000 {
			t.Errorf("S3 %s %q pays %s", s3.Status, s3.Reason, s3.Payout)
		}
		if n := c.PostbackLog.Query().Where(postbacklog.OutcomeEQ(postbacklog.OutcomeREJECTED), postbacklog.HTTPStatus(422)).CountX(sys); n != 2 {
			t.Errorf("%d refused share postbacks in the log, want 2", n)
		}
		// The modification to 30.00 recorded the payout before and after.
		h := c.ConversionStatusChange.Query().Where(conversionstatuschange.KindEQ(conversionstatuschange.KindMODIFIED)).
			Order(ent.Asc(conversionstatuschange.FieldID)).FirstX(sys)
		if *h.OldPayout != 2_500_000 || *h.NewPayout != 3_750_000 || *h.OldAmount != 20_000_000 || *h.NewAmount != 30_000_000 {
			t.Errorf("first modification %v to %v, amounts %v to %v", *h.OldPayout, *h.NewPayout, *h.OldAmount, *h.NewAmount)
		}
	})
}

func TestRevenueShareModificationsKeepTheDailyBudgetExact(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		srv := apitest.Start(t, db)
		keys := srv.NewAccount(t, "daily share")
		// 10% of each sale from a daily budget of 3.00.
		o := newOffer(t, db.Client, keys.ID, func(c *ent.OfferCreate) { c.SetBudgetDaily(3_000_000) },
			eventSpec{id: "Sale", adjust: func(c *ent.OfferEventCreate) {
				c.SetPayoutType(offerevent.PayoutTypePERCENT).SetPayoutPercent(10_000_000).SetAllowRepeats(true)
			}})
		gk := click(t, srv, o.ID, "m")
		steps := []struct{ name, params, want string }{
			{"a sale of 20.00 pays 2.00", "cnv_conversion_id=A&cnv_amount=20", "200 accepted"},
			{"modified to 35.00 it would pay 3.50, over the day's 3.00", "cnv_conversion_id=A&cnv_amount=35", "409 budget_daily"},
			{"modified to 30.00 it pays exactly the day's budget", "cnv_conversion_id=A&cnv_amount=30", "200 updated"},
			{"another sale does not fit", "cnv_conversion_id=B&cnv_amount=0.10", "409 budget_daily"},
			{"the reversal gives back all 3.00", "cnv_conversion_id=A&cnv_status=reversed", "200 updated"},
			{"so a sale of 30.00 fits again", "cnv_conversion_id=C&cnv_amount=30", "200 accepted"},
			{"and is the day's whole budget", "cnv_conversion_id=D&cnv_amount=0.10", "409 budget_daily"},
		}
		for _, s := range steps {
			status, body := pb(t, srv.URL, keys.PostbackKey, "gk_click_id="+gk, s.params)
			if got := fmt.Sprint(status, " ", body); got != s.want {
				t.Fatalf("%s: %s, want %s", s.name, got, s.want)
			}
		}
		if got := spentOf(t, db.Client, o.ID); got != 3_000_000 {
			t.Errorf("spent %s, want 3.00", got)
		}
	})
}

func TestAmountRequiredIsKeptRejectedUntilTheAmountComes(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		srv := apitest.Start(t, db)
		keys := srv.NewAccount(t, "amount required")
		c := db.Client
		// 10% of each sale from a budget of 6.00.
		o := newOffer(t, c, keys.ID, func(c *ent.OfferCreate) { c.SetBudgetTotal(6_000_000) },
			eventSpec{id: "Sale", adjust: func(c *ent.OfferEventCreate) {
				c.SetPayoutType(offerevent.PayoutTypePERCENT).SetPayoutPercent(10_000_000)
			}})
		a, b, d := click(t, srv, o.ID, "a"), click(t, srv, o.ID, "b"), click(t, srv, o.ID, "d")
		conv := func(gk string) *ent.Conversion {
			return c.Conversion.Query().Where(conversion.AccountID(keys.ID), conversion.HasClickWith(entclick.AccountID(keys.ID), entclick.GkClickID(gk))).OnlyX(sys)
		}
		steps := []struct {
			name, gk, params, want string
			status                 lifecycle.Status
			reason                 string
			payout, spent          money.Micros
		}{
			{"a sale without an amount is kept REJECTED", a, "cnv_conversion_id=A", "422 amount_required", lifecycle.Rejected, "amount_required", 0, 0},
			{"a copy of it", a, "cnv_conversion_id=A", "422 amount_required", lifecycle.Rejected, "amount_required", 0, 0},
			{"its amount in another currency", a, "cnv_conversion_id=A&cnv_amount=10&cnv_currency=EUR", "422 amount_currency", lifecycle.Rejected, "amount_required", 0, 0},
			{"the report with the amount counts it: 10% of 50.00", a, "cnv_conversion_id=A&cnv_amount=50", "200 updated", lifecycle.Pending, "", 5_000_000, 5_000_000},
			{"a copy of that", a, "cnv_conversion_id=A&cnv_amount=50", "200 duplicate", lifecycle.Pending, "", 5_000_000, 5_000_000},
			{"without a network id, kept REJECTED too", b, "cnv_status=approved", "422 amount_required", lifecycle.Rejected, "amount_required", 0, 5_000_000},
			{"and counted approved with the amount", b, "cnv_status=approved&cnv_amount=7.5", "200 updated", lifecycle.Approved, "", 750_000, 5_750_000},
			{"an amount the budget cannot pay keeps it REJECTED, with the rule", d, "cnv_conversion_id=D", "422 amount_required", lifecycle.Rejected, "amount_required", 0, 5_750_000},
			{"10% of 30.00 is over the 0.25 left", d, "cnv_conversion_id=D&cnv_amount=30", "409 budget_total", lifecycle.Rejected, "budget_total", 3_000_000, 5_750_000},
		}
		for _, s := range steps {
			status, body := pb(t, srv.URL, keys.PostbackKey, "gk_click_id="+s.gk, s.params)
			if got := fmt.Sprint(status, " ", body); got != s.want {
				t.Fatalf("%s: %s, want %s", s.name, got, s.want)
			}
			cv := conv(s.gk)
			if cv.Status != s.status || (s.reason != "" && cv.Reason != s.reason) || cv.Payout != s.payout {
				t.Fatalf("%s: conversion %s %q pays %s, want %s %q %s", s.name, cv.Status, cv.Reason, cv.Payout, s.status, s.reason, s.payout)
			}
			if got := spentOf(t, c, o.ID); got != s.spent {
				t.Fatalf("%s: spent %s, want %s", s.name, got, s.spent)
			}
		}
		// The kept conversion's history: REJECTED amount_required, then counted.
		h := c.ConversionStatusChange.Query().Where(conversionstatuschange.ConversionID(conv(a).ID)).Order(ent.Asc(conversionstatuschange.FieldID)).AllX(sys)
		if len(h) != 2 || h[0].ToStatus != lifecycle.Rejected || h[0].Reason != "amount_required" || h[0].FromStatus != nil ||
			*h[1].FromStatus != lifecycle.Rejected || h[1].ToStatus != lifecycle.Pending {
			t.Fatalf("history %v", h)
		}
		if amt := conv(a).Amount; amt == nil || *amt != 50_000_000 {
			t.Errorf("amount %v, want 50.00", amt)
		}

		// Concurrent copies without an amount keep one conversion.
		e := click(t, srv, o.ID, "e")
		got := parallel(10, func(int) string {
			status, body := pb(t, srv.URL, keys.PostbackKey, "gk_click_id="+e, "cnv_conversion_id=E")
			return fmt.Sprint(status, " ", body)
		})
		if got["422 amount_required"] != 10 {
			t.Errorf("concurrent copies without an amount: %v", got)
		}
		if n := c.Conversion.Query().Where(conversion.AccountID(keys.ID), conversion.HasClickWith(entclick.AccountID(keys.ID), entclick.GkClickID(e))).CountX(sys); n != 1 {
			t.Errorf("%d conversions of the copies, want 1", n)
		}
	})
}
