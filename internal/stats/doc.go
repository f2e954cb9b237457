// Package stats answers the reports of offers, offer events and accounts (clicks, unique
// members, conversions by status, spend, rates and a time series in the account's time zone)
// at a cost that does not grow with the number of clicks and conversions in the period, and
// exactly: every committed click and status change counts once.
//
// # Rollups and the watermark
//
// A background aggregator (Aggregate, started by `gokart serve`; RollUp for tests and tools)
// folds the raw rows into rollups per account, offer (and event) and 15-minute bucket, UTC:
//
//   - stats_click_rollups: clicks per offer and bucket of the click, with a HyperLogLog sketch
//     of the members who clicked. Clicks are immutable, and a bucket is written once.
//   - stats_conversion_rollups: per event and bucket of the conversion's creation, the net
//     number of conversions in each status (changes into the status minus changes out of it)
//     and the spend moved (payout × (spends(to) − spends(from))), from the status history,
//     whose rows are immutable too. So a conversion counts under its current status, in the
//     bucket it was created in, and the aggregator only ever adds.
//
// One row, stats_watermark, says how far the rollups reach: every click and status change
// created before rolled_up_to is in them, none after. A roll-up moves the watermark and adds
// the rows of [old, new) in one transaction (on PostgreSQL under an advisory lock, and the
// watermark row is locked, so replicas never count twice). A report reads the rollups and the
// raw rows created since the watermark: at most Lag plus the aggregator's interval of rows, so
// its cost depends on the range's length and the traffic of the last minutes, never on history.
// It reads the watermark before and after, and reads again if a roll-up committed meanwhile.
//
// The hot paths (click and postback) write nothing for reports: no counter row that every click
// updates. The only cost they carry is one index on conversion_status_changes (account_id,
// created_at), which the aggregator and the reports' tail read.
//
// # The lag assumption
//
// The watermark trails the clock by Lag (2 minutes). A click or status change is stamped with
// its created_at before its transaction commits; rows are exact as long as that transaction
// commits within Lag of its created_at (the postback path gives up after 15 s, the HTTP server
// after 60 s). A row that commits later than that, behind the watermark, is missed by the
// rollups until `gokart stats rebuild` recomputes them from the raw rows.
//
// # Time zones
//
// Every real time-zone offset is a multiple of 15 minutes, so the hours and days of any zone,
// across DST changes too, are unions of 15-minute UTC buckets: a day of 23 or 25 hours is just
// 92 or 100 buckets. Ranges are rounded down to a quarter hour.
//
// # Unique members
//
// Counting distinct members exactly over a long range needs every member id of the range, which
// grows with the clicks. Each click bucket keeps a HyperLogLog sketch (github.com/axiomhq/hyperloglog,
// precision 14: a relative standard error of about 0.81 %, and near-exact counts for small sets
// thanks to its sparse representation); a report merges the sketches of its buckets and of the
// raw tail.
package stats
