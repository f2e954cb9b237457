package stats

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/gokart/gokart/internal/lifecycle"
)

// activityQuery asks for an account's activity in [from, to): its clicks, and its conversions
// by the status changes that touched them.
type activityQuery struct {
	accountID int
	from, to  time.Time
	// offerIDs limits the read to these offers; nil reads every offer of the account.
	offerIDs []int
	// byBucket reads one row per offer, event and 15-minute bucket (for series); otherwise the
	// database sums per offer, and the sink's times are zero.
	byBucket bool
	// members also reads member sketches and raw member ids (byBucket only).
	members bool
}

// activitySink takes what readActivity reads. reset drops what an unstable read added.
type activitySink interface {
	reset()
	addClicks(offerID int, at time.Time, n int64, sketch []byte, member string) error
	addCounts(offerID, eventID int, at time.Time, n counts)
}

// recentHistorySQL reads the account's status changes since the rollups' watermark with their
// conversions: joined on (account_id, id), the conversions' key, so that on Citus the join stays
// on the account's shard.
const recentHistorySQL = `SELECT v.offer_id, v.offer_event_id, v.created_at, v.payout, h.from_status, h.to_status
		FROM conversion_status_changes h JOIN conversions v ON v.account_id = h.account_id AND v.id = h.conversion_id
		WHERE h.account_id = $1 AND h.created_at >= $2 AND v.created_at >= $3 AND v.created_at < $4`

// readActivity is the one reader of "rollups before the watermark, raw rows after it": it
// reads both between two reads of the watermark and reads again when a roll-up or rebuild
// committed in between, so every committed click and status change counts exactly once.
func readActivity(ctx context.Context, c querier, q activityQuery, sink activitySink) error {
	for attempt := 0; ; attempt++ {
		sink.reset()
		stable, err := readActivityOnce(ctx, c, q, sink)
		if err != nil {
			return err
		}
		if stable {
			return nil
		}
		if attempt == maxRetries {
			return fmt.Errorf("stats: the rollups kept moving during %d reads", maxRetries+1)
		}
	}
}

func readActivityOnce(ctx context.Context, c querier, q activityQuery, sink activitySink) (bool, error) {
	wm, found, err := queryWatermark(ctx, c, watermarkSQL)
	if err != nil {
		return false, err
	}
	if !found {
		wm.at = time.Time{}.Add(1) // nothing is rolled up: every row is raw
	}
	w := wm.at
	offers := func(col string, args []any) (string, []any) {
		if q.offerIDs == nil {
			return "", args
		}
		in, args := inList(args, q.offerIDs)
		return " AND " + col + " IN (" + in + ")", args
	}
	clickCols, rawClickCols, group := "offer_id, NULL, SUM(clicks), NULL", "offer_id, NULL, COUNT(*), NULL", " GROUP BY offer_id"
	convCols := "offer_id, 0, NULL, SUM(conversions), SUM(pending), SUM(approved), SUM(reversed), SUM(rejected), SUM(spend)"
	if q.byBucket {
		sketch, member := "NULL", "NULL"
		if q.members {
			sketch, member = "members", "pub_member_id"
		}
		clickCols, rawClickCols, group = "offer_id, bucket, clicks, "+sketch, "offer_id, created_at, 1, "+member, ""
		convCols = "offer_id, offer_event_id, bucket, conversions, pending, approved, reversed, rejected, spend"
	}
	atOf := func(v any) (time.Time, error) {
		if v == nil {
			return time.Time{}, nil
		}
		return sqlTime(v)
	}
	// Clicks: rollups before the watermark, raw rows from it.
	if q.from.Before(w) {
		filter, args := offers("offer_id", []any{q.accountID, arg(q.from), arg(minTime(q.to, w))})
		err := eachRow(ctx, c, `SELECT `+clickCols+` FROM stats_click_rollups
			WHERE account_id = $1 AND bucket >= $2 AND bucket < $3`+filter+group, args,
			func(rows *sql.Rows) error {
				var offerID int
				var bucket any
				var n int64
				var sketch []byte
				if err := rows.Scan(&offerID, &bucket, &n, &sketch); err != nil {
					return err
				}
				t, err := atOf(bucket)
				if err != nil {
					return err
				}
				return sink.addClicks(offerID, t, n, sketch, "")
			})
		if err != nil {
			return false, fmt.Errorf("stats: read click rollups: %w", err)
		}
	}
	if q.to.After(w) {
		filter, args := offers("offer_id", []any{q.accountID, arg(maxTime(q.from, w)), arg(q.to)})
		err := eachRow(ctx, c, `SELECT `+rawClickCols+` FROM clicks
			WHERE account_id = $1 AND created_at >= $2 AND created_at < $3`+filter+group, args,
			func(rows *sql.Rows) error {
				var offerID int
				var at any
				var n int64
				var member sql.NullString
				if err := rows.Scan(&offerID, &at, &n, &member); err != nil {
					return err
				}
				t, err := atOf(at)
				if err != nil {
					return err
				}
				return sink.addClicks(offerID, t, n, nil, member.String)
			})
		if err != nil {
			return false, fmt.Errorf("stats: read recent clicks: %w", err)
		}
	}
	// Conversions: the rollups hold every change before the watermark, whatever the bucket.
	filter, args := offers("offer_id", []any{q.accountID, arg(q.from), arg(q.to)})
	err = eachRow(ctx, c, `SELECT `+convCols+` FROM stats_conversion_rollups
		WHERE account_id = $1 AND bucket >= $2 AND bucket < $3`+filter+group, args,
		func(rows *sql.Rows) error {
			var offerID, eventID int
			var bucket any
			var n counts
			if err := rows.Scan(&offerID, &eventID, &bucket, &n.conversions, &n.pending, &n.approved, &n.reversed, &n.rejected, &n.spend); err != nil {
				return err
			}
			t, err := atOf(bucket)
			if err != nil {
				return err
			}
			sink.addCounts(offerID, eventID, t, n)
			return nil
		})
	if err != nil {
		return false, fmt.Errorf("stats: read conversion rollups: %w", err)
	}
	filter, args = offers("v.offer_id", []any{q.accountID, arg(w), arg(q.from), arg(q.to)})
	err = eachRow(ctx, c, recentHistorySQL+filter, args,
		func(rows *sql.Rows) error {
			var offerID, eventID int
			var at any
			var payout int64
			var fromStatus sql.NullString
			var toStatus string
			if err := rows.Scan(&offerID, &eventID, &at, &payout, &fromStatus, &toStatus); err != nil {
				return err
			}
			t, err := sqlTime(at)
			if err != nil {
				return err
			}
			var n counts
			var fs *lifecycle.Status
			if fromStatus.Valid {
				s := lifecycle.Status(fromStatus.String)
				fs = &s
			}
			n.apply(fs, lifecycle.Status(toStatus), payout)
			sink.addCounts(offerID, eventID, t, n)
			return nil
		})
	if err != nil {
		return false, fmt.Errorf("stats: read recent status changes: %w", err)
	}
	again, found2, err := queryWatermark(ctx, c, watermarkSQL)
	if err != nil {
		return false, err
	}
	return found == found2 && again.version == wm.version && again.id == wm.id, nil
}
