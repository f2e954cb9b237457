package postback_test

import (
	"fmt"
	"testing"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/callbackdelivery"
	"github.com/gokart/gokart/ent/conversionstatuschange"
	"github.com/gokart/gokart/ent/postbacklog"
	"github.com/gokart/gokart/internal/apitest"
	"github.com/gokart/gokart/internal/callbacks/vocab"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/lifecycle"
	"github.com/gokart/gokart/internal/money"
	"github.com/gokart/gokart/internal/storage"
)

// listen adds an endpoint that hears every status change of the account, so that each change
// queues one delivery.
func listen(t *testing.T, c *ent.Client, accountID int) {
	t.Helper()
	c.CallbackEndpoint.Create().SetAccountID(accountID).SetURL("http://127.0.0.1:9/hook").SetSecret("whsec_test").
		SetEvents([]vocab.Event{vocab.ConversionPending, vocab.ConversionApproved, vocab.ConversionReversed, vocab.ConversionRejected}).
		ExecX(sys)
}

func TestModifiedActionUpdatesTheConversion(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		srv := apitest.Start(t, db)
		keys := srv.NewAccount(t, "modified")
		c := db.Client
		listen(t, c, keys.ID)
		o := newOffer(t, c, keys.ID, func(c *ent.OfferCreate) { c.SetBudgetTotal(100_000_000) }, eventSpec{id: "Sale", payout: 2_000_000})
		gk := click(t, srv, o.ID, "m")
		m := func(s string) *money.Micros {
			v, err := money.Parse(s)
			if err != nil {
				t.Fatal(err)
			}
			return &v
		}
		steps := []struct {
			name, params, want string
			amount, reported   string
			status             lifecycle.Status
		}{
			{"the sale", "cnv_amount=10.00&cnv_payout=1.00", "200 accepted", "10.00", "1.00", lifecycle.Pending},
			{"a true copy", "cnv_amount=10.00&cnv_payout=1.00", "200 duplicate", "10.00", "1.00", lifecycle.Pending},
			{"without amounts it is a copy too", "", "200 duplicate", "10.00", "1.00", lifecycle.Pending},
			{"a modified amount", "cnv_amount=12.50&cnv_payout=1.00", "200 updated", "12.50", "1.00", lifecycle.Pending},
			{"a modified network payout, Impact's stale pending status", "cnv_amount=12.50&cnv_payout=1.25&cnv_status=pending", "200 updated", "12.50", "1.25", lifecycle.Pending},
			{"approved with another amount", "cnv_amount=15&cnv_status=approved", "200 updated", "15.00", "1.25", lifecycle.Approved},
			{"the approval again", "cnv_amount=15&cnv_status=approved", "200 duplicate", "15.00", "1.25", lifecycle.Approved},
		}
		for _, s := range steps {
			status, body := pb(t, srv.URL, keys.PostbackKey, "gk_click_id="+gk, "cnv_conversion_id=ACT-1", s.params)
			if got := fmt.Sprint(status, " ", body); got != s.want {
				t.Fatalf("%s: %s, want %s", s.name, got, s.want)
			}
			cv := c.Conversion.Query().OnlyX(sys)
			if cv.Amount == nil || *cv.Amount != *m(s.amount) || cv.Extras["cnv_payout"] != s.reported || cv.Status != s.status || cv.Payout != 2_000_000 {
				t.Fatalf("%s: conversion amount %v, cnv_payout %q, status %s, payout %s", s.name, cv.Amount, cv.Extras["cnv_payout"], cv.Status, cv.Payout)
			}
		}
		// A fixed payout is not repriced by a new amount: the spend stays the event's 2.00.
		if got := spentOf(t, c, o.ID); got != 2_000_000 {
			t.Errorf("spent %s, want 2.00", got)
		}
		hist := c.ConversionStatusChange.Query().Order(ent.Asc(conversionstatuschange.FieldID)).AllX(sys)
		if len(hist) != 4 {
			t.Fatalf("%d history steps, want 4", len(hist))
		}
		want := []struct {
			kind     conversionstatuschange.Kind
			from, to lifecycle.Status
			old, new string
		}{
			{conversionstatuschange.KindSTATUS, "", lifecycle.Pending, "", ""},
			{conversionstatuschange.KindMODIFIED, lifecycle.Pending, lifecycle.Pending, "10.00", "12.50"},
			{conversionstatuschange.KindMODIFIED, lifecycle.Pending, lifecycle.Pending, "12.50", "12.50"},
			{conversionstatuschange.KindMODIFIED, lifecycle.Pending, lifecycle.Approved, "12.50", "15.00"},
		}
		for i, w := range want {
			h := hist[i]
			from := lifecycle.Status("")
			if h.FromStatus != nil {
				from = *h.FromStatus
			}
			if h.Kind != w.kind || from != w.from || h.ToStatus != w.to {
				t.Errorf("step %d: %s %s to %s, want %s %s to %s", i, h.Kind, from, h.ToStatus, w.kind, w.from, w.to)
			}
			if w.kind == conversionstatuschange.KindMODIFIED && (h.OldAmount == nil || h.NewAmount == nil || *h.OldAmount != *m(w.old) ||
				*h.NewAmount != *m(w.new) || h.OldPayout == nil || *h.OldPayout != 2_000_000 || *h.NewPayout != 2_000_000) {
				t.Errorf("step %d: amounts %v to %v, payouts %v to %v", i, h.OldAmount, h.NewAmount, h.OldPayout, h.NewPayout)
			}
		}
		if hist[2].Reason != "modified by the network: cnv_payout 1.00 to 1.25" {
			t.Errorf("reason %q", hist[2].Reason)
		}
		// Every step fires its callbacks, in history order.
		seqs := c.CallbackDelivery.Query().Order(ent.Asc(callbackdelivery.FieldSequence)).Select(callbackdelivery.FieldSequence).IntsX(sys)
		if fmt.Sprint(seqs) != "[1 2 3 4]" {
			t.Errorf("callback sequences %v, want [1 2 3 4]", seqs)
		}
		if n := c.PostbackLog.Query().Where(postbacklog.OutcomeEQ(postbacklog.OutcomeMODIFIED)).CountX(sys); n != 3 {
			t.Errorf("%d MODIFIED log rows, want 3", n)
		}
	})
}
