package stats

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/axiomhq/hyperloglog"
)

// querier is what the raw SQL here needs: an *ent.Client, or the client of a transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// sqlTimeLayouts are the ways a time comes back from SQLite when the driver does not parse it
// (expressions lose the column's declared type).
var sqlTimeLayouts = []string{
	"2006-01-02 15:04:05.999999999 -0700 MST", // time.Time.String(), modernc's default
	"2006-01-02 15:04:05.999999999-07:00",
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
}

// sqlTime reads a scanned time column of either dialect.
func sqlTime(v any) (time.Time, error) {
	switch t := v.(type) {
	case time.Time:
		return t.UTC(), nil
	case string:
		return parseSQLTime(t)
	case []byte:
		return parseSQLTime(string(t))
	}
	return time.Time{}, fmt.Errorf("unexpected time value %T %v", v, v)
}

func parseSQLTime(s string) (time.Time, error) {
	if i := strings.Index(s, " m="); i > 0 { // time.Time.String() of a monotonic reading
		s = s[:i]
	}
	for _, l := range sqlTimeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("unreadable time %q", s)
}

// arg is how a time is passed to the database: UTC, without a monotonic reading, so SQLite's
// text times compare in one offset.
func arg(t time.Time) time.Time { return t.UTC().Round(0) }

// inList returns "$n, $n+1, …" for ids and appends them to args.
func inList(args []any, ids []int) (string, []any) {
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteString(", ")
		}
		args = append(args, id)
		b.WriteString("$" + strconv.Itoa(len(args)))
	}
	return b.String(), args
}

// newSketch returns an empty members sketch.
func newSketch() *hyperloglog.Sketch { return hyperloglog.New14() }

// newAccumulator returns an empty dense sketch of the same precision, for merging many bucket
// sketches into: a sparse sketch merges into a dense one entry by entry, without the sorting
// and re-encoding that sparse-into-sparse merges cost.
func newAccumulator() *hyperloglog.Sketch { return hyperloglog.NewNoSparse() }

// readSketch decodes a stored sketch; nil or empty means no members.
func readSketch(b []byte) (*hyperloglog.Sketch, error) {
	sk := newSketch()
	if len(b) == 0 {
		return sk, nil
	}
	if err := sk.UnmarshalBinary(b); err != nil {
		return nil, fmt.Errorf("decode members sketch: %w", err)
	}
	return sk, nil
}
