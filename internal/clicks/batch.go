package clicks

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"entgo.io/ent/dialect"

	"github.com/gokart/gokart/internal/budget"
)

// BatchMax is the most clicks one statement records.
const BatchMax = 64

// batchWindow is how long a batch waits for more clicks when every flush slot is busy.
const batchWindow = time.Millisecond

// row is one click to insert: its columns, then budget.ClickTerms.
type row struct {
	args []any
	gkID string
	done chan error // nil: inserted; errNotTaken: the offer did not take it
}

var errNotTaken = fmt.Errorf("offer did not take the click")

// batcher records concurrent clicks together: a click waits until a flush slot is free (at
// most about batchWindow once one is busy), and the clicks gathered meanwhile go in one
// multi-row statement and one commit, so the WAL flush that bounds click throughput is paid
// once per batch. Every click is answered only after its batch committed. A batch that fails
// is retried one row at a time, so one bad row refuses only itself.
type batcher struct {
	db interface {
		QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	}
	postgres bool
	in       chan *row
	slots    chan struct{}
	start    sync.Once
}

func newBatcher(db interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}, dialectName string) *batcher {
	slots := 1 // SQLite takes one writer at a time
	if dialectName == dialect.Postgres {
		slots = 2
	}
	return &batcher{db: db, postgres: dialectName == dialect.Postgres, in: make(chan *row, BatchMax), slots: make(chan struct{}, slots)}
}

// insert records one click row through the batcher; errNotTaken means the offer's status or
// limits refused it in the statement.
func (b *batcher) insert(ctx context.Context, r *row) error {
	b.start.Do(func() { go b.collect() })
	r.done = make(chan error, 1)
	select {
	case b.in <- r:
	case <-ctx.Done():
		return ctx.Err()
	}
	// The batch runs to its end even if this click's caller gives up: its row may commit.
	return <-r.done
}

func (b *batcher) collect() {
	for first := range b.in {
		batch := []*row{first}
		timer := time.NewTimer(batchWindow)
	gather:
		for len(batch) < BatchMax {
			select {
			case r := <-b.in:
				batch = append(batch, r)
			case b.slots <- struct{}{}:
				go b.flush(batch)
				batch = nil
				break gather
			case <-timer.C:
				break gather
			}
		}
		timer.Stop()
		if batch != nil {
			b.slots <- struct{}{}
			go b.flush(batch)
		}
	}
}

// flush writes a batch and answers its clicks; it holds a slot until done.
func (b *batcher) flush(batch []*row) {
	defer func() { <-b.slots }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	inserted, err := b.write(ctx, batch)
	if err != nil && len(batch) > 1 {
		for _, r := range batch {
			got, err := b.write(ctx, []*row{r})
			r.done <- answerOf(got, r, err)
		}
		return
	}
	for _, r := range batch {
		r.done <- answerOf(inserted, r, err)
	}
}

func answerOf(inserted map[string]bool, r *row, err error) error {
	switch {
	case err != nil:
		return err
	case inserted[r.gkID]:
		return nil
	}
	return errNotTaken
}

// write inserts the rows in one statement and returns the click ids it inserted.
func (b *batcher) write(ctx context.Context, batch []*row) (map[string]bool, error) {
	q, args := b.statement(batch)
	rows, err := b.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("record %d clicks: %w", len(batch), err)
	}
	defer rows.Close()
	inserted := make(map[string]bool, len(batch))
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("record %d clicks: %w", len(batch), err)
		}
		inserted[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("record %d clicks: %w", len(batch), err)
	}
	return inserted, nil
}

// clickColumns are a click row's own columns and their types, before budget.ClickTerms.
var clickColumns = []struct{ name, typ string }{
	{"gk_click_id", "TEXT"}, {"offer_id", "BIGINT"}, {"account_id", "BIGINT"},
	{"pub_member_id", "TEXT"}, {"pub_click_id", "TEXT"}, {"pub_sub_1", "TEXT"}, {"pub_sub_2", "TEXT"},
	{"pub_sub_3", "TEXT"}, {"pub_sub_4", "TEXT"}, {"pub_sub_5", "TEXT"}, {"ip", "TEXT"}, {"user_agent", "TEXT"},
	{"created_at", "TIMESTAMPTZ"},
}

// rowNames and rowTypes are a click row's columns: its own, then budget.ClickTerms'. Built
// once: every batch's statement is made of them.
var rowNames, rowTypes = func() (names, types []string) {
	for _, c := range clickColumns {
		names, types = append(names, c.name), append(types, c.typ)
	}
	termNames, termTypes := budget.ClickTermColumns()
	return append(names, termNames...), append(types, termTypes...)
}()

// statement is the batch's INSERT, each row inserted only if its offer is ACTIVE and
// budget.ClickGuard lets it. On PostgreSQL the rows go as one array per column (unnest): one
// statement text for every batch size, so the connection's one prepared statement serves
// them all, with a parameter per column instead of one per value to encode and bind.
func (b *batcher) statement(batch []*row) (string, []any) {
	if b.postgres {
		return pgStatement, pgArrays(batch)
	}
	names, types := rowNames, rowTypes
	var q strings.Builder
	q.WriteString("WITH v (" + strings.Join(names, ", ") + ") AS (VALUES ")
	args := make([]any, 0, len(batch)*len(names))
	for i, r := range batch {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(")
		for j := range names {
			if j > 0 {
				q.WriteString(", ")
			}
			args = append(args, r.args[j])
			p := "$" + strconv.Itoa(len(args))
			switch {
			case types[j] == "TIMESTAMPTZ" && !b.postgres:
				q.WriteString(p) // SQLite has no such type: a cast would make the time a number
			default:
				q.WriteString("CAST(" + p + " AS " + types[j] + ")")
			}
		}
		q.WriteString(")")
	}
	q.WriteString(")" + insertFromV)
	return q.String(), args
}

// insertFromV inserts the click rows of v whose offer takes them.
var insertFromV = insertClicks("\nFROM v JOIN offers o ON o.id = v.offer_id AND o.account_id = v.account_id\nWHERE o.status = 'ACTIVE'")

// insertClicks is the INSERT … SELECT of v's rows with from as its FROM and WHERE clauses.
func insertClicks(from string) string {
	return "\nINSERT INTO clicks (" + strings.Join(rowNames[:len(clickColumns)], ", ") + ")\nSELECT v." +
		strings.Join(rowNames[:len(clickColumns)], ", v.") + from + budget.ClickGuard + "\nRETURNING gk_click_id"
}

// pgFromV reads each row's offer by its key (account_id, id). PostgreSQL cannot tell how
// many rows unnest gives, so with a plain join it may hash every ACTIVE offer of every
// account instead; OFFSET 0 keeps the subquery apart, which leaves one key probe per row.
const pgFromV = "\nFROM v CROSS JOIN LATERAL (SELECT * FROM offers o WHERE o.account_id = v.account_id AND o.id = v.offer_id OFFSET 0) o" +
	"\nWHERE o.status = 'ACTIVE'"

// pgStatement is PostgreSQL's batch INSERT: v is the columns' arrays side by side.
var pgStatement = func() string {
	var q strings.Builder
	q.WriteString("WITH v AS (SELECT * FROM unnest(")
	for j, typ := range rowTypes {
		if j > 0 {
			q.WriteString(", ")
		}
		q.WriteString("CAST($" + strconv.Itoa(j+1) + " AS " + typ + "[])")
	}
	q.WriteString(") AS v (" + strings.Join(rowNames, ", ") + "))" + insertClicks(pgFromV))
	return q.String()
}()

// pgArrays turns the batch's rows into one PostgreSQL array literal per column.
func pgArrays(batch []*row) []any {
	args := make([]any, len(rowNames))
	var buf []byte
	for j := range rowNames {
		buf = append(buf[:0], '{')
		for i, r := range batch {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendArrayElem(buf, r.args[j])
		}
		args[j] = string(append(buf, '}'))
	}
	return args
}

// appendArrayElem writes one element of an array literal: NULL, a number, a time in UTC with
// microseconds (PostgreSQL's precision), or a string quoted with its quotes and backslashes
// escaped.
func appendArrayElem(buf []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return append(buf, "NULL"...)
	case int:
		return strconv.AppendInt(buf, int64(v), 10)
	case int64:
		return strconv.AppendInt(buf, v, 10)
	case time.Time:
		buf = append(buf, '"')
		buf = v.UTC().AppendFormat(buf, "2006-01-02 15:04:05.999999Z07:00")
		return append(buf, '"')
	case string:
		buf = append(buf, '"')
		for i := 0; i < len(v); i++ {
			if c := v[i]; c == '"' || c == '\\' {
				buf = append(buf, '\\')
			}
			buf = append(buf, v[i])
		}
		return append(buf, '"')
	}
	panic(fmt.Sprintf("click column value of type %T", v))
}
