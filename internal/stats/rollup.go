package stats

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"entgo.io/ent/dialect"

	"github.com/gokart/gokart/internal/lifecycle"
	"github.com/gokart/gokart/internal/storage"
)

// Lag is, by default, how far the watermark trails the clock: a hot-path transaction must commit within
// Lag of the created_at it stamps (see the package doc).
const Lag = 2 * time.Minute

// Interval is, by default, how often the aggregator rolls up.
const Interval = 20 * time.Second

// maxChunk bounds the raw rows one roll-up transaction folds in, for catching up after a pause.
const maxChunk = 6 * time.Hour

// lockID is the PostgreSQL advisory lock that keeps replicas' roll-ups and rebuilds apart.
const lockID = 0x676b5354 // "gkST"

// Aggregate rolls up every interval, trailing the clock by lag, until ctx is done; `gokart
// serve` runs it with STATS_INTERVAL and STATS_LAG. An interval of 0 turns it off (run it on
// one replica only, or measure the hot paths without it); rollups then wait for another
// process or `gokart stats rebuild`, and reports stay exact by reading more raw rows.
func Aggregate(ctx context.Context, db *storage.DB, log *slog.Logger, interval, lag time.Duration) {
	if interval <= 0 {
		log.Info("stats aggregator off (STATS_INTERVAL=0)")
		return
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if err := RollUp(ctx, db, time.Now().Add(-lag)); err != nil && ctx.Err() == nil {
			log.Warn("stats roll-up failed; the next one retries", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// RollUp folds every click and status change created before until (rounded down to a quarter
// hour) into the rollups and moves the watermark there; it never moves it back. Callers other
// than tests pass time.Now().Add(-Lag).
func RollUp(ctx context.Context, db *storage.DB, until time.Time) error {
	target := Floor(until)
	for {
		done, err := rollUpChunk(ctx, db, target)
		if err != nil || done {
			return err
		}
	}
}

// rollUpChunk moves the watermark by at most maxChunk in one transaction.
func rollUpChunk(ctx context.Context, db *storage.DB, target time.Time) (done bool, err error) {
	err = inTx(ctx, db, false, func(c querier, locked bool) error {
		if !locked {
			done = true // another replica is rolling up right now
			return nil
		}
		wm, err := readWatermark(ctx, c, db.Dialect)
		if err != nil {
			return err
		}
		if !wm.at.Before(target) {
			done = true
			return nil
		}
		end := wm.at.Add(maxChunk)
		if !end.Before(target) {
			end, done = target, true
		}
		if err := addRange(ctx, c, wm.at, end); err != nil {
			return err
		}
		return wm.move(ctx, c, end)
	})
	return done, err
}

// RebuildReport says what Rebuild did.
type RebuildReport struct {
	Watermark        time.Time
	ClickRows        int
	ConversionRows   int
	PreviousVersions int64
}

// Rebuild recomputes every rollup from the raw rows, up to the current watermark, in one
// transaction: readers see the old rollups or the new ones, never a mix.
func Rebuild(ctx context.Context, db *storage.DB) (RebuildReport, error) {
	var rep RebuildReport
	err := inTx(ctx, db, true, func(c querier, _ bool) error {
		wm, err := readWatermark(ctx, c, db.Dialect)
		if err != nil {
			return err
		}
		rep.Watermark, rep.PreviousVersions = wm.at, wm.version
		for _, table := range []string{"stats_click_rollups", "stats_conversion_rollups"} {
			if _, err := c.ExecContext(ctx, "DELETE FROM "+table); err != nil {
				return fmt.Errorf("clear %s: %w", table, err)
			}
		}
		start, ok, err := earliest(ctx, c)
		if err != nil {
			return err
		}
		for ok && start.Before(wm.at) {
			end := start.Add(maxChunk)
			if end.After(wm.at) {
				end = wm.at
			}
			if err := addRange(ctx, c, start, end); err != nil {
				return err
			}
			start = end
		}
		for table, n := range map[string]*int{"stats_click_rollups": &rep.ClickRows, "stats_conversion_rollups": &rep.ConversionRows} {
			if err := scalar(ctx, c, "SELECT COUNT(*) FROM "+table, n); err != nil {
				return err
			}
		}
		return wm.move(ctx, c, wm.at)
	})
	return rep, err
}

// inTx runs fn in a transaction; on PostgreSQL it first takes the advisory lock, waiting for it
// when wait is set, and tells fn whether it holds it (SQLite's writers are serialized anyway).
func inTx(ctx context.Context, db *storage.DB, wait bool, fn func(c querier, locked bool) error) error {
	tx, err := db.Client.Tx(ctx)
	if err != nil {
		return fmt.Errorf("stats: begin: %w", err)
	}
	c := tx.Client()
	locked := true
	if db.Dialect == dialect.Postgres {
		q := "SELECT pg_try_advisory_xact_lock($1)"
		if wait {
			q = "SELECT pg_advisory_xact_lock($1) IS NULL"
		}
		if err := scalar(ctx, c, q, &locked, lockID); err != nil {
			_ = tx.Rollback()
			return err
		}
		locked = locked || wait
	}
	if err := fn(c, locked); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("stats: commit: %w", err)
	}
	return nil
}

// watermark is the stats_watermark row.
type watermark struct {
	id      int64
	at      time.Time
	version int64
}

// watermarkSQL reads the watermark row.
const watermarkSQL = "SELECT id, rolled_up_to, version FROM stats_watermark ORDER BY id LIMIT 1"

// readWatermark reads (and on PostgreSQL locks) the watermark row, creating it on first use at
// the start of the oldest raw row's bucket, or at now's bucket when there are none.
func readWatermark(ctx context.Context, c querier, dialectName string) (watermark, error) {
	q := watermarkSQL
	if dialectName == dialect.Postgres {
		q += " FOR UPDATE"
	}
	wm, ok, err := queryWatermark(ctx, c, q)
	if err != nil || ok {
		return wm, err
	}
	start, any, err := earliest(ctx, c)
	if err != nil {
		return wm, err
	}
	if !any {
		start = Floor(time.Now().Add(-Lag))
	}
	if _, err := c.ExecContext(ctx, "INSERT INTO stats_watermark (rolled_up_to, version) VALUES ($1, 0)", arg(start)); err != nil {
		return wm, fmt.Errorf("stats: create watermark: %w", err)
	}
	wm, _, err = queryWatermark(ctx, c, q)
	return wm, err
}

func queryWatermark(ctx context.Context, c querier, q string) (watermark, bool, error) {
	rows, err := c.QueryContext(ctx, q)
	if err != nil {
		return watermark{}, false, fmt.Errorf("stats: read watermark: %w", err)
	}
	defer rows.Close()
	var wm watermark
	if !rows.Next() {
		return wm, false, rows.Err()
	}
	var at any
	if err := rows.Scan(&wm.id, &at, &wm.version); err != nil {
		return wm, false, fmt.Errorf("stats: read watermark: %w", err)
	}
	wm.at, err = sqlTime(at)
	return wm, err == nil, err
}

func (wm watermark) move(ctx context.Context, c querier, to time.Time) error {
	_, err := c.ExecContext(ctx, "UPDATE stats_watermark SET rolled_up_to = $1, version = version + 1 WHERE id = $2", arg(to), wm.id)
	if err != nil {
		return fmt.Errorf("stats: move watermark: %w", err)
	}
	return nil
}

// earliest is the bucket of the oldest click or status change.
func earliest(ctx context.Context, c querier) (time.Time, bool, error) {
	var first time.Time
	found := false
	for _, q := range []string{"SELECT MIN(created_at) FROM clicks", "SELECT MIN(created_at) FROM conversion_status_changes"} {
		var v any
		if err := scalar(ctx, c, q, &v); err != nil {
			return first, false, err
		}
		if v == nil {
			continue
		}
		t, err := sqlTime(v)
		if err != nil {
			return first, false, err
		}
		if !found || t.Before(first) {
			first, found = t, true
		}
	}
	return Floor(first), found, nil
}

// scalar runs a query that returns one value.
func scalar(ctx context.Context, c querier, q string, dst any, args ...any) error {
	rows, err := c.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("stats: %s: %w", q, err)
	}
	defer rows.Close()
	if rows.Next() {
		if err := rows.Scan(dst); err != nil {
			return fmt.Errorf("stats: %s: %w", q, err)
		}
	}
	return rows.Err()
}

// counts are the net effect of status changes on one event and bucket.
type counts struct {
	conversions, pending, approved, reversed, rejected, spend int64
}

func (c *counts) add(o counts) {
	c.conversions += o.conversions
	c.pending += o.pending
	c.approved += o.approved
	c.reversed += o.reversed
	c.rejected += o.rejected
	c.spend += o.spend
}

// apply adds one status change of a conversion that pays payout.
func (c *counts) apply(from *lifecycle.Status, to lifecycle.Status, payout int64) {
	if from == nil {
		c.conversions++
	} else {
		c.status(*from, -1)
		if from.Spends() {
			c.spend -= payout
		}
	}
	c.status(to, 1)
	if to.Spends() {
		c.spend += payout
	}
}

func (c *counts) status(s lifecycle.Status, d int64) {
	switch s {
	case lifecycle.Pending:
		c.pending += d
	case lifecycle.Approved:
		c.approved += d
	case lifecycle.Reversed:
		c.reversed += d
	case lifecycle.Rejected:
		c.rejected += d
	}
}

type clickKey struct {
	account, offer int
	bucket         time.Time
}

type convKey struct {
	account, offer, event int
	bucket                time.Time
}

// addRange adds the clicks and status changes created in [from, to) to the rollups. The join
// with accounts lets both databases walk the (account_id, created_at) indexes.
func addRange(ctx context.Context, c querier, from, to time.Time) error {
	clicks := map[clickKey]*clickAgg{}
	err := eachRow(ctx, c, `SELECT c.account_id, c.offer_id, c.created_at, c.pub_member_id
		FROM accounts a JOIN clicks c ON c.account_id = a.id
		WHERE c.created_at >= $1 AND c.created_at < $2 AND NOT c.test`, []any{arg(from), arg(to)},
		func(rows *sql.Rows) error {
			var k clickKey
			var at any
			var member sql.NullString
			if err := rows.Scan(&k.account, &k.offer, &at, &member); err != nil {
				return err
			}
			t, err := sqlTime(at)
			if err != nil {
				return err
			}
			k.bucket = Floor(t)
			agg := clicks[k]
			if agg == nil {
				agg = &clickAgg{}
				clicks[k] = agg
			}
			agg.addClick(member.String)
			return nil
		})
	if err != nil {
		return fmt.Errorf("stats: read clicks: %w", err)
	}
	convs := map[convKey]*counts{}
	err = eachRow(ctx, c, `SELECT h.account_id, v.offer_id, v.offer_event_id, v.created_at, v.payout, h.from_status, h.to_status
		FROM accounts a JOIN conversion_status_changes h ON h.account_id = a.id JOIN conversions v ON v.account_id = h.account_id AND v.id = h.conversion_id
		WHERE h.created_at >= $1 AND h.created_at < $2 AND NOT v.test`, []any{arg(from), arg(to)},
		func(rows *sql.Rows) error {
			var k convKey
			var at any
			var payout int64
			var fromStatus sql.NullString
			var toStatus string
			if err := rows.Scan(&k.account, &k.offer, &k.event, &at, &payout, &fromStatus, &toStatus); err != nil {
				return err
			}
			t, err := sqlTime(at)
			if err != nil {
				return err
			}
			k.bucket = Floor(t)
			agg := convs[k]
			if agg == nil {
				agg = &counts{}
				convs[k] = agg
			}
			var fs *lifecycle.Status
			if fromStatus.Valid {
				s := lifecycle.Status(fromStatus.String)
				fs = &s
			}
			agg.apply(fs, lifecycle.Status(toStatus), payout)
			return nil
		})
	if err != nil {
		return fmt.Errorf("stats: read status changes: %w", err)
	}
	if err := insertClicks(ctx, c, clicks); err != nil {
		return err
	}
	return upsertConversions(ctx, c, convs)
}

// batchRows is how many rollup rows one INSERT carries.
const batchRows = 200

func insertClicks(ctx context.Context, c querier, clicks map[clickKey]*clickAgg) error {
	var vals []string
	var args []any
	flush := func() error {
		if len(vals) == 0 {
			return nil
		}
		_, err := c.ExecContext(ctx, "INSERT INTO stats_click_rollups (account_id, offer_id, bucket, clicks, members) VALUES "+
			strings.Join(vals, ", "), args...)
		vals, args = vals[:0], args[:0]
		if err != nil {
			return fmt.Errorf("stats: write click rollups: %w", err)
		}
		return nil
	}
	for k, agg := range clicks {
		members, err := agg.sketchBytes()
		if err != nil {
			return err
		}
		vals = append(vals, placeholders(len(args), 5))
		args = append(args, k.account, k.offer, arg(k.bucket), agg.clicks, members)
		if len(vals) == batchRows {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

func upsertConversions(ctx context.Context, c querier, convs map[convKey]*counts) error {
	const cols = "conversions, pending, approved, reversed, rejected, spend"
	var set []string
	for _, col := range strings.Split(cols, ", ") {
		set = append(set, col+" = stats_conversion_rollups."+col+" + excluded."+col)
	}
	var vals []string
	var args []any
	flush := func() error {
		if len(vals) == 0 {
			return nil
		}
		_, err := c.ExecContext(ctx, "INSERT INTO stats_conversion_rollups (account_id, offer_id, offer_event_id, bucket, "+cols+") VALUES "+
			strings.Join(vals, ", ")+" ON CONFLICT (account_id, offer_id, bucket, offer_event_id) DO UPDATE SET "+strings.Join(set, ", "), args...)
		vals, args = vals[:0], args[:0]
		if err != nil {
			return fmt.Errorf("stats: write conversion rollups: %w", err)
		}
		return nil
	}
	for k, n := range convs {
		vals = append(vals, placeholders(len(args), 10))
		args = append(args, k.account, k.offer, k.event, arg(k.bucket), n.conversions, n.pending, n.approved, n.reversed, n.rejected, n.spend)
		if len(vals) == batchRows {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// placeholders returns "($n+1, …, $n+k)".
func placeholders(n, k int) string {
	p := make([]string, k)
	for i := range p {
		p[i] = "$" + strconv.Itoa(n+i+1)
	}
	return "(" + strings.Join(p, ", ") + ")"
}

// eachRow runs q and calls fn for every row.
func eachRow(ctx context.Context, c querier, q string, args []any, fn func(*sql.Rows) error) error {
	rows, err := c.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// clickAgg counts clicks and sketches their members.
type clickAgg struct {
	clicks int64
	sketch interface {
		Insert([]byte)
		MarshalBinary() ([]byte, error)
		Estimate() uint64
	}
}

func (a *clickAgg) addClick(member string) {
	a.clicks++
	if member == "" {
		return
	}
	if a.sketch == nil {
		a.sketch = newSketch()
	}
	a.sketch.Insert([]byte(member))
}

func (a *clickAgg) sketchBytes() ([]byte, error) {
	if a.sketch == nil {
		return nil, nil
	}
	b, err := a.sketch.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("stats: encode members sketch: %w", err)
	}
	return b, nil
}
