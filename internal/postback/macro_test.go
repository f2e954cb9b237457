package postback_test

import (
	"strings"
	"testing"

	"github.com/gokart/gokart/ent/conversion"
	"github.com/gokart/gokart/ent/postbacklog"
	"github.com/gokart/gokart/internal/apitest"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/postback"
	"github.com/gokart/gokart/internal/storage"
)

func TestUnfilledMacroSpellingsAreRecognised(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"{Amount}", "%7BAmount%7D", "[amount]", "#amount#", "!!amount!!", "<amount>",
		"{{amount}}", "${amount}", "{Action.Amount}", "{SubId1}"} {
		if _, ok := postback.UnfilledMacro(v); !ok {
			t.Errorf("%q is not taken for an unfilled macro", v)
		}
	}
	for _, v := range []string{"12.50", "Sign Up", "{}", "[Sign Up]", "#1", "<>", "{1abc}", "a{b}", "{amount"} {
		if _, ok := postback.UnfilledMacro(v); ok {
			t.Errorf("%q is taken for an unfilled macro, but it is data", v)
		}
	}
}

func TestAnUnfilledOptionalMacroIsReadAsAbsentAndNoted(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		srv := apitest.Start(t, db)
		keys, single, _ := demo(t, srv)
		for i, spelling := range []string{"{Amount}", "%257BAmount%257D", "[amount]", "%23amount%23", "!!amount!!", "%3Camount%3E", "{{amount}}", "${amount}"} {
			gk := click(t, srv, single.ID, "member-"+spelling)
			status, body := pb(t, srv.URL, keys.PostbackKey, "gk_click_id="+gk, "cnv_conversion_id=M-"+string(rune('a'+i)),
				"cnv_amount="+spelling, "cnv_payout={Payout}", "cnv_status=pending")
			if status != 200 || body != "accepted" {
				t.Fatalf("cnv_amount=%s: got %d %q, want 200 accepted: the conversion must not be lost", spelling, status, body)
			}
			conv := db.Client.Conversion.Query().Where(conversion.NetworkConversionID("M-" + string(rune('a'+i)))).OnlyX(sys)
			if conv.Amount != nil {
				t.Fatalf("cnv_amount=%s: amount %v stored, want none", spelling, *conv.Amount)
			}
			if _, ok := conv.Extras["cnv_payout"]; ok {
				t.Fatalf("cnv_payout={Payout}: kept as %q, want absent", conv.Extras["cnv_payout"])
			}
			log := db.Client.PostbackLog.Query().Where(postbacklog.ConversionID(conv.ID)).OnlyX(sys)
			if !strings.Contains(log.Reason, "cnv_amount was") || !strings.Contains(log.Reason, "read as absent") {
				t.Fatalf("cnv_amount=%s: log reason %q does not note the unfilled macro", spelling, log.Reason)
			}
		}
	})
}

func TestAnUnfilledClickIDMacroNamesTheParameterToCheck(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		srv := apitest.Start(t, db)
		keys, _, _ := demo(t, srv)
		status, body := pb(t, srv.URL, keys.PostbackKey, "gk_click_id={SubId1}", "cnv_event_id=Sign+Up")
		if status != 400 || !strings.Contains(body, "{SubId1}") || !strings.Contains(body, "subid1={gk_click_id}") {
			t.Fatalf("got %d %q, want 400 naming the macro and the tracking-link parameter", status, body)
		}
	})
}

func TestANetworkCurrencyThatDiffersIsKeptAndFlagged(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		srv := apitest.Start(t, db)
		keys, single, _ := demo(t, srv)
		gk := click(t, srv, single.ID, "member-eur")
		if status, body := pb(t, srv.URL, keys.PostbackKey, "gk_click_id="+gk, "cnv_conversion_id=EUR-1",
			"cnv_amount=40.00", "cnv_currency=eur"); status != 200 || body != "accepted" {
			t.Fatalf("got %d %q, want 200 accepted", status, body)
		}
		conv := db.Client.Conversion.Query().Where(conversion.NetworkConversionID("EUR-1")).OnlyX(sys)
		if conv.ReportedCurrency == nil || *conv.ReportedCurrency != "EUR" || conv.Currency != single.Currency {
			t.Fatalf("currency %s, reported %v: want the offer's currency and EUR flagged", conv.Currency, conv.ReportedCurrency)
		}
		log := db.Client.PostbackLog.Query().Where(postbacklog.ConversionID(conv.ID)).OnlyX(sys)
		if !strings.Contains(log.Reason, "cnv_currency EUR differs") {
			t.Fatalf("log reason %q does not note the currency", log.Reason)
		}
		gk = click(t, srv, single.ID, "member-usd")
		pb(t, srv.URL, keys.PostbackKey, "gk_click_id="+gk, "cnv_conversion_id=USD-1", "cnv_amount=40.00", "cnv_currency="+single.Currency)
		if c := db.Client.Conversion.Query().Where(conversion.NetworkConversionID("USD-1")).OnlyX(sys); c.ReportedCurrency != nil {
			t.Fatalf("the offer's own currency was flagged: %v", *c.ReportedCurrency)
		}
	})
}
