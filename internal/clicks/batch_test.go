package clicks

import (
	"context"
	"fmt"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/click"
	"github.com/gokart/gokart/ent/offer"
	"github.com/gokart/gokart/internal/accounts"
	"github.com/gokart/gokart/internal/budget"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/storage"
	"github.com/gokart/gokart/internal/viewer"
)

// TestABatchWithOneBadRowRefusesOnlyThatRow sends concurrent clicks through one batcher, one of
// them with a click id that exists already (its statement fails on the unique key): every
// other click is recorded exactly once and answered as recorded, the bad one gets an error.
func TestABatchWithOneBadRowRefusesOnlyThatRow(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		sys := viewer.AsSystem(ctx)
		o := demoOffer(t, db)
		now := time.Now().UTC()
		rowFor := func(gk string) *row { return clickRow(gk, o, o.AccountID, now) }
		b := newBatcher(db.Client, db.Dialect)
		if err := b.insert(ctx, rowFor("taken")); err != nil {
			t.Fatalf("first click: %v", err)
		}
		const n = 200
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				gk := fmt.Sprintf("c%03d", i)
				if i == n/2 {
					gk = "taken"
				}
				errs[i] = b.insert(ctx, rowFor(gk))
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if i == n/2 {
				if err == nil || err == errNotTaken {
					t.Errorf("the duplicate click id was answered %v, want a store error", err)
				}
				continue
			}
			if err != nil {
				t.Errorf("click %d: %v", i, err)
			}
		}
		if got := db.Client.Click.Query().Where(click.OfferID(o.ID)).CountX(sys); got != n {
			t.Fatalf("%d clicks recorded, want %d (the %d good ones and the first)", got, n, n-1)
		}
	})
}

// TestBatchedClickParametersAreStoredAsSent sends, in one batch, parameters that an array
// literal or a VALUES list must escape (quotes, backslashes, braces, commas, the word NULL,
// empty strings, non-ASCII text): each click is stored with exactly what it was sent.
func TestBatchedClickParametersAreStoredAsSent(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		sys := viewer.AsSystem(ctx)
		o := demoOffer(t, db)
		now := time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.UTC)
		values := []string{`a"b`, `back\slash`, `\"`, `{x,y}`, `NULL`, ``, `with space`, `zoë ✓`, `trailing\`, `"`}
		b := newBatcher(db.Client, db.Dialect)
		var wg sync.WaitGroup
		errs := make([]error, len(values))
		for i, v := range values {
			wg.Go(func() {
				gk := fmt.Sprintf("esc%02d", i)
				args := append([]any{gk, o.ID, o.AccountID, v, "pc-" + v, v, "", "", "", "", "127.0.0.1", v, now},
					budget.ClickTerms(o, 0, now)...)
				errs[i] = b.insert(ctx, &row{args: args, gkID: gk})
			})
		}
		wg.Wait()
		for i, v := range values {
			if errs[i] != nil {
				t.Fatalf("click with %q: %v", v, errs[i])
			}
			c := db.Client.Click.Query().Where(click.GkClickID(fmt.Sprintf("esc%02d", i))).OnlyX(sys)
			if c.PubMemberID != v || c.PubClickID != "pc-"+v || c.PubSub1 != v || c.UserAgent != v || !c.CreatedAt.Equal(now) {
				t.Errorf("sent %q at %v, stored member %q, click %q, sub1 %q, agent %q at %v",
					v, now, c.PubMemberID, c.PubClickID, c.PubSub1, c.UserAgent, c.CreatedAt)
			}
		}
	})
}

// TestABatchOfTwoAccountsRecordsEachInItsOwn sends concurrent clicks on two accounts' offers
// through one batcher, so that batches mix them: each statement takes one account's rows, every
// click is recorded once under its offer's account, and a row whose account is not its offer's
// is not taken.
func TestABatchOfTwoAccountsRecordsEachInItsOwn(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		sys := viewer.AsSystem(ctx)
		var offers []*ent.Offer
		for i := range 2 {
			o := demoOffer(t, db)
			// Renamed, so that the next Demo loads a second account.
			db.Client.Account.UpdateOneID(o.AccountID).SetName(fmt.Sprintf("batch account %d", i)).ExecX(sys)
			offers = append(offers, o)
		}
		now := time.Now().UTC()
		b := newBatcher(db.Client, db.Dialect)
		const n = 120
		errs := make([]error, n+1)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				o := offers[i%2]
				errs[i] = b.insert(ctx, clickRow(fmt.Sprintf("two%03d", i), o, o.AccountID, now))
			})
		}
		wg.Go(func() { errs[n] = b.insert(ctx, clickRow("crossed", offers[0], offers[1].AccountID, now)) })
		wg.Wait()
		for i, err := range errs[:n] {
			if err != nil {
				t.Errorf("click %d: %v", i, err)
			}
		}
		if errs[n] != errNotTaken {
			t.Errorf("a click on account %d's offer sent as account %d was answered %v, want not taken",
				offers[0].AccountID, offers[1].AccountID, errs[n])
		}
		for _, o := range offers {
			got := db.Client.Click.Query().Where(click.OfferID(o.ID), click.AccountID(o.AccountID)).CountX(sys)
			if got != n/2 {
				t.Errorf("offer %d of account %d: %d clicks recorded, want %d", o.ID, o.AccountID, got, n/2)
			}
		}
		if all := db.Client.Click.Query().CountX(sys); all != n {
			t.Errorf("%d clicks in all, want %d", all, n)
		}
	})
}

// offersRead is a read of the offers table, in either dialect's quotes.
var offersRead = regexp.MustCompile("SELECT .* FROM [`\"]offers[`\"]")

// TestConcurrentFirstClicksOnAnOfferReadItOnce loads an offer that is not cached from 32
// goroutines while the first read is held up: they all wait for that one read (on Citus a read
// by id alone goes to every shard) and get the same offer.
func TestConcurrentFirstClicksOnAnOfferReadItOnce(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		o := demoOffer(t, db)
		var reads atomic.Int32
		drv := dialect.DebugWithContext(entsql.OpenDB(db.Dialect, db.SQL), func(_ context.Context, v ...any) {
			if q := fmt.Sprint(v...); offersRead.MatchString(q) && reads.Add(1) == 1 {
				time.Sleep(200 * time.Millisecond) // the others arrive meanwhile
			}
		})
		r := &Recorder{Client: ent.NewClient(ent.Driver(drv)), Dialect: db.Dialect}
		const n = 32
		got := make([]*cachedOffer, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				e, err := r.load(ctx, o.ID)
				if err != nil {
					t.Error(err)
				}
				got[i] = e
			})
		}
		wg.Wait()
		if reads.Load() != 1 {
			t.Errorf("%d concurrent first clicks read the offer %d times, want once", n, reads.Load())
		}
		for i, e := range got {
			if e == nil || e != got[0] || e.o.ID != o.ID {
				t.Fatalf("click %d got %+v, want the one read of offer %d", i, e, o.ID)
			}
		}
	})
}

// demoOffer loads the demo account and returns its single-event offer.
func demoOffer(t testing.TB, db *storage.DB) *ent.Offer {
	t.Helper()
	ctx := context.Background()
	keys, err := accounts.Demo(ctx, db.Client)
	if err != nil {
		t.Fatal(err)
	}
	return db.Client.Offer.Query().Where(offer.AccountID(keys.ID), offer.TypeEQ(offer.TypeSINGLE_EVENT)).OnlyX(viewer.AsSystem(ctx))
}

// clickRow is a click on o sent as accountID's, with its guard's terms.
func clickRow(gk string, o *ent.Offer, accountID int, now time.Time) *row {
	args := append([]any{gk, o.ID, accountID, "m-" + gk, "", "", "", "", "", "", "127.0.0.1", "test", now},
		budget.ClickTerms(o, 0, now)...)
	return &row{args: args, gkID: gk}
}
