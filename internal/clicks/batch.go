package clicks

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
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

// flush writes a batch, one statement per account in it, and answers its clicks; it holds a
// slot until done.
func (b *batcher) flush(batch []*row) {
	defer func() { <-b.slots }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, rows := range byAccount(batch) {
		inserted, err := b.write(ctx, rows)
		if err != nil && len(rows) > 1 {
			for _, r := range rows {
				got, err := b.write(ctx, []*row{r})
				r.done <- answerOf(got, r, err)
			}
			continue
		}
		for _, r := range rows {
			r.done <- answerOf(inserted, r, err)
		}
	}
}

// byAccount splits a batch by the clicks' accounts, in the order each account first appears:
// a statement reads and writes one account's rows only, so that on Citus it runs on the one
// shard that holds them.
func byAccount(batch []*row) [][]*row {
	first := batch[0].args[accountArg]
	if !slices.ContainsFunc(batch, func(r *row) bool { return r.args[accountArg] != first }) {
		return [][]*row{batch} // the usual case
	}
	var groups [][]*row
	at := map[any]int{}
	for _, r := range batch {
		i, ok := at[r.args[accountArg]]
		if !ok {
			i = len(groups)
			at[r.args[accountArg]] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], r)
	}
	return groups
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

// accountArg is where a row's args hold its account: the statement takes it once, as its
// first parameter, not per row.
const accountArg = 2

// vNames and vTypes are the columns of the click rows v, and vArg where each is in a row's
// args: a row's columns but the account, then budget.ClickTerms'. Built once: every batch's
// statement is made of them.
var vNames, vTypes, vArg = func() (names, types []string, at []int) {
	termNames, termTypes := budget.ClickTermColumns()
	for i, c := range clickColumns {
		if i != accountArg {
			names, types, at = append(names, c.name), append(types, c.typ), append(at, i)
		}
	}
	for i := range termNames {
		at = append(at, len(clickColumns)+i)
	}
	return append(names, termNames...), append(types, termTypes...), at
}()

// statement is the INSERT of a batch of one account's clicks, each row inserted only if its
// offer is ACTIVE and budget.ClickGuard lets it; $1 is the account. On PostgreSQL the rows go
// as one array per column (unnest): one statement text for every batch size, so the
// connection's one prepared statement serves them all, with a parameter per column instead of
// one per value to encode and bind.
func (b *batcher) statement(batch []*row) (string, []any) {
	if b.postgres {
		return pgStatement, append([]any{batch[0].args[accountArg]}, pgArrays(batch)...)
	}
	var q strings.Builder
	q.WriteString("WITH v (" + strings.Join(vNames, ", ") + ") AS (VALUES ")
	args := make([]any, 1, 1+len(batch)*len(vNames))
	args[0] = batch[0].args[accountArg]
	for i, r := range batch {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(")
		for j, at := range vArg {
			if j > 0 {
				q.WriteString(", ")
			}
			args = append(args, r.args[at])
			p := "$" + strconv.Itoa(len(args))
			if vTypes[j] == "TIMESTAMPTZ" {
				q.WriteString(p) // SQLite has no such type: a cast would make the time a number
			} else {
				q.WriteString("CAST(" + p + " AS " + vTypes[j] + ")")
			}
		}
		q.WriteString(")")
	}
	q.WriteString(")" + insertFromV)
	return q.String(), args
}

// insertFromV inserts the click rows of v whose offer takes them.
var insertFromV = insertClicks("\nFROM v JOIN offers o ON o.account_id = $1 AND o.id = v.offer_id\nWHERE o.status = 'ACTIVE'")

// insertClicks is the INSERT … SELECT of v's rows with from as its FROM and WHERE clauses.
// The account comes from the offer row, the table the clicks are distributed with on Citus.
func insertClicks(from string) string {
	cols := make([]string, len(clickColumns))
	for i, c := range clickColumns {
		cols[i] = "v." + c.name
		if i == accountArg {
			cols[i] = "o.account_id"
		}
	}
	return "\nINSERT INTO clicks (" + strings.Join(clickNames, ", ") + ")\nSELECT " + strings.Join(cols, ", ") + from +
		budget.ClickGuard("$1") + "\nRETURNING gk_click_id"
}

// clickNames are the columns of clicks a click row fills.
var clickNames = func() []string {
	names := make([]string, len(clickColumns))
	for i, c := range clickColumns {
		names[i] = c.name
	}
	return names
}()

// pgJoinOffer reads each row's offer by its key (account_id, id). PostgreSQL cannot tell how
// many rows unnest gives, so with only the join it may read every ACTIVE offer of the account
// instead; the batch's offer ids as an array of their own ($3, v's offer_id) leave one key
// probe per offer. (Not a LATERAL subquery kept apart with OFFSET 0: Citus cannot push that
// down.)
const pgJoinOffer = "\nJOIN offers o ON o.account_id = $1 AND o.id = ANY(CAST($3 AS BIGINT[])) AND o.id = v.offer_id" +
	"\nWHERE o.status = 'ACTIVE'"

// pgStatement is PostgreSQL's batch INSERT: $1 is the account, v the columns' arrays side by
// side. v is in the FROM list, not a CTE: Citus would run a CTE as a statement of its own.
var pgStatement = func() string {
	var q strings.Builder
	for j, typ := range vTypes {
		if j > 0 {
			q.WriteString(", ")
		}
		q.WriteString("CAST($" + strconv.Itoa(j+2) + " AS " + typ + "[])")
	}
	return insertClicks("\nFROM unnest(" + q.String() + ") AS v (" + strings.Join(vNames, ", ") + ")" + pgJoinOffer)
}()

// pgArrays turns the batch's rows into one PostgreSQL array literal per column of v.
func pgArrays(batch []*row) []any {
	args := make([]any, len(vNames))
	var buf []byte
	for k, at := range vArg {
		buf = append(buf[:0], '{')
		for i, r := range batch {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendArrayElem(buf, r.args[at])
		}
		args[k] = string(append(buf, '}'))
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
