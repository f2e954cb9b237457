package postback_test

import (
	"context"
	"testing"

	"github.com/gokart/gokart/ent/conversion"
	"github.com/gokart/gokart/ent/conversionstatuschange"
	"github.com/gokart/gokart/internal/apitest"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/errcode"
	"github.com/gokart/gokart/internal/lifecycle"
	"github.com/gokart/gokart/internal/postback"
	"github.com/gokart/gokart/internal/storage"
)

func TestManualReviewMovesSpendWithTheSameRules(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		srv := apitest.Start(t, db)
		keys := srv.NewAccount(t, "review")
		other := srv.NewAccount(t, "other")
		o := newOffer(t, db.Client, keys.ID, nil, eventSpec{id: "Sign Up", payout: payout})
		db.Client.Offer.UpdateOneID(o.ID).SetBudgetTotal(payout).ExecX(sys)
		a, b := click(t, srv, o.ID, "a"), click(t, srv, o.ID, "b")
		pb(t, srv.URL, keys.PostbackKey, "gk_click_id="+a)
		if status, body := pb(t, srv.URL, keys.PostbackKey, "gk_click_id="+b); status != 409 || body != "budget_total" {
			t.Fatalf("second conversion %d %q", status, body)
		}
		convs := db.Client.Conversion.Query().Order(conversion.ByID()).AllX(sys)
		accepted, rejected := convs[0], convs[1]
		ctx := context.Background()

		if _, err := postback.ChangeStatus(ctx, db.Client, db.Dialect, other.ID, accepted.ID, lifecycle.Approved, ""); codeOf(err) != errcode.NotFound {
			t.Fatalf("another account's conversion: %v", err)
		}
		if _, err := postback.ChangeStatus(ctx, db.Client, db.Dialect, keys.ID, rejected.ID, lifecycle.Approved, "looks fine"); codeOf(err) != errcode.Conflict {
			t.Fatalf("approving over the budget: %v", err)
		}
		if _, err := postback.ChangeStatus(ctx, db.Client, db.Dialect, keys.ID, accepted.ID, "PAID", ""); codeOf(err) != errcode.Validation {
			t.Fatalf("unknown status: %v", err)
		}
		got, err := postback.ChangeStatus(ctx, db.Client, db.Dialect, keys.ID, accepted.ID, lifecycle.Rejected, "fraud")
		if err != nil || got.Status != lifecycle.Rejected || got.Reason != "fraud" {
			t.Fatalf("reject: %+v %v", got, err)
		}
		if s := spentOf(t, db.Client, o.ID); s != 0 {
			t.Fatalf("spent after manual rejection %s", s)
		}
		if got, err = postback.ChangeStatus(ctx, db.Client, db.Dialect, keys.ID, rejected.ID, lifecycle.Approved, "looks fine"); err != nil || got.Status != lifecycle.Approved {
			t.Fatalf("approve with room: %+v %v", got, err)
		}
		if s := spentOf(t, db.Client, o.ID); s != payout {
			t.Fatalf("spent after manual approval %s", s)
		}
		manual := db.Client.ConversionStatusChange.Query().Where(conversionstatuschange.SourceEQ(conversionstatuschange.SourceMANUAL)).CountX(sys)
		if manual != 2 {
			t.Fatalf("%d manual history rows", manual)
		}
		// Inside a caller's transaction (as a GraphQL mutation runs), the refresh happens in it.
		tx := db.Client.Tx
		txn, err := tx(sys)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := postback.ChangeStatus(ctx, txn.Client(), db.Dialect, keys.ID, rejected.ID, lifecycle.Reversed, ""); err != nil {
			t.Fatal(err)
		}
		if err := txn.Commit(); err != nil {
			t.Fatal(err)
		}
		if s := spentOf(t, db.Client, o.ID); s != 0 {
			t.Fatalf("spent after reversal in a caller's transaction %s", s)
		}
	})
}

func codeOf(err error) errcode.Code {
	if e, ok := errcode.As(err); ok {
		return e.Code
	}
	return ""
}
