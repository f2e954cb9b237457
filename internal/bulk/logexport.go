package bulk

import (
	"context"
	"database/sql"
	"io"
	"strconv"
	"time"

	"github.com/gokart/gokart/ent/postbacklog"
	"github.com/gokart/gokart/internal/errcode"
)

// LogExportColumns is the postback log export's header row.
var LogExportColumns = []string{"id", "created_at", "outcome", "http_status", "reason", "offer_id", "conversion_id", "source_ip", "raw_query"}

// LogExportFilter selects the postback log rows of one export.
type LogExportFilter struct {
	AccountID int
	// From (inclusive) and To (exclusive) bound created_at.
	From, To time.Time
	Outcomes []postbacklog.Outcome
	// After continues after the row with this id, Limit is the most rows (0: MaxExportRows):
	// as in ExportFilter.
	After, Limit int
}

// Normalize fills the defaults and checks the bounds; errors name the query parameter.
func (f *LogExportFilter) Normalize(now time.Time) error {
	if err := normalizeRange(now, &f.From, &f.To, &f.Limit); err != nil {
		return err
	}
	for _, o := range f.Outcomes {
		if postbacklog.OutcomeValidator(o) != nil {
			return errcode.Invalid("outcome", "%q is not a postback outcome", o)
		}
	}
	return nil
}

const logExportSQL = `SELECT id, created_at, outcome, http_status, reason, offer_id, conversion_id, source_ip, raw_query
FROM postback_logs
WHERE account_id = $1 AND created_at >= $2 AND created_at < $3 AND (created_at > $2 OR id > $4)`

// ExportPostbackLogs writes the filter's postback log rows as CSV like ExportConversions: in
// (created_at, id) order, chunk by chunk, flushing after each. It returns the rows written.
func ExportPostbackLogs(ctx context.Context, db *sql.DB, f LogExportFilter, w io.Writer, flush func()) (int, error) {
	args := []any{f.AccountID, f.From, f.To, 0}
	outcomes := make([]string, len(f.Outcomes))
	for i, o := range f.Outcomes {
		outcomes[i] = string(o)
	}
	q := logExportSQL + inList("outcome", outcomes, &args) + " ORDER BY created_at, id LIMIT " + strconv.Itoa(exportChunk)
	var r logRow
	return streamKeyset(ctx, db, keyset{
		what: "postback logs", table: "postback_logs", query: q, args: args,
		after: f.After, limit: f.Limit, columns: LogExportColumns,
		scan: func(rows *sql.Rows) (time.Time, int, error) {
			err := rows.Scan(&r.id, &r.createdAt, &r.outcome, &r.httpStatus, &r.reason, &r.offerID, &r.conversionID, &r.sourceIP, &r.rawQuery)
			return r.createdAt, r.id, err
		},
		record: r.record,
	}, w, flush)
}

// logRow is one postback log row, scanned into the same variables for every row.
type logRow struct {
	id, httpStatus        int
	createdAt             time.Time
	outcome, rawQuery     string
	reason, sourceIP      sql.NullString
	offerID, conversionID sql.NullInt64
}

func (r *logRow) record(out []string) {
	out[0] = strconv.Itoa(r.id)
	out[1] = r.createdAt.UTC().Format(time.RFC3339Nano)
	out[2] = r.outcome
	out[3] = strconv.Itoa(r.httpStatus)
	out[4] = r.reason.String
	out[5], out[6] = nullInt(r.offerID), nullInt(r.conversionID)
	out[7] = r.sourceIP.String
	out[8] = r.rawQuery
}

func nullInt(n sql.NullInt64) string {
	if !n.Valid {
		return ""
	}
	return strconv.FormatInt(n.Int64, 10)
}
