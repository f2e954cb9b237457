package postback

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/conversionstatuschange"
	"github.com/gokart/gokart/ent/schema"
	"github.com/gokart/gokart/internal/budget"
	"github.com/gokart/gokart/internal/callbacks"
	"github.com/gokart/gokart/internal/lifecycle"
	"github.com/gokart/gokart/internal/money"
	"github.com/gokart/gokart/internal/unmatched"
)

// The writers of this file are the only code that writes a conversion's mutable columns, a
// status change and a postback log row. They do not write at once: a batch collects what one
// postback (or one manual review) writes after its decisions, and flush writes it as the last
// statement of the transaction, on PostgreSQL in one round trip.

// stmt is one write, its placeholders numbered from $1.
type stmt struct {
	sql  string
	args []any
}

// batch is the writes of one transaction, in order. The conversion's own columns change at
// most once per batch (PostgreSQL cannot update one row twice in one statement), so its
// changes are merged into one UPDATE, written first.
type batch struct {
	conv  *conversionChange
	stmts []stmt
	// unmatched is the postback of a key that names no account: counted, not logged.
	unmatched *unmatchedPostback
	// callbacks are the status changes whose deliveries the outbox queues (package callbacks),
	// in the same transaction.
	callbacks []callbacks.Change
}

// unmatchedPostback is an account-less postback for package unmatched.
type unmatchedPostback struct {
	sourceIP, reason, rawQuery string
	at                         time.Time
}

// conversionChange is what changes on a conversion; nil fields stay as they are.
type conversionChange struct {
	accountID, id int
	status        *lifecycle.Status
	reason        *string
	// charge is what the conversion is charged to; a zero Charge clears it.
	charge *budget.Charge
	// networkConversionID is adopted once, from NULL, by an update that names the id the
	// first report lacked (the conversion is locked, so it is still NULL).
	networkConversionID *string
	// amount, payout and extras change when the network modifies the action.
	amount, payout *money.Micros
	extras         *string
	at             time.Time
}

// changeConversion merges a change of the conversion's columns into the batch.
func (b *batch) changeConversion(c conversionChange) {
	if b.conv == nil || b.conv.id != c.id {
		if b.conv != nil {
			// One conversion per postback: a second one is a bug, not an input.
			panic(fmt.Sprintf("batch changes conversions %d and %d", b.conv.id, c.id))
		}
		b.conv = &conversionChange{accountID: c.accountID, id: c.id}
	}
	m := b.conv
	if c.status != nil {
		m.status = c.status
	}
	if c.reason != nil {
		m.reason = c.reason
	}
	if c.charge != nil {
		m.charge = c.charge
	}
	if c.networkConversionID != nil {
		m.networkConversionID = c.networkConversionID
	}
	if c.amount != nil {
		m.amount = c.amount
	}
	if c.payout != nil {
		m.payout = c.payout
	}
	if c.extras != nil {
		m.extras = c.extras
	}
	m.at = c.at
}

// statusChange appends a step to a conversion's status history (from is nil for the first)
// and queues the callbacks it causes; mod makes it a MODIFIED step with the values before and
// after.
func (b *batch) statusChange(accountID, convID, offerID, eventID int, from *lifecycle.Status, to lifecycle.Status, reason string, source conversionstatuschange.Source, at time.Time, mod *modification) {
	at = at.UTC() // the outbox finds the step by its time: the same value in both
	b.callbacks = append(b.callbacks, callbacks.Change{AccountID: accountID, ConversionID: convID, OfferID: offerID,
		OfferEventID: eventID, From: from, To: to, At: at})
	var fromArg any
	if from != nil {
		fromArg = string(*from)
	}
	if mod == nil {
		b.stmts = append(b.stmts, stmt{`INSERT INTO conversion_status_changes (account_id, conversion_id, from_status, to_status, reason, source, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)`, []any{accountID, convID, fromArg, string(to), truncate(reason, schema.MaxReasonLength), string(source), at}})
		return
	}
	b.stmts = append(b.stmts, stmt{`INSERT INTO conversion_status_changes (account_id, conversion_id, from_status, to_status, reason, source, created_at,
 kind, old_amount, new_amount, old_payout, new_payout)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`, []any{accountID, convID, fromArg, string(to), truncate(reason, schema.MaxReasonLength), string(source), at,
		string(conversionstatuschange.KindMODIFIED), microsArg(mod.oldAmount), microsArg(mod.newAmount), int64(mod.oldPayout), int64(mod.newPayout)}})
}

// postbackLog appends the postback's log row. A postback whose key names no account (accountID
// 0) has no tenant to see it: it is counted by source, reason and hour (package unmatched).
func (b *batch) postbackLog(accountID int, req Request, out outcome) {
	if accountID == 0 {
		b.unmatched = &unmatchedPostback{sourceIP: req.SourceIP, reason: out.reason, rawQuery: Redact(req.RawQuery), at: req.Now}
		return
	}
	var convArg, offerArg any
	if out.conversionID != nil {
		convArg = *out.conversionID
	}
	if out.offerID != nil {
		offerArg = *out.offerID
	}
	b.stmts = append(b.stmts, stmt{`INSERT INTO postback_logs (account_id, raw_query, source_ip, outcome, http_status, reason, conversion_id, offer_id, created_at, test)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, []any{accountID, Redact(req.RawQuery), truncate(req.SourceIP, schema.MaxSourceIPLength), string(out.log),
		out.status, truncate(out.reason, schema.MaxReasonLength), convArg, offerArg, req.Now, out.test}})
}

func (c *conversionChange) stmt() (stmt, error) {
	var sets []string
	var args []any
	set := func(col string, v any) {
		args = append(args, v)
		sets = append(sets, col+" = $"+strconv.Itoa(len(args)))
	}
	if c.status != nil {
		set("status", string(*c.status))
	}
	if c.reason != nil {
		set("reason", truncate(*c.reason, schema.MaxReasonLength))
	}
	if c.charge != nil {
		var shard, counters any
		if c.charge.Shard != nil {
			shard = int64(*c.charge.Shard)
		}
		if c.charge.Shard != nil || c.charge.Counters != nil {
			b, err := json.Marshal(c.charge.Counters)
			if err != nil {
				return stmt{}, fmt.Errorf("charge of conversion %d: %w", c.id, err)
			}
			counters = string(b)
		}
		set("budget_shard", shard)
		set("charged_counters", counters)
	}
	if c.networkConversionID != nil {
		set("network_conversion_id", *c.networkConversionID)
	}
	if c.amount != nil {
		set("amount", int64(*c.amount))
	}
	if c.payout != nil {
		set("payout", int64(*c.payout))
	}
	if c.extras != nil {
		set("extras", *c.extras)
	}
	set("updated_at", c.at)
	args = append(args, c.accountID, c.id)
	n := len(args)
	return stmt{"UPDATE conversions SET " + strings.Join(sets, ", ") +
		" WHERE account_id = $" + strconv.Itoa(n-1) + " AND id = $" + strconv.Itoa(n), args}, nil
}

func microsArg(m *money.Micros) any {
	if m == nil {
		return nil
	}
	return int64(*m)
}

var placeholder = regexp.MustCompile(`\$(\d+)`)

// flush writes the batch: on PostgreSQL as one statement (every write but the last a
// data-modifying WITH query), elsewhere one statement at a time, in order.
func (b *batch) flush(ctx context.Context, q *ent.Client, postgres bool) error {
	if u := b.unmatched; u != nil {
		b.unmatched = nil
		if err := unmatched.Record(ctx, q, u.sourceIP, u.reason, u.rawQuery, u.at); err != nil {
			return err
		}
	}
	stmts := b.stmts
	if b.conv != nil {
		s, err := b.conv.stmt()
		if err != nil {
			return err
		}
		stmts = append([]stmt{s}, stmts...)
	}
	for _, ch := range b.callbacks {
		q, args := callbacks.EnqueueStatement(ch)
		stmts = append(stmts, stmt{q, args})
	}
	b.conv, b.stmts, b.callbacks = nil, nil, nil
	if len(stmts) == 0 {
		return nil
	}
	if !postgres || len(stmts) == 1 {
		for _, s := range stmts {
			if _, err := q.ExecContext(ctx, s.sql, s.args...); err != nil {
				return fmt.Errorf("write %s: %w", tableOf(s.sql), err)
			}
		}
		return nil
	}
	var sqlText strings.Builder
	var args []any
	for i, s := range stmts {
		text := shift(s.sql, len(args))
		switch {
		case i == 0:
			fmt.Fprintf(&sqlText, "WITH w%d AS (%s)", i, text)
		case i < len(stmts)-1:
			fmt.Fprintf(&sqlText, ", w%d AS (%s)", i, text)
		default:
			sqlText.WriteString("\n" + text)
		}
		args = append(args, s.args...)
	}
	if _, err := q.ExecContext(ctx, sqlText.String(), args...); err != nil {
		return fmt.Errorf("write postback rows: %w", err)
	}
	return nil
}

// tableOf names the table a write goes to, for its error.
func tableOf(sqlText string) string {
	f := strings.Fields(sqlText)
	for i, w := range f {
		if (w == "INTO" || w == "UPDATE") && i+1 < len(f) {
			return f[i+1]
		}
	}
	return "row"
}
