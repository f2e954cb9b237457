package postback_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gokart/gokart/ent/conversion"
	"github.com/gokart/gokart/ent/conversionstatuschange"
	"github.com/gokart/gokart/ent/postbacklog"
	"github.com/gokart/gokart/internal/apitest"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/lifecycle"
	"github.com/gokart/gokart/internal/money"
	"github.com/gokart/gokart/internal/storage"
)

func TestDemoFlowFromClickToReversal(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		srv := apitest.Start(t, db)
		keys, single, multi := demo(t, srv)
		c := db.Client

		gk := click(t, srv, single.ID, "member-1")
		if len(gk) != 22 {
			t.Fatalf("click id %q has %d characters, want 22", gk, len(gk))
		}
		clk := c.Click.Query().OnlyX(sys)
		if clk.GkClickID != gk || clk.PubMemberID != "member-1" || clk.IP != "127.0.0.1" {
			t.Fatalf("recorded click %+v", clk)
		}

		steps := []struct {
			name       string
			params     []string
			wantStatus int
			wantBody   string
			wantSpent  money.Micros
			wantConv   lifecycle.Status
		}{
			{"a pending postback with a %20 event id is accepted and spends the event payout",
				[]string{"cnv_event_id=Sign%20Up", "cnv_status=pending"}, 200, "accepted", 2_500_000, lifecycle.Pending},
			{"the same postback again is a duplicate",
				[]string{"cnv_event_id=Sign%20Up", "cnv_status=pending"}, 200, "duplicate", 2_500_000, lifecycle.Pending},
			{"the approval with a + event id updates the status and keeps the spend",
				[]string{"cnv_event_id=Sign+Up", "cnv_status=approved"}, 200, "updated", 2_500_000, lifecycle.Approved},
			{"a stale pending after the approval changes nothing",
				[]string{"cnv_event_id=sign+up", "cnv_status=pending"}, 200, "duplicate", 2_500_000, lifecycle.Approved},
			{"the reversal gives the budget back",
				[]string{"cnv_status=reversed"}, 200, "updated", 0, lifecycle.Reversed},
			{"a restore by the network spends again",
				[]string{"cnv_status=APPROVED"}, 200, "updated", 2_500_000, lifecycle.Approved},
		}
		for _, s := range steps {
			params := append([]string{"gk_click_id=" + gk, "cnv_conversion_id=ACT-1", "cnv_payout=3.10", "cnv_currency=usd"}, s.params...)
			status, body := pb(t, srv.URL, keys.PostbackKey, params...)
			if status != s.wantStatus || body != s.wantBody {
				t.Fatalf("%s: got %d %q, want %d %q", s.name, status, body, s.wantStatus, s.wantBody)
			}
			if got := spentOf(t, c, single.ID); got != s.wantSpent {
				t.Fatalf("%s: spent %s, want %s", s.name, got, s.wantSpent)
			}
			if got := c.Conversion.Query().OnlyX(sys).Status; got != s.wantConv {
				t.Fatalf("%s: conversion %s, want %s", s.name, got, s.wantConv)
			}
		}
		conv := c.Conversion.Query().OnlyX(sys)
		if conv.Payout != 2_500_000 || conv.Extras["cnv_payout"] != "3.10" || conv.Extras["cnv_currency"] != "USD" || conv.PubMemberID != "member-1" {
			t.Fatalf("conversion %+v", conv)
		}
		history := c.ConversionStatusChange.Query().Where(conversionstatuschange.ConversionID(conv.ID)).
			Order(conversionstatuschange.ByID()).AllX(sys)
		var path []string
		for _, h := range history {
			path = append(path, string(h.ToStatus))
		}
		if got := strings.Join(path, ">"); got != "PENDING>APPROVED>REVERSED>APPROVED" {
			t.Fatalf("history %s", got)
		}
		logs := c.PostbackLog.Query().Order(postbacklog.ByID()).AllX(sys)
		if len(logs) != len(steps) {
			t.Fatalf("%d log rows for %d postbacks", len(logs), len(steps))
		}
		for _, l := range logs {
			if strings.Contains(l.RawQuery, keys.PostbackKey) || !strings.Contains(l.RawQuery, "key=REDACTED") {
				t.Fatalf("log keeps the key: %q", l.RawQuery)
			}
			if l.AccountID != keys.ID || l.OfferID == nil || *l.OfferID != single.ID || l.ConversionID == nil {
				t.Fatalf("log row %+v", l)
			}
		}

		// GraphQL reads the same spend right after the requests.
		resp := srv.GraphQL(t, keys.APIKey, `query($id: ID!) { node(id: $id) { ... on Offer { budgetSpent } } }`,
			map[string]any{"id": fmt.Sprint(single.ID)})
		var data struct{ Node struct{ BudgetSpent string } }
		resp.Decode(t, &data)
		if data.Node.BudgetSpent != "2.50" {
			t.Fatalf("GraphQL budgetSpent %q", data.Node.BudgetSpent)
		}

		// The multi-event offer: events by tolerant id, no conversion id (click and event are the key).
		gk2 := click(t, srv, multi.ID, "member-1")
		for _, ev := range []string{"Sign+Up", "FIRST%20PURCHASE", "first+purchase"} {
			want := "accepted"
			if ev == "first+purchase" {
				want = "duplicate"
			}
			if status, body := pb(t, srv.URL, keys.PostbackKey, "gk_click_id="+gk2, "cnv_event_id="+ev); status != 200 || body != want {
				t.Fatalf("multi-event %s: %d %q, want %s", ev, status, body, want)
			}
		}
		if got := spentOf(t, c, multi.ID); got != 11_000_000 {
			t.Fatalf("multi-event spend %s", got)
		}
		if n := c.Conversion.Query().Where(conversion.OfferID(multi.ID)).CountX(sys); n != 2 {
			t.Fatalf("%d conversions on the multi-event offer", n)
		}
	})
}
