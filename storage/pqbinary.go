package storage

import (
	"bytes"
	"context"
	"database/sql/driver"
	"encoding/json"
	"net/url"
	"strings"
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
func postgresConnector(rawURL string) (driver.Connector, error) {
	cfg, err := pq.NewConfig(rawURL)
	if err != nil {
		return nil, err
	}
	if !setsBinaryParameters(rawURL) {
		cfg.BinaryParameters = true
	}
	c, err := pq.NewConnectorConfig(cfg)
	if err != nil {
		return nil, err
	}
	if !cfg.BinaryParameters {
		return c, nil
	}
	return textBytesConnector{c}, nil
}

func setsBinaryParameters(rawURL string) bool {
	u, err := url.Parse(rawURL)
	if err != nil {
		return strings.Contains(rawURL, "binary_parameters")
	}
	return u.Query().Has("binary_parameters")
}

type textBytesConnector struct{ *pq.Connector }

func (c textBytesConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &textBytesConn{conn: conn}, nil
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

// textBytesConn is a lib/pq connection whose []byte arguments that are text go as text.
type textBytesConn struct{ conn driver.Conn }

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

func (c *textBytesConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c *textBytesConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	return c.conn.(driver.ConnPrepareContext).PrepareContext(ctx, q)
}

func (c *textBytesConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	return c.conn.(driver.QueryerContext).QueryContext(ctx, q, args)
}

func (c *textBytesConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	return c.conn.(driver.ExecerContext).ExecContext(ctx, q, args)
}

func (c *textBytesConn) Ping(ctx context.Context) error { return c.conn.(driver.Pinger).Ping(ctx) }

func (c *textBytesConn) ResetSession(ctx context.Context) error {
	return c.conn.(driver.SessionResetter).ResetSession(ctx)
}

func (c *textBytesConn) IsValid() bool { return c.conn.(driver.Validator).IsValid() }
