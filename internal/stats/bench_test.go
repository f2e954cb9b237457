package stats_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/money"
	"github.com/gokart/gokart/internal/stats"
	"github.com/gokart/gokart/internal/storage"
)

// BenchmarkOfferStats measures one offer's report over 30 days (DAY series) on PostgreSQL with
// 10k, 100k and 1M clicks in the range (10 % of them converted, a seventh of those reversed an
// hour later), rolled up, plus a raw tail of 500 clicks and 50 conversions after the watermark.
// The time per report must stay flat as the clicks grow.
//
//	go test ./stats -run '^$' -bench OfferStats -benchtime 200x
func BenchmarkOfferStats(b *testing.B) {
	for _, n := range benchSizes() {
		b.Run(fmt.Sprintf("clicks=%d", n), func(b *testing.B) {
			db := dbtest.Open(b, dialect.Postgres)
			ctx := context.Background()
			acc := db.Client.Account.Create().SetName("Bench").SetPostbackKey("pk-bench").SaveX(sys)
			o := newOffer(b, db.Client, acc.ID, "Bench", event{"Sign Up", 1_500_000, 0}, event{"Purchase", 5 * money.Scale, 0})
			ev := o.QueryEvents().AllX(sys)[0].ID
			now := time.Now()
			from := now.Add(-30 * 24 * time.Hour)
			start := time.Now()
			seed(b, db, acc.ID, o.ID, ev, n, from, now.Add(-time.Hour))
			seeded := time.Since(start)
			start = time.Now()
			if err := stats.RollUp(ctx, db, now.Add(-stats.Lag)); err != nil {
				b.Fatal(err)
			}
			rolled := time.Since(start)
			// The raw tail: rows after the watermark, as the last minutes' traffic.
			seed(b, db, acc.ID, o.ID, ev, 500, now.Add(-time.Minute), now)
			b.Logf("%d clicks: seeded in %s, rolled up in %s", n, seeded.Round(time.Millisecond), rolled.Round(time.Millisecond))
			for _, members := range []bool{false, true} {
				b.Run(fmt.Sprintf("uniqueMembers=%v", members), func(b *testing.B) {
					req := stats.Request{AccountID: acc.ID, OfferIDs: []int{o.ID}, From: from, To: now.Add(time.Hour),
						Granularity: stats.Day, UniqueMembers: members}
					r, err := stats.Load(ctx, db.Client, req)
					if err != nil {
						b.Fatal(err)
					}
					if s := r.Offer(o.ID); s.Clicks != n+500 || s.Conversions.Total != (n+500)/10 {
						b.Fatalf("report has %d clicks and %d conversions, want %d and %d", s.Clicks, s.Conversions.Total, n+500, (n+500)/10)
					}
					for b.Loop() {
						r, err := stats.Load(ctx, db.Client, req)
						if err != nil {
							b.Fatal(err)
						}
						_ = r.Offer(o.ID)
					}
				})
			}
		})
	}
}

// seed inserts n clicks spread evenly over [from, to) with members repeating every third of n,
// converts every tenth click (pending, then approved or reversed an hour later) with bulk SQL.
func seed(b *testing.B, db *storage.DB, accountID, offerID, eventID, n int, from, to time.Time) {
	b.Helper()
	exec := func(q string, args ...any) {
		if _, err := db.SQL.Exec(q, args...); err != nil {
			b.Fatalf("%s: %v", q, err)
		}
	}
	exec(`CREATE TEMP TABLE IF NOT EXISTS seeded (id bigint)`)
	exec(`TRUNCATE seeded`)
	exec(`WITH c AS (INSERT INTO clicks (gk_click_id, created_at, account_id, offer_id, pub_member_id)
		SELECT md5(random()::text || g), $1::timestamptz + (g::float8 / $3) * ($2::timestamptz - $1::timestamptz),
			$4, $5, 'm' || (g % GREATEST($3 / 3, 1))
		FROM generate_series(0, $3 - 1) g RETURNING id) INSERT INTO seeded SELECT id FROM c`,
		from.UTC(), to.UTC(), n, accountID, offerID)
	exec(`INSERT INTO conversions (created_at, updated_at, integration_system, status, payout, currency, click_id, account_id, offer_id, offer_event_id)
		SELECT c.created_at, c.created_at, 'IMPACT', CASE WHEN c.id % 7 = 0 THEN 'REVERSED' ELSE 'APPROVED' END,
			1500000, 'USD', c.id, c.account_id, c.offer_id, $1
		FROM clicks c JOIN seeded s ON s.id = c.id WHERE c.id % 10 = 0`, eventID)
	exec(`INSERT INTO conversion_status_changes (to_status, source, created_at, conversion_id, account_id)
		SELECT 'PENDING', 'POSTBACK', v.created_at, v.id, v.account_id
		FROM conversions v JOIN seeded s ON s.id = v.click_id`)
	exec(`INSERT INTO conversion_status_changes (from_status, to_status, source, created_at, conversion_id, account_id)
		SELECT 'PENDING', v.status, 'POSTBACK', LEAST(v.created_at + interval '1 hour', $1::timestamptz), v.id, v.account_id
		FROM conversions v JOIN seeded s ON s.id = v.click_id`, to.UTC())
	exec(`ANALYZE`)
}

func benchSizes() []int {
	if testing.Short() {
		return []int{10_000, 100_000}
	}
	return []int{10_000, 100_000, 1_000_000}
}
