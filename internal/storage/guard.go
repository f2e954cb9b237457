package storage

import (
	"context"
	"database/sql/driver"
	"io"
	"net"
	"reflect"
	"sync"
	"sync/atomic"
	"time"
)

// Guards against a silent PostgreSQL: a server that keeps the connection open and never
// answers (a dead network path, a frozen host). lib/pq cancels a query by asking the server,
// which never answers either, and cannot abort its own blocked read, so without these a request
// waits for ever. The settings apply unless the DATABASE_URL sets them itself.
var (
	// StatementTimeout is statement_timeout for every session: the server ends a statement that
	// runs longer. 0 (the default, for `gokart migrate` and the other one-off commands, whose
	// statements may rightly run long) leaves the server's setting; serve sets
	// DB_STATEMENT_TIMEOUT.
	StatementTimeout time.Duration
	// ConnectTimeout bounds dialling and the startup handshake of a new connection.
	ConnectTimeout = 5 * time.Second
	// UserTimeout is TCP_USER_TIMEOUT: the kernel drops a connection whose sent data stays
	// unacknowledged this long, and keepalive probes find a dead peer on an idle one.
	UserTimeout = 10 * time.Second
)

// guardDialer dials PostgreSQL with keepalive and TCP_USER_TIMEOUT, and hands the connection
// to the Connect that asked for it, which aborts it when that caller's context ends.
type guardDialer struct{}

func (guardDialer) Dial(network, addr string) (net.Conn, error) {
	return guardDialer{}.DialContext(context.Background(), network, addr)
}

func (guardDialer) DialTimeout(network, addr string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return guardDialer{}.DialContext(ctx, network, addr)
}

func (guardDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	d := net.Dialer{
		KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: 15 * time.Second, Interval: 5 * time.Second, Count: 3},
		Control:         setUserTimeout(UserTimeout),
	}
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	g := &abortableConn{Conn: c}
	if slot, ok := ctx.Value(dialSlotKey{}).(*dialSlot); ok {
		slot.put(g)
	}
	return g, nil
}

// dialSlotKey carries, from Connect to the dialer, the slot to leave the new connection in.
type dialSlotKey struct{}

// dialSlot is where the dialer leaves the connection it made for one Connect; when that
// Connect's context ends during the handshake, the connection is aborted.
type dialSlot struct {
	mu    sync.Mutex
	nc    *abortableConn
	ended bool
}

func (s *dialSlot) put(nc *abortableConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nc = nc
	if s.ended {
		nc.abort()
	}
}

func (s *dialSlot) end() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ended = true
	if s.nc != nil {
		s.nc.abort()
	}
}

func (s *dialSlot) conn() *abortableConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nc
}

// abortableConn is a network connection that can be failed from outside: abort puts its
// deadline in the past, so a read or write blocked on a silent server returns at once, and
// every later one fails too (lib/pq then reports the connection bad and the pool drops it).
type abortableConn struct {
	net.Conn
	mu      sync.Mutex
	aborted atomic.Bool
}

func (c *abortableConn) abort() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.aborted.Store(true)
	_ = c.Conn.SetDeadline(time.Unix(1, 0))
}

// SetDeadline is how lib/pq bounds the startup handshake; an aborted connection stays aborted.
func (c *abortableConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.aborted.Load() {
		return nil
	}
	return c.Conn.SetDeadline(t)
}

func (c *abortableConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.aborted.Load() {
		return nil
	}
	return c.Conn.SetReadDeadline(t)
}

func (c *abortableConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.aborted.Load() {
		return nil
	}
	return c.Conn.SetWriteDeadline(t)
}

// watch aborts nc if ctx ends before the returned stop is called: the database call that ctx
// bounds then fails at its deadline instead of waiting for a server that does not answer.
func watch(ctx context.Context, nc *abortableConn) (stop func()) {
	if nc == nil || ctx.Done() == nil {
		return func() {}
	}
	s := context.AfterFunc(ctx, nc.abort)
	return func() { s() }
}

// guardedTx ends the watch over a transaction's connection when the transaction ends.
type guardedTx struct {
	driver.Tx
	stop func()
}

func (t guardedTx) Commit() error {
	defer t.stop()
	return t.Tx.Commit()
}

func (t guardedTx) Rollback() error {
	defer t.stop()
	return t.Tx.Rollback()
}

// guardedRows ends the watch when the rows are closed: lib/pq reads a result as it is
// scanned, so a silent server can block Next as much as the query itself.
type guardedRows struct {
	driver.Rows
	stop func()
}

func (r guardedRows) Close() error {
	defer r.stop()
	return r.Rows.Close()
}

func (r guardedRows) HasNextResultSet() bool {
	n, ok := r.Rows.(driver.RowsNextResultSet)
	return ok && n.HasNextResultSet()
}

func (r guardedRows) NextResultSet() error {
	if n, ok := r.Rows.(driver.RowsNextResultSet); ok {
		return n.NextResultSet()
	}
	return io.EOF
}

func (r guardedRows) ColumnTypeScanType(i int) reflect.Type {
	if t, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}

func (r guardedRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r guardedRows) ColumnTypeLength(i int) (int64, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeLength); ok {
		return t.ColumnTypeLength(i)
	}
	return 0, false
}

func (r guardedRows) ColumnTypePrecisionScale(i int) (int64, int64, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypePrecisionScale); ok {
		return t.ColumnTypePrecisionScale(i)
	}
	return 0, 0, false
}
