package storage

import (
	"bytes"
	"container/list"
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lib/pq"
)

// postgresConnector opens lib/pq connections for url. Unless the URL says otherwise, it turns
// on lib/pq's binary_parameters, which sends a statement with arguments in one round trip
// (Parse, Bind, Describe, Execute, Sync) instead of two (Parse and Describe, then Bind and
// Execute): every hot-path statement has arguments, so this halves the round trips.
//
// The catch: in that mode lib/pq sends every []byte argument in binary format without knowing
// the column's type, and the binary format of jsonb is not its text (PostgreSQL answers
// "unsupported jsonb version number"). Ent passes JSON fields as []byte, so the connections
// are wrapped (textBytesConn) to send []byte arguments that are text as text, which every
// column type reads as the same value, and only the rest (such as the SHA-256 of an API key,
// for a bytea column) in binary.
//
// Every connection is also guarded against a silent server (see guard.go): dialled with
// keepalive and TCP_USER_TIMEOUT, with connect_timeout and statement_timeout unless the URL
// sets them, and aborted when the context of the call it serves ends.
func postgresConnector(rawURL string, genericPlans bool) (driver.Connector, error) {
	cfg, err := pq.NewConfig(rawURL)
	if err != nil {
		return nil, err
	}
	if !setsBinaryParameters(rawURL) {
		cfg.BinaryParameters = true
	}
	if cfg.ConnectTimeout == 0 && !setsParameter(rawURL, "connect_timeout") {
		cfg.ConnectTimeout = ConnectTimeout
	}
	if _, ok := cfg.Runtime["statement_timeout"]; !ok && StatementTimeout > 0 {
		if cfg.Runtime == nil {
			cfg.Runtime = map[string]string{}
		}
		cfg.Runtime["statement_timeout"] = strconv.FormatInt(StatementTimeout.Milliseconds(), 10)
	}
	if genericPlans {
		if cfg.Runtime == nil {
			cfg.Runtime = map[string]string{}
		}
		cfg.Runtime["plan_cache_mode"] = "force_generic_plan"
	}
	c, err := pq.NewConnectorConfig(cfg)
	if err != nil {
		return nil, err
	}
	c.Dialer(guardDialer{})
	return textBytesConnector{Connector: c, binary: cfg.BinaryParameters}, nil
}

func setsBinaryParameters(rawURL string) bool { return setsParameter(rawURL, "binary_parameters") }

func setsParameter(rawURL, name string) bool {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme == "" {
		return strings.Contains(rawURL, name)
	}
	return u.Query().Has(name)
}

// textBytesConnector makes textBytesConns; binary is lib/pq's binary_parameters, without which
// arguments go as lib/pq sends them and statements are not kept prepared.
type textBytesConnector struct {
	*pq.Connector
	binary bool
}

func (c textBytesConnector) Connect(ctx context.Context) (driver.Conn, error) {
	slot := &dialSlot{}
	stop := context.AfterFunc(ctx, slot.end)
	conn, err := c.Connector.Connect(context.WithValue(ctx, dialSlotKey{}, slot))
	if !stop() && err == nil {
		conn.Close() // the caller gave up during the handshake: the connection is aborted
		return nil, ctx.Err()
	}
	if err != nil {
		return nil, err
	}
	return &textBytesConn{conn: conn, nc: slot.conn(), binary: c.binary, stmts: map[string]*list.Element{}, lru: list.New()}, nil
}

// textBytes reports whether b reads the same as a text argument in any column type: text,
// json and jsonb take the text as is, and bytea's escape format takes text without NUL and
// backslash byte for byte. Text with a backslash is sent as text only when it is JSON: ent's
// JSON fields escape quotes and <, >, & with backslashes, and bytea values that are valid
// UTF-8 JSON with a backslash do not occur (the only bytea column, the API key hash, is
// SHA-256: 32 random bytes).
func textBytes(b []byte) bool {
	if bytes.IndexByte(b, 0) >= 0 || !utf8.Valid(b) {
		return false
	}
	return bytes.IndexByte(b, '\\') < 0 || json.Valid(b)
}

// maxCachedStatements bounds the prepared statements one connection keeps. The hot paths use a
// handful; Ent's dynamic queries (filters, pages) add more, least recently used go first.
const maxCachedStatements = 128

// textBytesConn is a lib/pq connection whose []byte arguments that are text go as text, and
// which keeps its statements with arguments prepared: sent unnamed, PostgreSQL would parse and
// plan every one of them on every execution, and planning was half the database's work per
// click and postback (pgbench on our click insert: 4.2k tps one-shot, 9–10k prepared).
type textBytesConn struct {
	conn   driver.Conn
	nc     *abortableConn // the network connection under conn, aborted when a watched call's context ends
	binary bool
	stmts  map[string]*list.Element // query → element of lru holding a *cachedStmt
	lru    *list.List
}

type cachedStmt struct {
	query string
	stmt  driver.Stmt
	at    time.Time // when it was prepared
}

// replanAfter is how long a prepared statement serves before it is prepared anew. PostgreSQL
// keeps a statement's generic plan for the statement's life, and a plan made while a table was
// nearly empty (a fresh database, before any ANALYZE) may pick any index that leads with
// account_id: every one estimates one row, and the conversion update then read every
// conversion of the account (seen in the benchmark). Preparing again lets the plan follow the
// table's size, at the cost of a few custom plans per statement and connection every period.
var replanAfter = 10 * time.Second

// prepared returns the connection's prepared statement for q, preparing it on first use.
func (c *textBytesConn) prepared(ctx context.Context, q string) (driver.Stmt, error) {
	if e, ok := c.stmts[q]; ok {
		cs := e.Value.(*cachedStmt)
		if time.Since(cs.at) < replanAfter {
			c.lru.MoveToFront(e)
			return cs.stmt, nil
		}
		c.lru.Remove(e)
		delete(c.stmts, q)
		_ = cs.stmt.Close()
	}
	st, err := c.conn.(driver.ConnPrepareContext).PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	c.stmts[q] = c.lru.PushFront(&cachedStmt{query: q, stmt: st, at: time.Now()})
	if c.lru.Len() > maxCachedStatements {
		old := c.lru.Back()
		c.lru.Remove(old)
		cs := old.Value.(*cachedStmt)
		delete(c.stmts, cs.query)
		// A failed close leaves at most one stale statement on the server until the connection
		// ends; the query at hand was prepared fine and goes on.
		_ = cs.stmt.Close()
	}
	return st, nil
}

// forget drops q's statement after an error that says the server no longer has it as we knew
// it: its result type changed under a migration (0A000, "cached plan must not change result
// type") or it is gone (26000, as behind a transaction-mode pooler). The next use prepares it
// again instead of failing until the process restarts.
func (c *textBytesConn) forget(q string, err error) {
	var pqErr *pq.Error
	if !errors.As(err, &pqErr) || (pqErr.Code != "0A000" && pqErr.Code != "26000") {
		return
	}
	if e, ok := c.stmts[q]; ok {
		c.lru.Remove(e)
		delete(c.stmts, q)
		_ = e.Value.(*cachedStmt).stmt.Close()
	}
}

var (
	_ driver.Conn               = (*textBytesConn)(nil)
	_ driver.ConnBeginTx        = (*textBytesConn)(nil)
	_ driver.ConnPrepareContext = (*textBytesConn)(nil)
	_ driver.QueryerContext     = (*textBytesConn)(nil)
	_ driver.ExecerContext      = (*textBytesConn)(nil)
	_ driver.Pinger             = (*textBytesConn)(nil)
	_ driver.SessionResetter    = (*textBytesConn)(nil)
	_ driver.Validator          = (*textBytesConn)(nil)
	_ driver.NamedValueChecker  = (*textBytesConn)(nil)
)

func (c *textBytesConn) CheckNamedValue(nv *driver.NamedValue) error {
	if !c.binary {
		return c.conn.(driver.NamedValueChecker).CheckNamedValue(nv)
	}
	if b, ok := nv.Value.([]byte); ok {
		if b != nil && textBytes(b) {
			nv.Value = string(b)
			return nil
		}
		return driver.ErrSkip
	}
	err := c.conn.(driver.NamedValueChecker).CheckNamedValue(nv)
	if err != driver.ErrSkip {
		return err
	}
	// What database/sql would do next (Valuer, conversion), then the same rule for []byte.
	v, err := driver.DefaultParameterConverter.ConvertValue(nv.Value)
	if err != nil {
		return err
	}
	if b, ok := v.([]byte); ok && b != nil && textBytes(b) {
		v = string(b)
	}
	nv.Value = v
	return nil
}

func (c *textBytesConn) Prepare(q string) (driver.Stmt, error) { return c.conn.Prepare(q) }
func (c *textBytesConn) Close() error                          { return c.conn.Close() }

//lint:ignore SA1019 driver.Conn requires Begin.
func (c *textBytesConn) Begin() (driver.Tx, error) { return c.conn.Begin() } //nolint:staticcheck

// BeginTx watches the transaction's context until it commits or rolls back: database/sql
// rolls back when the context ends, and a rollback sent to a silent server would wait too.
func (c *textBytesConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	stop := watch(ctx, c.nc)
	tx, err := c.conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
	if err != nil {
		stop()
		return nil, err
	}
	return guardedTx{Tx: tx, stop: stop}, nil
}

func (c *textBytesConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	defer watch(ctx, c.nc)()
	return c.conn.(driver.ConnPrepareContext).PrepareContext(ctx, q)
}

// QueryContext runs statements with arguments prepared; without arguments (BEGIN, DDL, several
// statements at once) they go as simple queries. The rows are watched until they are closed.
func (c *textBytesConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	stop := watch(ctx, c.nc)
	rows, err := c.query(ctx, q, args)
	if err != nil {
		stop()
		return nil, err
	}
	return guardedRows{Rows: rows, stop: stop}, nil
}

func (c *textBytesConn) query(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	if len(args) == 0 || !c.binary {
		return c.conn.(driver.QueryerContext).QueryContext(ctx, q, args)
	}
	st, err := c.prepared(ctx, q)
	if err != nil {
		return nil, err
	}
	rows, err := st.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		c.forget(q, err)
	}
	return rows, err
}

// ExecContext runs statements with arguments prepared, like QueryContext.
func (c *textBytesConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	defer watch(ctx, c.nc)()
	if len(args) == 0 || !c.binary {
		return c.conn.(driver.ExecerContext).ExecContext(ctx, q, args)
	}
	st, err := c.prepared(ctx, q)
	if err != nil {
		return nil, err
	}
	res, err := st.(driver.StmtExecContext).ExecContext(ctx, args)
	if err != nil {
		c.forget(q, err)
	}
	return res, err
}

func (c *textBytesConn) Ping(ctx context.Context) error {
	defer watch(ctx, c.nc)()
	return c.conn.(driver.Pinger).Ping(ctx)
}

func (c *textBytesConn) aborted() bool { return c.nc != nil && c.nc.aborted.Load() }

func (c *textBytesConn) ResetSession(ctx context.Context) error {
	if c.aborted() {
		return driver.ErrBadConn
	}
	return c.conn.(driver.SessionResetter).ResetSession(ctx)
}

func (c *textBytesConn) IsValid() bool { return !c.aborted() && c.conn.(driver.Validator).IsValid() }
