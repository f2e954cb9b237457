package callbacks

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gokart/gokart/internal/callbacks/vocab"
	"github.com/gokart/gokart/internal/lifecycle"
)

// Querier is what Enqueue writes through: the status change's transaction (an *ent.Client
// of an ent.Tx, or a *sql.Tx).
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Change is one conversion status change, as the code that writes it knows it.
type Change struct {
	AccountID    int
	ConversionID int
	OfferID      int
	OfferEventID int
	// From is nil for a new conversion (its first status).
	From *lifecycle.Status
	To   lifecycle.Status
	// At is when the change happened: the time of its history step, by which the sequence
	// count leaves that step out. The zero time means now.
	At time.Time
}

// enqueueSQL writes one delivery per enabled endpoint of the account that matches the
// conversion's offer and event and listens to the event. The sequence of a change is its place
// in the conversion's history (a new conversion is 1): the other steps, and this one. The step
// of this change (its time and status) is left out of the count, whether it is written before
// or in the same statement: PostgreSQL's data-modifying CTEs do not see each other's rows, while
// Citus runs them one after another, so that they do.
// Times are passed as parameters, never the database's clock, so both dialects store them alike.
const enqueueSQL = `INSERT INTO callback_deliveries
 (account_id, endpoint_id, conversion_id, sequence, event, from_status, to_status, status, attempts, next_attempt_at, created_at)
SELECT e.account_id, e.id, $2, %s, $3, $4, $5, 'PENDING', 0, $6, $6
FROM callback_endpoints e
WHERE e.account_id = $1 AND e.enabled
 AND (e.offer_id IS NULL OR e.offer_id = $7)
 AND (e.offer_event_id IS NULL OR e.offer_event_id = $8)
 AND CAST(e.events AS TEXT) LIKE $9`

var (
	enqueueFirstSQL = fmt.Sprintf(enqueueSQL, "1")
	enqueueNextSQL  = fmt.Sprintf(enqueueSQL,
		"(SELECT COUNT(*) FROM conversion_status_changes h WHERE h.account_id = $1 AND h.conversion_id = $2"+
			" AND NOT (h.created_at = $6 AND h.to_status = $5)) + 1")
)

// EnqueueFirstFromSQL is EnqueueStatement's query for a new conversion's first change (From
// nil) as one query of a statement that also inserts the conversion: the conversion's id is the
// column id of the statement's query named from, and nothing is queued unless that query yields
// a row. Its placeholders are EnqueueStatement's without the conversion id's ($1, then $2 to $8),
// and EnqueueFirstFromArgs gives them. Build it once: it rewrites the query's text.
func EnqueueFirstFromSQL(from string) string {
	q := strings.Replace(enqueueFirstSQL, "$2, 1,", from+".id, 1,", 1)
	q = strings.Replace(q, "FROM callback_endpoints e\n", "FROM callback_endpoints e, "+from+"\n", 1)
	for n := 3; n <= 9; n++ {
		q = strings.ReplaceAll(q, "$"+strconv.Itoa(n), "$"+strconv.Itoa(n-1))
	}
	return q
}

// EnqueueFirstFromArgs are EnqueueFirstFromSQL's arguments for the change.
func EnqueueFirstFromArgs(ch Change) []any {
	_, args := EnqueueStatement(ch)
	return append(args[:1:1], args[2:]...)
}

// Enqueue queues the callbacks of a status change in the transaction q that writes it. An
// account without matching endpoints costs one indexed read and writes nothing.
func Enqueue(ctx context.Context, q Querier, ch Change) error {
	query, args := EnqueueStatement(ch)
	if _, err := q.ExecContext(ctx, query, args...); err != nil {
		return fmt.Errorf("queue callbacks of conversion %d: %w", ch.ConversionID, err)
	}
	return nil
}

// EnqueueStatement is Enqueue's statement and its arguments (placeholders from $1), for a
// writer that batches a transaction's statements into one round trip.
func EnqueueStatement(ch Change) (string, []any) {
	at := ch.At
	if at.IsZero() {
		at = time.Now()
	}
	at = at.UTC()
	ev := vocab.EventOf(ch.To)
	args := []any{ch.AccountID, ch.ConversionID, string(ev), nil, string(ch.To), at,
		ch.OfferID, ch.OfferEventID, `%"` + string(ev) + `"%`}
	if ch.From == nil {
		return enqueueFirstSQL, args
	}
	args[3] = string(*ch.From)
	return enqueueNextSQL, args
}
