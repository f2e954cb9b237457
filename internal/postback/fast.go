package postback

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gokart/gokart/ent/conversionstatuschange"
	"github.com/gokart/gokart/ent/postbacklog"
	"github.com/gokart/gokart/ent/schema"
	"github.com/gokart/gokart/internal/budget"
	"github.com/gokart/gokart/internal/callbacks"
	"github.com/gokart/gokart/internal/lifecycle"
)

// The common postback is a new conversion that its offer's budget shards alone charge: no cap,
// no daily budget, no completion rule, and a shard with room. On PostgreSQL acceptInOne writes it
// in one statement, outside a transaction: the conversion with its charge, the shard's spend,
// the first history step, the log row and the queued callbacks. Every write of that statement
// hangs on the conversion's insert, and the insert on a shard found with room, so the
// statement writes all of them or nothing. Nothing means the postback is not that common case
// (the conversion exists, or no shard has room now): the caller then takes the general path, in
// a transaction, which decides it (duplicate, update, rebalance, refusal).
//
// Measured with pgbench over the SQL alone (12 clients, 2 cores): the six round trips of
// BEGIN, look-up, insert, charge, batch, COMMIT ran 1 015–1 526 postbacks/s; the look-up and
// this statement 1 675–2 032. TestOneStatementWritesWhatTheTransactionWrites holds the two
// paths to the same rows.

// acceptInOneSQL is the statement; $1 to $5 are budget.ShardPickSQL's, $6 to $22 the conversion's
// (insertConversionSQL's $1 to $17), then those of the history step, the log row and the
// callbacks (acceptInOne).
var acceptInOneSQL = func() string {
	cols, rest, _ := strings.Cut(strings.TrimPrefix(insertConversionSQL, "INSERT INTO conversions ("), ")\nVALUES (")
	vals, _, _ := strings.Cut(rest, ")\nON CONFLICT")
	const pickArgs, convArgs = 5, 17
	n := pickArgs + convArgs
	next := func() string { n++; return "$" + strconv.Itoa(n) }
	counters := next()
	hist := fmt.Sprintf(`INSERT INTO conversion_status_changes (account_id, conversion_id, from_status, to_status, reason, source, created_at)
SELECT $2, ins.id, NULL, %s, %s, %s, %s FROM ins`, next(), next(), next(), next())
	log := fmt.Sprintf(`INSERT INTO postback_logs (account_id, raw_query, source_ip, outcome, http_status, reason, conversion_id, offer_id, created_at, test)
SELECT $2, %s, %s, %s, %s, %s, ins.id, $3, %s, %s FROM ins`, next(), next(), next(), next(), next(), next(), next())
	queue := shift(callbacks.EnqueueFirstFromSQL("ins"), n)
	return "WITH " + budget.ShardPickSQL + `,
pick AS (SELECT id, shard FROM up UNION ALL SELECT id, shard FROM wrapped LIMIT 1),
ins AS (INSERT INTO conversions (` + cols + `, budget_shard, charged_counters)
SELECT ` + shift(vals, pickArgs) + `, pick.shard, ` + counters + ` FROM pick
ON CONFLICT DO NOTHING RETURNING id),
charged AS (UPDATE offer_budget_shards SET spent = spent + CAST($1 AS BIGINT)
WHERE account_id = $2 AND offer_id = $3 AND id = (SELECT id FROM pick) AND EXISTS (SELECT 1 FROM ins)),
history AS (` + hist + `),
logged AS (` + log + `),
queued AS (` + queue + `)
SELECT ins.id, pick.shard FROM ins, pick`
}()

// noCounters is a shard-only charge's charged_counters: what the batch path stores, json.Marshal
// of none.
var noCounters = func() string { b, _ := json.Marshal([]string(nil)); return string(b) }()

// shift renumbers a statement's placeholders by offset.
func shift(sqlText string, offset int) string {
	return placeholder.ReplaceAllStringFunc(sqlText, func(p string) string {
		n, _ := strconv.Atoi(p[1:])
		return "$" + strconv.Itoa(n+offset)
	})
}

// acceptInOne records the postback in acceptInOneSQL when it may be the common case (a new
// conversion in a status that spends, of a chargeable click, whose charge is its shards'
// alone); done is false when it wrote nothing, and the caller decides the postback itself.
func acceptInOne(ctx context.Context, q rowQuerier, req Request, p Params, t target, to lifecycle.Status) (out outcome, done bool, err error) {
	args, out, ok, err := acceptInOneArgs(req, p, t, to)
	if err != nil || !ok {
		return outcome{}, false, err
	}
	var id, shard int
	done, err = queryRow(ctx, q, acceptInOneSQL, args, &id, &shard)
	if err != nil {
		return outcome{}, false, fmt.Errorf("accept conversion: %w", err)
	}
	if !done {
		return outcome{}, false, nil
	}
	out.conversionID, out.syncOffer, out.written = &id, t.offerID, true
	return out, true, nil
}

// acceptInOneArgs are acceptInOneSQL's arguments for the postback and the outcome it records;
// ok is false when the postback is not one that the statement may record.
func acceptInOneArgs(req Request, p Params, t target, to lifecycle.Status) (args []any, out outcome, ok bool, err error) {
	if !to.Spends() || !chargeable(t) {
		return nil, outcome{}, false, nil
	}
	now := req.Now
	pick, ok := budget.ShardPick(budget.Subject{AccountID: t.accountID, Terms: t.terms, Payout: t.payout, Member: t.member, At: now})
	if !ok {
		return nil, outcome{}, false, nil
	}
	conv, _, err := conversionArgs(t, p, to, "", t.repeatKey(p.ConversionID), now)
	if err != nil {
		return nil, outcome{}, false, err
	}
	out = answer(http.StatusOK, postbacklog.OutcomeACCEPTED, BodyAccepted, "new conversion, "+strings.ToLower(string(to)))
	out.reason += currencyNote(p, t)
	if len(p.Notes) > 0 {
		out.reason += "; " + strings.Join(p.Notes, "; ")
	}
	queue := callbacks.EnqueueFirstFromArgs(callbacks.Change{AccountID: t.accountID, OfferID: t.offerID,
		OfferEventID: t.terms.EventID, To: to, At: now})
	args = append(append(pick, conv...), noCounters,
		string(to), "", string(conversionstatuschange.SourcePOSTBACK), now.UTC(),
		Redact(req.RawQuery), truncate(req.SourceIP, schema.MaxSourceIPLength), string(out.log), out.status,
		truncate(out.reason, schema.MaxReasonLength), now, t.test)
	return append(args, queue...), out, true, nil
}
