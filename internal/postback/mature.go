package postback

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/conversion"
	"github.com/gokart/gokart/ent/conversionstatuschange"
	"github.com/gokart/gokart/internal/budget"
	"github.com/gokart/gokart/internal/lifecycle"
	"github.com/gokart/gokart/internal/viewer"
)

// Maturing: some networks (Impact) never send an approval; their actions lock at the end of the
// contract's locking period without a postback. Mature approves a PENDING conversion that has
// waited longer than its offer's autoApproveAfter (or else its account's) through transition,
// like manual review, with history source AUTO: spend, history and callbacks behave as for any
// other change, and a later reversal from the network applies to it as to any APPROVED one.
//
// Each conversion is approved in its own short transaction that locks it with FOR UPDATE SKIP
// LOCKED on PostgreSQL and re-reads its status, so replicas running the job at once never
// approve one twice (one skips what the other holds, or finds it APPROVED); SQLite has one
// writer. The job reads across accounts by design, as the operator's rule; every statement
// still names the account.

// MatureBatch is how many conversions one Mature call approves at most.
const MatureBatch = 500

// maturingOffersSQL lists the offers whose conversions mature and their period. It reads
// offers, never conversions, so its cost follows the number of offers.
const maturingOffersSQL = `SELECT o.account_id, o.id, COALESCE(o.auto_approve_after, a.auto_approve_after)
FROM offers o JOIN accounts a ON a.id = o.account_id
WHERE COALESCE(o.auto_approve_after, a.auto_approve_after) IS NOT NULL AND o.status <> 'DRAFT'
ORDER BY o.id`

// dueConversionsSQL is one offer's due conversions, oldest first; the index on (account_id,
// offer_id, status, created_at) answers it reading only due rows.
const dueConversionsSQL = `SELECT id FROM conversions
WHERE account_id = $1 AND offer_id = $2 AND status = 'PENDING' AND created_at < $3
ORDER BY created_at LIMIT $4`

type maturingOffer struct {
	accountID, offerID int
	period             lifecycle.Period
}

// Mature approves up to limit PENDING conversions that are due at now and returns how many it
// approved. Call it again while it returns limit.
func Mature(ctx context.Context, client *ent.Client, dialectName string, now time.Time, limit int) (int, error) {
	now = now.UTC()
	offers, err := maturingOffers(ctx, client)
	if err != nil {
		return 0, err
	}
	approved := 0
	for _, o := range offers {
		if approved >= limit {
			break
		}
		ids, err := dueConversions(ctx, client, o, now.Add(-o.period.Duration()), limit-approved)
		if err != nil {
			return approved, err
		}
		for _, id := range ids {
			ok, err := matureOne(ctx, client, dialectName, o, id, now)
			if err != nil {
				return approved, err
			}
			if ok {
				approved++
			}
		}
	}
	return approved, nil
}

func maturingOffers(ctx context.Context, client *ent.Client) ([]maturingOffer, error) {
	rows, err := client.QueryContext(ctx, maturingOffersSQL)
	if err != nil {
		return nil, fmt.Errorf("list maturing offers: %w", err)
	}
	defer rows.Close()
	var out []maturingOffer
	for rows.Next() {
		var o maturingOffer
		if err := rows.Scan(&o.accountID, &o.offerID, &o.period); err != nil {
			return nil, fmt.Errorf("list maturing offers: %w", err)
		}
		if o.period > 0 {
			out = append(out, o)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list maturing offers: %w", err)
	}
	return out, nil
}

func dueConversions(ctx context.Context, client *ent.Client, o maturingOffer, cutoff time.Time, limit int) ([]int, error) {
	rows, err := client.QueryContext(ctx, dueConversionsSQL, o.accountID, o.offerID, cutoff, limit)
	if err != nil {
		return nil, fmt.Errorf("list due conversions of offer %d: %w", o.offerID, err)
	}
	defer rows.Close()
	var ids []int
	for rows.Next() {
		var id int
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("list due conversions of offer %d: %w", o.offerID, err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list due conversions of offer %d: %w", o.offerID, err)
	}
	return ids, nil
}

// matureOne approves one conversion in its own transaction; false means another replica (or a
// postback) has it or changed it first.
func matureOne(ctx context.Context, client *ent.Client, dialectName string, o maturingOffer, id int, now time.Time) (bool, error) {
	ctx = viewer.ForAccount(ctx, o.accountID)
	tx, err := client.Tx(ctx)
	if err != nil {
		return false, fmt.Errorf("mature conversion %d: %w", id, err)
	}
	c := tx.Client()
	q := c.Conversion.Query().Where(conversion.ID(id), conversion.StatusEQ(lifecycle.Pending))
	if dialectName == dialect.Postgres {
		q = q.ForUpdate(entsql.WithLockAction(entsql.SkipLocked))
	}
	found, err := q.Only(ctx)
	if ent.IsNotFound(err) {
		_ = tx.Rollback()
		return false, nil
	}
	if err != nil {
		_ = tx.Rollback()
		return false, fmt.Errorf("lock conversion %d: %w", id, err)
	}
	reason := "matured: pending longer than " + o.period.String() + " (autoApproveAfter)"
	res, err := moveStatus(ctx, c, dialectName, found, lifecycle.Approved, reason, conversionstatuschange.SourceAUTO, now)
	if err != nil {
		_ = tx.Rollback()
		return false, err
	}
	if res.refusal != nil {
		// Approving a PENDING conversion charges nothing, so no rule can refuse it; if one ever
		// does, the conversion stays PENDING for a person to review.
		_ = tx.Rollback()
		return false, nil
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("mature conversion %d: commit: %w", id, err)
	}
	if res.spendMoved {
		if err := budget.Sync(ctx, client, dialectName, o.accountID, found.OfferID); err != nil {
			slog.WarnContext(ctx, "refresh budget_spent after maturing", "offer", found.OfferID, "err", err)
		}
	}
	return true, nil
}

// RunMaturing runs Mature every interval until ctx ends, in batches of MatureBatch; an interval
// of 0 turns it off. It is safe on every replica at once.
func RunMaturing(ctx context.Context, client *ent.Client, dialectName string, log *slog.Logger, interval time.Duration) {
	if interval <= 0 {
		log.Info("maturing off (MATURE_INTERVAL=0): PENDING conversions are never approved by gokart")
		return
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		total := 0
		for {
			n, err := Mature(ctx, client, dialectName, time.Now(), MatureBatch)
			total += n
			if err != nil {
				if ctx.Err() == nil {
					log.Warn("maturing failed; the next run retries", "err", err)
				}
				break
			}
			if n < MatureBatch || ctx.Err() != nil {
				break
			}
		}
		if total > 0 {
			log.Info("matured pending conversions", "approved", total)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
