package main

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"

	_ "github.com/lib/pq" // the bench account's database is PostgreSQL
)

// prefill gives the bench account a history, so that the measured cases run over a database
// the size of a real account's instead of a fresh one: clicks, and conversions of half of them
// (each with its first status change and its postback log row), on an offer of their own,
// spread over the past 90 days. PostgreSQL writes them itself (generate_series), in chunks, so
// a million rows take minutes rather than hours, then the tables are analyzed as autovacuum
// would. offerID is a published offer of the account with the event "Sign Up".
func prefill(ctx context.Context, databaseURL string, accountID int64, offerID string, clicks int, logf func(string, ...any)) error {
	db, err := sql.Open("postgres", databaseURL)
	if err != nil {
		return fmt.Errorf("prefill: %w", err)
	}
	defer db.Close()
	oid, err := strconv.ParseInt(offerID, 10, 64)
	if err != nil {
		return fmt.Errorf("prefill: offer id %q: %w", offerID, err)
	}
	var eventID int64
	if err := db.QueryRowContext(ctx, `SELECT id FROM offer_events WHERE account_id = $1 AND offer_id = $2 AND event_id = $3`,
		accountID, oid, convertEvent).Scan(&eventID); err != nil {
		return fmt.Errorf("prefill: event of offer %d: %w", oid, err)
	}
	const chunk = 200_000
	t0 := time.Now()
	for from := 1; from <= clicks; from += chunk {
		to := min(from+chunk-1, clicks)
		steps := []string{
			// Clicks: one every few seconds, newest first, over the past 90 days.
			`INSERT INTO clicks (gk_click_id, offer_id, account_id, pub_member_id, pub_click_id, ip, user_agent, created_at)
SELECT 'prefill-' || $2::bigint || '-' || g, $1, $2, 'member-' || g, 'pc-' || g, '127.0.0.1', 'gokart-bench prefill',
  now() - interval '10 minutes' - (g * (7776000.0 / $5)) * interval '1 second'
FROM generate_series($3::bigint, $4::bigint) g`,
			// Every second click converted: pending, approved or reversed.
			`INSERT INTO conversions (created_at, updated_at, integration_system, network_conversion_id, status, payout, currency,
  pub_member_id, click_id, account_id, offer_id, offer_event_id)
SELECT c.created_at + interval '1 hour', c.created_at + interval '1 hour', 'IMPACT', 'prefill-' || c.id,
  (ARRAY['PENDING', 'APPROVED', 'REVERSED'])[1 + (c.id % 3)], 1000000, 'USD', c.pub_member_id, c.id, c.account_id, c.offer_id, $5
FROM generate_series($3::bigint, $4::bigint) g JOIN clicks c ON c.account_id = $2 AND c.gk_click_id = 'prefill-' || $2::bigint || '-' || g
WHERE g % 2 = 0 AND c.offer_id = $1`,
		}
		for i, q := range steps {
			args := []any{oid, accountID, from, to, clicks}
			if i == 1 {
				// Without statistics of the new clicks the planner takes the table for a few
				// rows and scans it once per converted click (hours for a million).
				if _, err := db.ExecContext(ctx, `ANALYZE clicks`); err != nil {
					return fmt.Errorf("prefill: analyze clicks: %w", err)
				}
				args = []any{oid, accountID, from, to, eventID}
			}
			if _, err := db.ExecContext(ctx, q, args...); err != nil {
				return fmt.Errorf("prefill clicks %d-%d: %w", from, to, err)
			}
		}
		logf("prefill: %d of %d clicks in %s", to, clicks, time.Since(t0).Round(time.Second))
	}
	for _, q := range []string{
		`INSERT INTO conversion_status_changes (account_id, conversion_id, from_status, to_status, reason, source, created_at)
SELECT account_id, id, NULL, status, '', 'POSTBACK', created_at FROM conversions WHERE account_id = $1 AND offer_id = $2`,
		`INSERT INTO postback_logs (account_id, raw_query, source_ip, outcome, http_status, reason, conversion_id, offer_id, created_at)
SELECT account_id, 'key=REDACTED&gk_click_id=prefill', '127.0.0.1', 'ACCEPTED', 200, 'new conversion', id, offer_id, created_at
FROM conversions WHERE account_id = $1 AND offer_id = $2`,
	} {
		if _, err := db.ExecContext(ctx, q, accountID, oid); err != nil {
			return fmt.Errorf("prefill history: %w", err)
		}
	}
	// Vacuumed and checkpointed now, so that the measured phases after it do not pay for the
	// prefill: autovacuum of millions of new rows, hint bits set on first read, full-page writes
	// of the pages a checkpoint meanwhile would make dirty again.
	for _, q := range []string{`VACUUM (ANALYZE) clicks, conversions, conversion_status_changes, postback_logs`, `ANALYZE`} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("prefill: %s: %w", q, err)
		}
	}
	checkpoint(ctx, db, logf)
	var nClicks, nConv int64
	if err := db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM clicks WHERE account_id = $1), (SELECT count(*) FROM conversions WHERE account_id = $1)`,
		accountID).Scan(&nClicks, &nConv); err != nil {
		return fmt.Errorf("prefill: count: %w", err)
	}
	logf("prefill: the account now has %d clicks and %d conversions (%s)", nClicks, nConv, time.Since(t0).Round(time.Second))
	return nil
}

// checkpoint runs CHECKPOINT before a case, so that no case pays for a checkpoint of the writes
// before it (the ceiling's pgbench, the last case's, the prefill's): every case, on an empty
// account or a prefilled one, starts from the same state. It needs superuser or pg_checkpoint;
// refused, the figures are still right, only noisier, and it says so.
func checkpoint(ctx context.Context, db *sql.DB, logf func(string, ...any)) {
	if _, err := db.ExecContext(ctx, `CHECKPOINT`); err != nil {
		logf("!!! CHECKPOINT refused (%v): a checkpoint during the measured phases may lower them", err)
	}
}
