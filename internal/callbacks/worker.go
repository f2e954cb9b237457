package callbacks

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"entgo.io/ent/dialect"

	"github.com/gokart/gokart/internal/callbacks/vocab"
	"github.com/gokart/gokart/internal/money"
	"github.com/gokart/gokart/internal/storage"
)

// Retry policy: the first retry about a minute after a failure, doubling; the 13th attempt is
// the last, about 68 hours after the first, so a delivery is retried for about three days.
const (
	FirstRetry  = time.Minute
	MaxAttempts = 13
	// MaxRetryAfter caps how long a Retry-After header may hold a delivery back.
	MaxRetryAfter = 24 * time.Hour
	// DisableAfter is how long an endpoint may fail every attempt before it is disabled.
	DisableAfter = 72 * time.Hour
)

// Options configure a Worker.
type Options struct {
	// AllowPrivate lifts the SSRF guard (development and tests on loopback).
	AllowPrivate bool
	// Clock is the time of claims, retries and attempts; time.Now when nil.
	Clock func() time.Time
	// PollInterval is how long an idle worker waits before it looks for due deliveries again.
	PollInterval time.Duration
	// Batch is the most deliveries one claim takes.
	Batch int
	// Lease is how long a claim holds a delivery; longer than SendTimeout.
	Lease time.Duration
	// Logger logs failed rounds; slog.Default when nil.
	Logger *slog.Logger
}

// Worker sends due deliveries. Any number of workers, in any number of replicas, may run
// against one database.
type Worker struct {
	db     *storage.DB
	opts   Options
	owner  string
	client *http.Client

	stop context.CancelFunc
	done chan struct{}
}

// NewWorker makes a worker over db.
func NewWorker(db *storage.DB, opts Options) *Worker {
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 500 * time.Millisecond
	}
	if opts.Batch <= 0 {
		opts.Batch = 100
	}
	if opts.Lease <= 0 {
		opts.Lease = 2*SendTimeout + 10*time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return &Worker{db: db, opts: opts, owner: hex.EncodeToString(b), client: newHTTPClient(opts.AllowPrivate)}
}

// Start runs the worker until ctx is done or Stop is called.
func Start(ctx context.Context, db *storage.DB, opts Options) *Worker {
	w := NewWorker(db, opts)
	ctx, w.stop = context.WithCancel(ctx)
	w.done = make(chan struct{})
	go func() {
		defer close(w.done)
		w.Run(ctx)
	}()
	return w
}

// Stop stops claiming and waits for the deliveries in flight to be sent and recorded (at most
// SendTimeout and a write).
func (w *Worker) Stop() {
	if w.stop == nil {
		return
	}
	w.stop()
	<-w.done
}

// Run sends due deliveries until ctx is done: a full batch is followed at once by the next.
func (w *Worker) Run(ctx context.Context) {
	lastGauge := time.Time{}
	for ctx.Err() == nil {
		n, err := w.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			w.opts.Logger.Warn("callback round failed", "err", err)
		}
		if time.Since(lastGauge) > 5*time.Second {
			lastGauge = time.Now()
			if err := w.observeQueue(ctx); err != nil && ctx.Err() == nil {
				w.opts.Logger.Warn("callback queue gauge", "err", err)
			}
		}
		if n < w.opts.Batch || err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(w.opts.PollInterval):
			}
		}
	}
}

// RunOnce claims one batch of due deliveries, sends them concurrently and records the results.
// It returns how many it claimed.
//
// On PostgreSQL the batch stays locked (FOR UPDATE SKIP LOCKED) in one transaction from the
// claim to the record: other workers skip it, a worker that dies takes its locks with it (the
// batch is free again at once), and a batch costs one commit. On SQLite (one writer, no SKIP
// LOCKED, and an open transaction there would block every postback) a claim is a lease written
// in its own statement, and a dead worker's batch is free when the lease ends.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	now := w.opts.Clock().UTC()
	// Once claimed, a batch is sent and recorded even if ctx ends meanwhile (shutdown).
	bg := context.WithoutCancel(ctx)
	if w.db.Dialect == dialect.Postgres {
		tx, err := w.db.SQL.BeginTx(bg, nil)
		if err != nil {
			return 0, fmt.Errorf("claim callbacks: %w", err)
		}
		defer func() { _ = tx.Rollback() }()
		claimed, n, err := w.claimByAccount(bg, tx, now)
		if err != nil || n == 0 {
			return 0, err
		}
		var jobs []job
		for acc, ids := range claimed {
			got, err := w.load(bg, tx, acc, ids)
			if err != nil {
				return n, err
			}
			jobs = append(jobs, got...)
		}
		if err := w.record(bg, tx, jobs, w.sendAll(bg, jobs, now), now, ""); err != nil {
			return n, err
		}
		if err := tx.Commit(); err != nil {
			return n, fmt.Errorf("record callbacks: commit: %w", err)
		}
		return n, nil
	}
	ids, err := w.claim(bg, w.db.SQL, claimLease, now, now.Add(w.opts.Lease), w.owner, w.opts.Batch)
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	jobs, err := w.load(bg, w.db.SQL, 0, ids)
	if err != nil {
		return len(ids), err
	}
	results := w.sendAll(bg, jobs, now)
	tx, err := w.db.SQL.BeginTx(bg, nil)
	if err != nil {
		return len(ids), fmt.Errorf("record callbacks: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := w.record(bg, tx, jobs, results, now, w.owner); err != nil {
		return len(ids), err
	}
	if err := tx.Commit(); err != nil {
		return len(ids), fmt.Errorf("record callbacks: commit: %w", err)
	}
	return len(ids), nil
}

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// sendAll sends a batch, at most 32 at a time.
func (w *Worker) sendAll(ctx context.Context, jobs []job, now time.Time) []result {
	results := make([]result, len(jobs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			results[i] = w.send(ctx, jobs[i], now)
		}()
	}
	wg.Wait()
	return results
}

// dueSQL selects the due deliveries of enabled endpoints whose earlier changes (of the same
// conversion, to the same endpoint) are no longer pending. The earlier change's status is
// compared as an expression (p.status concatenated with the empty string), which no index
// covers: so the check probes the unique (account, endpoint, conversion, sequence) key,
// whatever the statistics say of how many are pending. On the status index it read the whole
// backlog for every due row (TestClaimingChecksEarlierChangesByTheirKey). A conversion's first
// change (sequence 1) has no earlier one, and is not checked at all: most deliveries are
// first changes, and on a table younger than its statistics the planner may still probe the
// account's every delivery by the primary key for each (cmd/gokart-bench on a fresh database:
// 2 300 buffers and up to 377 ms a claim, 8 000 buffers at 800 deliveries).
const dueSQL = `SELECT d.id FROM callback_deliveries d JOIN callback_endpoints e ON e.account_id = d.account_id AND e.id = d.endpoint_id AND e.enabled
 WHERE d.status = 'PENDING' AND d.next_attempt_at <= $1 AND (d.lease_until IS NULL OR d.lease_until < $1)
  AND (d.sequence = 1 OR NOT EXISTS (SELECT 1 FROM callback_deliveries p WHERE p.account_id = d.account_id
   AND p.conversion_id = d.conversion_id AND p.endpoint_id = d.endpoint_id AND p.sequence < d.sequence AND p.status || '' = 'PENDING'))
 ORDER BY d.next_attempt_at`

// dueAccountsSQL finds accounts with due deliveries, without a lock: Citus refuses FOR UPDATE
// across shards, so the lock is taken per account below. It reads every shard, and only the
// oldest due rows ($3, on the (status, next_attempt_at) index): DISTINCT over every due row
// would read a whole backlog each round.
const dueAccountsSQL = `SELECT DISTINCT account_id FROM (SELECT d.account_id FROM callback_deliveries d
 WHERE d.status = 'PENDING' AND d.next_attempt_at <= $1 AND (d.lease_until IS NULL OR d.lease_until < $1)
 ORDER BY d.next_attempt_at LIMIT $3) due LIMIT $2`

// dueRowsPerAccount is how many of the oldest due rows per account of a batch dueAccountsSQL
// reads to find the batch's accounts.
const dueRowsPerAccount = 16

// claimLocked locks one account's batch on PostgreSQL; SKIP LOCKED lets workers claim side by
// side. Every table names the account ($3), so Citus runs it on that account's shard.
const claimLocked = `SELECT d.id FROM callback_deliveries d JOIN callback_endpoints e ON e.account_id = $3 AND e.id = d.endpoint_id AND e.enabled
 WHERE d.account_id = $3 AND d.status = 'PENDING' AND d.next_attempt_at <= $1 AND (d.lease_until IS NULL OR d.lease_until < $1)
  AND (d.sequence = 1 OR NOT EXISTS (SELECT 1 FROM callback_deliveries p WHERE p.account_id = $3
   AND p.conversion_id = d.conversion_id AND p.endpoint_id = d.endpoint_id AND p.sequence < d.sequence AND p.status || '' = 'PENDING'))
 ORDER BY d.next_attempt_at LIMIT $2 FOR UPDATE OF d SKIP LOCKED`

// claimLease leases a batch on SQLite: one writer, so the statement is atomic.
const claimLease = `UPDATE callback_deliveries SET lease_until = $2, lease_owner = $3 WHERE id IN (` + dueSQL + ` LIMIT $4) RETURNING id`

// claimByAccount locks up to a batch of due deliveries, account by account, and returns their
// ids by account. The accounts are shuffled and each gets an equal share of the batch first, so
// one busy account cannot starve the others; what they leave is then offered to the accounts
// with more.
func (w *Worker) claimByAccount(ctx context.Context, tx *sql.Tx, now time.Time) (map[int][]int, int, error) {
	accounts, err := w.dueAccounts(ctx, tx, now)
	if err != nil || len(accounts) == 0 {
		return nil, 0, err
	}
	mrand.Shuffle(len(accounts), func(i, j int) { accounts[i], accounts[j] = accounts[j], accounts[i] })
	share := max(1, w.opts.Batch/len(accounts))
	claimed, n := map[int][]int{}, 0
	full := accounts[:0:0]
	for _, acc := range accounts {
		if n >= w.opts.Batch {
			break
		}
		got, err := w.claim(ctx, tx, claimLocked, now, min(share, w.opts.Batch-n), acc)
		if err != nil {
			return claimed, n, err
		}
		claimed[acc], n = got, n+len(got)
		if len(got) == share {
			full = append(full, acc)
		}
	}
	for _, acc := range full {
		if n >= w.opts.Batch {
			break
		}
		// Rows this transaction locked already are not skipped by SKIP LOCKED: leave them out.
		got, err := w.claim(ctx, tx, claimLocked, now, w.opts.Batch-n+share, acc)
		if err != nil {
			return claimed, n, err
		}
		before := len(claimed[acc])
		claimed[acc] = appendNew(claimed[acc], got, before+w.opts.Batch-n)
		n += len(claimed[acc]) - before
	}
	return claimed, n, nil
}

// appendNew appends the ids of got not in ids, up to limit in all.
func appendNew(ids, got []int, limit int) []int {
	seen := make(map[int]bool, len(ids))
	for _, id := range ids {
		seen[id] = true
	}
	for _, id := range got {
		if len(ids) >= limit {
			break
		}
		if !seen[id] {
			ids = append(ids, id)
		}
	}
	return ids
}

// dueAccounts lists up to a batch of accounts with due deliveries.
func (w *Worker) dueAccounts(ctx context.Context, q queryer, now time.Time) ([]int, error) {
	return w.claim(ctx, q, dueAccountsSQL, now, w.opts.Batch, w.opts.Batch*dueRowsPerAccount)
}

func (w *Worker) claim(ctx context.Context, q queryer, query string, args ...any) ([]int, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("claim callbacks: %w", err)
	}
	defer rows.Close()
	var ids []int
	for rows.Next() {
		var id int
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("claim callbacks: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// job is a claimed delivery with what its request needs.
type job struct {
	id, accountID, endpointID int
	attempts                  int
	event                     vocab.Event
	url                       string
	format                    vocab.Format
	secret                    string
	headerName, headerValue   string
	failing                   bool
	failingSince              time.Time
	conv                      Conversion
}

// loadSQL reads claimed deliveries with what their requests need. %[1]s is the account every
// table is keyed by: d.account_id, or a parameter when the deliveries are one account's, so that
// on Citus the statement runs on that account's shard alone; %[2]s selects the deliveries.
const loadSQL = `SELECT d.id, d.account_id, d.endpoint_id, d.attempts, d.event, d.sequence, d.from_status, d.to_status,
 e.url, e.format, e.secret, e.header_name, e.header_value, e.failing_since,
 c.id, c.payout, c.amount, c.currency, c.pub_member_id, c.network_conversion_id, c.created_at,
 o.id, o.name, ev.event_id, ev.name,
 k.gk_click_id, k.pub_click_id, k.pub_sub_1, k.pub_sub_2, k.pub_sub_3, k.pub_sub_4, k.pub_sub_5, k.created_at, c.test
FROM callback_deliveries d
JOIN callback_endpoints e ON e.id = d.endpoint_id AND e.account_id = %[1]s
LEFT JOIN conversions c ON c.id = d.conversion_id AND c.account_id = %[1]s
LEFT JOIN offers o ON o.id = c.offer_id AND o.account_id = %[1]s
LEFT JOIN offer_events ev ON ev.id = c.offer_event_id AND ev.account_id = %[1]s
LEFT JOIN clicks k ON k.id = c.click_id AND k.account_id = %[1]s
WHERE %[2]s`

// loadQuery is loadSQL for n deliveries, of one account ($1, then the ids) or of any.
func loadQuery(oneAccount bool, n int) string {
	if oneAccount {
		return fmt.Sprintf(loadSQL, "$1", "d.account_id = $1 AND d.id IN ("+placeholders(2, n)+")")
	}
	return fmt.Sprintf(loadSQL, "d.account_id", "d.id IN ("+placeholders(1, n)+")")
}

func placeholders(from, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(from+i))
	}
	return b.String()
}

// load reads the claimed deliveries ids with what their requests need; accountID, when not 0,
// is the account they all belong to.
func (w *Worker) load(ctx context.Context, q queryer, accountID int, ids []int) ([]job, error) {
	args := make([]any, 0, len(ids)+1)
	if accountID != 0 {
		args = append(args, accountID)
	}
	query := loadQuery(accountID != 0, len(ids))
	for _, id := range ids {
		args = append(args, id)
	}
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("load callbacks: %w", err)
	}
	defer rows.Close()
	var jobs []job
	for rows.Next() {
		var (
			j                             job
			from                          sql.NullString
			to                            string
			headerName, headerValue       sql.NullString
			failingSince                  sql.NullTime
			convID                        sql.NullInt64
			payout, amount                sql.NullInt64
			currency, member, ncid        sql.NullString
			convAt, clickAt               sql.NullTime
			offerID                       sql.NullInt64
			offerName, eventID, eventName sql.NullString
			gk, pubClick                  sql.NullString
			subs                          [5]sql.NullString
			seq                           int
			test                          sql.NullBool
		)
		if err := rows.Scan(&j.id, &j.accountID, &j.endpointID, &j.attempts, &j.event, &seq, &from, &to,
			&j.url, &j.format, &j.secret, &headerName, &headerValue, &failingSince,
			&convID, &payout, &amount, &currency, &member, &ncid, &convAt,
			&offerID, &offerName, &eventID, &eventName,
			&gk, &pubClick, &subs[0], &subs[1], &subs[2], &subs[3], &subs[4], &clickAt, &test); err != nil {
			return nil, fmt.Errorf("load callbacks: %w", err)
		}
		j.headerName, j.headerValue = headerName.String, headerValue.String
		j.failing, j.failingSince = failingSince.Valid, failingSince.Time
		if !convID.Valid {
			j.conv = sampleConversion()
		} else {
			c := Conversion{
				ID: strconv.FormatInt(convID.Int64, 10), Status: to, Sequence: seq,
				Offer:  OfferRef{ID: strconv.FormatInt(offerID.Int64, 10), Name: offerName.String},
				Event:  EventRef{EventID: eventID.String, Name: eventName.String},
				Payout: money.Micros(payout.Int64).String(), Currency: currency.String,
				PubMemberID: member.String, PubClickID: pubClick.String, GkClickID: gk.String,
				ClickedAt: clickAt.Time.UTC(), ConvertedAt: convAt.Time.UTC(), Test: test.Bool,
			}
			if from.Valid {
				c.PreviousStatus = &from.String
			}
			if amount.Valid {
				a := money.Micros(amount.Int64).String()
				c.Amount = &a
			}
			if ncid.Valid {
				c.NetworkConversionID = &ncid.String
			}
			for i, s := range subs {
				c.PubSubs[i] = s.String
			}
			j.conv = c
		}
		j.conv.Status = to
		if from.Valid {
			j.conv.PreviousStatus = &from.String
		}
		jobs = append(jobs, j)
	}
	return jobs, rows.Err()
}

// result is the outcome of one attempt.
type result struct {
	status     int
	duration   time.Duration
	response   string
	err        string
	retryAfter time.Duration
}

func (r result) delivered() bool { return r.err == "" && r.status >= 200 && r.status < 300 }

// retry reports whether a failed attempt may succeed later.
func (r result) retry() bool { return r.status == 0 || retryable(r.status) }

// send makes one attempt.
func (w *Worker) send(ctx context.Context, j job, now time.Time) result {
	req, err := w.request(ctx, j, now)
	if err != nil {
		return result{err: err.Error()}
	}
	sctx, cancel := sendContext(ctx)
	defer cancel()
	req = req.WithContext(sctx)
	start := time.Now()
	resp, err := w.client.Do(req)
	if err != nil {
		r := result{duration: time.Since(start), err: err.Error()}
		if errors.Is(err, ErrRefusedAddress) {
			r.status = -1 // refused by us: no retry
		}
		return r
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	return result{status: resp.StatusCode, duration: time.Since(start), response: string(b),
		retryAfter: retryAfter(resp.Header, now)}
}

// request builds the HTTP request of an attempt: a signed JSON POST, or a GET of the filled
// template.
func (w *Worker) request(ctx context.Context, j job, now time.Time) (*http.Request, error) {
	var req *http.Request
	switch j.format {
	case vocab.GetTemplate:
		r, err := http.NewRequestWithContext(ctx, http.MethodGet, FillTemplate(j.url, MacrosOf(j.conv)), nil)
		if err != nil {
			return nil, fmt.Errorf("build request: %w", err)
		}
		req = r
	default:
		body, err := jsonBody(j.event, now, j.conv)
		if err != nil {
			return nil, err
		}
		r, err := http.NewRequestWithContext(ctx, http.MethodPost, j.url, bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("build request: %w", err)
		}
		id, ts := WebhookID(j.id), now.Unix()
		sig, err := Sign(j.secret, id, ts, body)
		if err != nil {
			return nil, err
		}
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("webhook-id", id)
		r.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
		r.Header.Set("webhook-signature", sig)
		req = r
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return nil, fmt.Errorf("%w: scheme %q", ErrRefusedAddress, req.URL.Scheme)
	}
	req.Header.Set("User-Agent", "gokart-callbacks/1")
	if j.headerName != "" {
		req.Header.Set(j.headerName, j.headerValue)
	}
	return req, nil
}

// backoff is the wait before the attempt after the n-th failed one: FirstRetry doubling, with
// ±20 % jitter so that failures of one moment do not retry in lockstep.
func backoff(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	d := FirstRetry << (n - 1)
	return time.Duration(float64(d) * (0.8 + 0.4*mrand.Float64()))
}

// record writes the attempts and the deliveries' new states through tx, the caller's
// transaction. With an owner (a lease), only the deliveries it still holds change.
func (w *Worker) record(ctx context.Context, tx execer, jobs []job, results []result, now time.Time, owner string) error {
	held := func(n int) (string, []any) {
		if owner == "" {
			return "", nil
		}
		return " AND lease_owner = $" + strconv.Itoa(n), []any{owner}
	}
	var attempts strings.Builder
	attempts.WriteString(`INSERT INTO callback_attempts (account_id, delivery_id, created_at, http_status, duration_ms, response, error) VALUES `)
	var args []any
	var delivered []any
	// endpointAccount is each endpoint's account: every write below is by (account_id, id).
	endpointAccount := map[int]int{}
	healed := map[int]bool{}
	failedEndpoints := map[int]string{}
	for i, j := range jobs {
		r := results[i]
		if i > 0 {
			attempts.WriteString(", ")
		}
		attempts.WriteString("(" + placeholders(len(args)+1, 7) + ")")
		var status any
		if r.status > 0 {
			status = r.status
		}
		endpointAccount[j.endpointID] = j.accountID
		args = append(args, j.accountID, j.id, now, status, r.duration.Milliseconds(), truncate(r.response, 1024), truncate(r.err, 1024))
		switch {
		case r.delivered():
			delivered = append(delivered, j.accountID, j.id)
			deliveriesTotal.WithLabelValues("delivered").Inc()
			if j.failing {
				healed[j.endpointID] = true
			}
		default:
			why := r.err
			if why == "" {
				why = fmt.Sprintf("HTTP %d", r.status)
			}
			failedEndpoints[j.endpointID] = why
			n := j.attempts + 1
			outcome, next := "retry", now.Add(max(backoff(n), min(r.retryAfter, MaxRetryAfter)))
			if !r.retry() || n >= MaxAttempts {
				outcome = "failed"
			}
			deliveriesTotal.WithLabelValues(outcome).Inc()
			st := vocab.Pending
			if outcome == "failed" {
				st = vocab.Failed
			}
			cond, condArgs := held(6)
			if _, err := tx.ExecContext(ctx, `UPDATE callback_deliveries SET status = $1, attempts = attempts + 1, next_attempt_at = $2,
 last_error = $3, lease_until = NULL WHERE account_id = $4 AND id = $5`+cond, append([]any{string(st), next, truncate(why, 1024), j.accountID, j.id}, condArgs...)...); err != nil {
				return fmt.Errorf("record callback %d: %w", j.id, err)
			}
		}
	}
	if _, err := tx.ExecContext(ctx, attempts.String(), args...); err != nil {
		return fmt.Errorf("record callback attempts: %w", err)
	}
	if len(delivered) > 0 {
		cond, condArgs := held(len(delivered) + 2)
		var pairs []string
		for i := 0; i < len(delivered); i += 2 {
			pairs = append(pairs, "(account_id = $"+strconv.Itoa(i+2)+" AND id = $"+strconv.Itoa(i+3)+")")
		}
		q := `UPDATE callback_deliveries SET status = 'DELIVERED', attempts = attempts + 1, delivered_at = $1, last_error = '',
 lease_until = NULL WHERE (` + strings.Join(pairs, " OR ") + `)` + cond
		if _, err := tx.ExecContext(ctx, q, append(append([]any{now}, delivered...), condArgs...)...); err != nil {
			return fmt.Errorf("record delivered callbacks: %w", err)
		}
	}
	for id := range healed {
		if _, err := tx.ExecContext(ctx, `UPDATE callback_endpoints SET failing_since = NULL WHERE account_id = $1 AND id = $2`, endpointAccount[id], id); err != nil {
			return fmt.Errorf("clear failure streak of endpoint %d: %w", id, err)
		}
	}
	for id, why := range failedEndpoints {
		if healed[id] {
			continue // a success in the same batch: the endpoint answers
		}
		if _, err := tx.ExecContext(ctx, `UPDATE callback_endpoints SET failing_since = COALESCE(failing_since, $1) WHERE account_id = $2 AND id = $3`, now, endpointAccount[id], id); err != nil {
			return fmt.Errorf("record failure streak of endpoint %d: %w", id, err)
		}
		reason := truncate("every attempt failed for 72 hours; last: "+why, 500)
		if _, err := tx.ExecContext(ctx, `UPDATE callback_endpoints SET enabled = false, disabled_reason = $1, updated_at = $2
 WHERE account_id = $3 AND id = $4 AND enabled AND failing_since <= $5`, reason, now, endpointAccount[id], id, now.Add(-DisableAfter)); err != nil {
			return fmt.Errorf("disable failing endpoint %d: %w", id, err)
		}
	}
	return nil
}

// truncate cuts s to at most n bytes of valid UTF-8 without NUL bytes (PostgreSQL refuses both).
func truncate(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, ""), "\x00", "")
}
