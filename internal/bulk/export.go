package bulk

import (
	"context"
	"database/sql"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gokart/gokart/internal/errcode"
	"github.com/gokart/gokart/internal/lifecycle"
	"github.com/gokart/gokart/internal/money"
)

// Bounds of one export request: a time range of at most MaxExportSpan (default the last 31
// days) and at most MaxExportRows rows; a longer export continues with after= the last id.
const (
	MaxExportRows = 1_000_000
	MaxExportSpan = 366 * 24 * time.Hour
	DefaultSpan   = 31 * 24 * time.Hour
	// exportChunk is how many rows one statement reads: memory holds one chunk's row at a
	// time (rows are scanned and written one by one), and the statement count is rows/1000.
	exportChunk = 1000
)

// ExportColumns is the export's header row.
var ExportColumns = []string{"id", "created_at", "updated_at", "status", "reason", "offer_id", "event_id",
	"network_conversion_id", "gk_click_id", "pub_member_id", "payout", "amount", "currency", "reported_currency", "test"}

// ExportFilter selects the conversions of one export.
type ExportFilter struct {
	AccountID int
	// From (inclusive) and To (exclusive) bound created_at.
	From, To time.Time
	Statuses []lifecycle.Status
	OfferID  int
	// After continues an export after the conversion with this id (the last row of the
	// previous response), in the same order (created_at, id).
	After int
	// Limit is the most rows to write, at most MaxExportRows (0: MaxExportRows).
	Limit int
}

// Normalize fills the defaults and checks the bounds; errors name the query parameter.
func (f *ExportFilter) Normalize(now time.Time) error {
	if err := normalizeRange(now, &f.From, &f.To, &f.Limit); err != nil {
		return err
	}
	for _, s := range f.Statuses {
		if !slices.Contains(s.Values(), string(s)) {
			return errcode.Invalid("status", "%q is not a conversion status", s)
		}
	}
	return nil
}

// normalizeRange fills the default range and limit of an export and checks their bounds.
func normalizeRange(now time.Time, from, to *time.Time, limit *int) error {
	if to.IsZero() {
		*to = now
	}
	if from.IsZero() {
		*from = to.Add(-DefaultSpan)
	}
	*from, *to = from.UTC(), to.UTC()
	switch {
	case !from.Before(*to):
		return errcode.Invalid("from", "must be before to")
	case to.Sub(*from) > MaxExportSpan:
		return errcode.Invalid("from", "the range may span at most 366 days; export in parts")
	case *limit < 0 || *limit > MaxExportRows:
		return errcode.Invalid("limit", "must be between 1 and %d", MaxExportRows)
	}
	if *limit == 0 {
		*limit = MaxExportRows
	}
	return nil
}

// exportSQL reads the chunk after the keyset ($2, $4) = (created_at, id) of the last row read
// (from, 0 at first): created_at >= $2 alone bounds the index range, so each chunk starts
// where the last ended instead of at from.
const exportSQL = `SELECT cv.id, cv.created_at, cv.updated_at, cv.status, cv.reason, cv.offer_id, e.event_id,
 cv.network_conversion_id, c.gk_click_id, cv.pub_member_id, cv.payout, cv.amount, cv.currency, cv.reported_currency, cv.test
FROM conversions cv
JOIN clicks c ON c.account_id = cv.account_id AND c.id = cv.click_id
JOIN offer_events e ON e.account_id = cv.account_id AND e.id = cv.offer_event_id
WHERE cv.account_id = $1 AND cv.created_at >= $2 AND cv.created_at < $3 AND (cv.created_at > $2 OR cv.id > $4)`

// ExportConversions writes the filter's conversions as CSV (header first) to w in the order
// (created_at, id), reading them in chunks of exportChunk by keyset (never one result in
// memory), and flushes after every chunk. It returns the rows written.
func ExportConversions(ctx context.Context, db *sql.DB, f ExportFilter, w io.Writer, flush func()) (int, error) {
	q := exportSQL
	args := []any{f.AccountID, f.From, f.To, 0}
	if f.OfferID != 0 {
		args = append(args, f.OfferID)
		q += " AND cv.offer_id = $" + strconv.Itoa(len(args))
	}
	q += inList("cv.status", statusStrings(f.Statuses), &args)
	var r exportRow
	return streamKeyset(ctx, db, keyset{
		what:    "conversions",
		table:   "conversions",
		query:   q + " ORDER BY cv.created_at, cv.id LIMIT " + strconv.Itoa(exportChunk),
		args:    args,
		after:   f.After,
		limit:   f.Limit,
		columns: ExportColumns,
		scan: func(rows *sql.Rows) (time.Time, int, error) {
			err := r.scan(rows)
			return r.createdAt, r.id, err
		},
		record: r.record,
	}, w, flush)
}

func statusStrings(ss []lifecycle.Status) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return out
}

// inList is " AND col IN ($n, …)" with vals appended to args, or "" without vals.
func inList(col string, vals []string, args *[]any) string {
	if len(vals) == 0 {
		return ""
	}
	marks := make([]string, len(vals))
	for i, v := range vals {
		*args = append(*args, v)
		marks[i] = "$" + strconv.Itoa(len(*args))
	}
	return " AND " + col + " IN (" + strings.Join(marks, ", ") + ")"
}

// keyset is one chunked export of an account's table in (created_at, id) order. query reads
// the chunk after the keyset ($2, $4) = (created_at, id) of the last row read and ends in
// ORDER BY created_at, id LIMIT exportChunk; args[1] and args[3] are that keyset.
type keyset struct {
	what, table string
	query       string
	args        []any
	// after is the id of the row to continue after (0: from the start of the range).
	after   int
	limit   int
	columns []string
	// scan reads one row into the caller's variables and returns its keyset; record writes
	// the last row scanned into a CSV record.
	scan   func(*sql.Rows) (time.Time, int, error)
	record func([]string)
}

// streamKeyset writes k's rows as CSV (header first) to w, reading them in chunks of
// exportChunk by keyset (never one result in memory: rows are scanned and written one by
// one), and flushes after every chunk. It returns the rows written.
func streamKeyset(ctx context.Context, db *sql.DB, k keyset, w io.Writer, flush func()) (int, error) {
	args := k.args
	if k.after != 0 {
		// The row to continue after, if it is in the range (else nothing comes after it).
		var at time.Time
		err := db.QueryRowContext(ctx, `SELECT created_at FROM `+k.table+` WHERE account_id = $1 AND id = $2`, args[0], k.after).Scan(&at)
		if err == sql.ErrNoRows {
			return 0, errcode.Invalid("after", "no %s row %d in this account", k.what, k.after)
		}
		if err != nil {
			return 0, fmt.Errorf("export %s: find the row to continue after: %w", k.what, err)
		}
		args[1], args[3] = at, k.after
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(k.columns); err != nil {
		return 0, err
	}
	var (
		record  = make([]string, len(k.columns))
		written int
		lastAt  time.Time
		lastID  int
	)
	for written < k.limit {
		rows, err := db.QueryContext(ctx, k.query, args...)
		if err != nil {
			return written, fmt.Errorf("export %s: %w", k.what, err)
		}
		n := 0
		for rows.Next() && written < k.limit {
			if lastAt, lastID, err = k.scan(rows); err != nil {
				rows.Close()
				return written, fmt.Errorf("export %s: %w", k.what, err)
			}
			k.record(record)
			if err := cw.Write(record); err != nil {
				rows.Close()
				return written, err
			}
			n++
			written++
		}
		err = rows.Err()
		if cerr := rows.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return written, fmt.Errorf("export %s: %w", k.what, err)
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return written, err
		}
		if flush != nil {
			flush()
		}
		if n < exportChunk {
			break
		}
		args[1], args[3] = lastAt, lastID
	}
	return written, nil
}

// exportRow is one row's columns, scanned into the same variables for every row.
type exportRow struct {
	id, offerID          int
	createdAt, updatedAt time.Time
	status, eventID      string
	currency, gkClickID  string
	reason, ncid, member sql.NullString
	reported             sql.NullString
	payout               int64
	amount               sql.NullInt64
	test                 bool
}

func (r *exportRow) scan(rows *sql.Rows) error {
	return rows.Scan(&r.id, &r.createdAt, &r.updatedAt, &r.status, &r.reason, &r.offerID, &r.eventID,
		&r.ncid, &r.gkClickID, &r.member, &r.payout, &r.amount, &r.currency, &r.reported, &r.test)
}

func (r *exportRow) record(out []string) {
	out[0] = strconv.Itoa(r.id)
	out[1] = r.createdAt.UTC().Format(time.RFC3339Nano)
	out[2] = r.updatedAt.UTC().Format(time.RFC3339Nano)
	out[3] = r.status
	out[4] = r.reason.String
	out[5] = strconv.Itoa(r.offerID)
	out[6] = r.eventID
	out[7] = r.ncid.String
	out[8] = r.gkClickID
	out[9] = r.member.String
	out[10] = money.Micros(r.payout).String()
	out[11] = ""
	if r.amount.Valid {
		out[11] = money.Micros(r.amount.Int64).String()
	}
	out[12] = r.currency
	out[13] = r.reported.String
	out[14] = strconv.FormatBool(r.test)
}
