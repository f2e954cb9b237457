package bulk

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"entgo.io/ent/dialect"

	"github.com/gokart/gokart/ent/account"
	"github.com/gokart/gokart/internal/errcode"
	"github.com/gokart/gokart/internal/postback"
	"github.com/gokart/gokart/internal/viewer"
)

// ConversionImportColumns is the conversion import's result header row.
var ConversionImportColumns = []string{"line", "outcome", "code", "message"}

// The outcomes of one imported conversion line.
const (
	// Accepted is a new conversion.
	Accepted Outcome = "ACCEPTED"
	// Duplicate is a line whose conversion exists as reported: nothing changed.
	Duplicate Outcome = "DUPLICATE"
	// Updated is a line that changed a known conversion (status, amount or payout), as the
	// same postback would.
	Updated Outcome = "UPDATED"
)

// ConversionImportSummary counts a conversion import's lines.
type ConversionImportSummary struct{ Accepted, Duplicate, Updated, Failed int }

// clockSkew is how far in the future a completed_at may be (clocks differ).
const clockSkew = 5 * time.Minute

// ImportConversions reads CSV lines of (gk_click_id, event_id, completed_at,
// network_conversion_id, amount, payout, status), named by a header row in any order, and
// applies each as the postback the network would have sent for it (postback.Service, with the
// line's completed_at as the postback's time), each in its own transaction: a line is applied
// whole or not at all, and a line applied before is a duplicate. It writes one result line per
// data line to w (line number, outcome, code, message), flushing every importFlushEvery lines.
// A header it cannot use is an error before anything is written.
func ImportConversions(ctx context.Context, svc *postback.Service, accountID int, r io.Reader, w io.Writer, flush func(), now func() time.Time) (ConversionImportSummary, error) {
	var sum ConversionImportSummary
	acc, err := svc.Client.Account.Query().Where(account.ID(accountID)).Select(account.FieldPostbackKey).Only(viewer.AsSystem(ctx))
	if err != nil {
		return sum, fmt.Errorf("import conversions: read the postback key: %w", err)
	}
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return sum, errcode.Invalid("header", "empty body: send a header row (gk_click_id, event_id, completed_at, …) and lines")
		}
		return sum, errcode.Invalid("header", "unreadable CSV header: %v", err)
	}
	col := map[string]int{}
	for i, name := range header {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(name, "\ufeff")))] = i
	}
	for _, need := range []string{"gk_click_id", "event_id", "completed_at"} {
		if _, ok := col[need]; !ok {
			return sum, errcode.Invalid("header", "the header must name gk_click_id, event_id and completed_at (and may name network_conversion_id, amount, payout, status)")
		}
	}
	cell := func(rec []string, name string) string {
		i, ok := col[name]
		if !ok || i >= len(rec) {
			return ""
		}
		return trimmed(rec[i])
	}

	cw := csv.NewWriter(w)
	if err := cw.Write(ConversionImportColumns); err != nil {
		return sum, err
	}
	out := make([]string, len(ConversionImportColumns))
	emit := func(line int, o Outcome, e *errcode.Error) error {
		out[0], out[1], out[2], out[3] = strconv.Itoa(line), string(o), "", ""
		if e != nil {
			out[2], out[3] = string(e.Code), e.Error()
		}
		switch o {
		case Accepted:
			sum.Accepted++
		case Duplicate:
			sum.Duplicate++
		case Updated:
			sum.Updated++
		default:
			sum.Failed++
		}
		return cw.Write(out)
	}
	// Lines are read in batches of importFlushEvery, applied (on PostgreSQL by Workers at
	// once, the lines of one click by one worker in file order), and their results written in
	// line order before the next batch is read.
	type entry struct {
		line int
		rec  []string
		o    Outcome
		e    *errcode.Error
	}
	batch := make([]entry, 0, importFlushEvery)
	workers := 1
	if svc.Dialect == dialect.Postgres {
		workers = max(1, Workers)
	}
	flushBatch := func() error {
		at := now()
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := range batch {
					en := &batch[i]
					if en.rec == nil || workerOf(cell(en.rec, "gk_click_id"), workers) != w {
						continue
					}
					en.o, en.e = importLine(ctx, svc, acc.PostbackKey, en.rec, cell, at)
				}
			}(w)
		}
		wg.Wait()
		for _, en := range batch {
			if err := emit(en.line, en.o, en.e); err != nil {
				return err
			}
		}
		batch = batch[:0]
		cw.Flush()
		if flush != nil {
			flush()
		}
		return cw.Error()
	}
	lines, lastLine := 0, 1
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line := lastLine + 1
		var perr *csv.ParseError
		switch {
		case err == nil:
			line, _ = cr.FieldPos(0)
		case errors.As(err, &perr):
			line = perr.StartLine
		}
		lastLine = line
		stop := false
		en := entry{line: line}
		switch {
		case perr != nil:
			en.o, en.e = Failed, errcode.Invalid("line", "unreadable CSV: %v", perr.Err)
		case err != nil:
			// The body itself failed (too large, or the client went away): say so and stop.
			msg := "the body could not be read further: " + err.Error()
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				msg = fmt.Sprintf("the body is larger than %d bytes: this line and those after it were not read", tooLarge.Limit)
			}
			en.o, en.e, stop = Failed, errcode.Invalid("body", "%s", msg), true
		case ctx.Err() != nil:
			en.o, en.e, stop = Failed, errcode.New(errcode.Internal, "not tried: the request ended; send this line and those after it again"), true
		default:
			lines++
			if lines > MaxImportLines {
				en.o, en.e = Failed, errcode.Invalid("line", "more than %d lines in one import: not tried; send the rest again", MaxImportLines)
				break
			}
			en.rec = rec
		}
		batch = append(batch, en)
		if len(batch) == importFlushEvery || stop {
			if err := flushBatch(); err != nil {
				return sum, err
			}
		}
		if stop {
			break
		}
	}
	if err := flushBatch(); err != nil {
		return sum, err
	}
	return sum, nil
}

// workerOf assigns a click to one of n workers, so that its lines are applied in file order.
func workerOf(gkClickID string, n int) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(gkClickID))
	return int(h.Sum32() % uint32(n))
}

// importLine checks one line's own columns and applies it as its postback.
func importLine(ctx context.Context, svc *postback.Service, key string, rec []string, cell func([]string, string) string, now time.Time) (Outcome, *errcode.Error) {
	at, err := time.Parse(time.RFC3339Nano, cell(rec, "completed_at"))
	switch {
	case cell(rec, "gk_click_id") == "":
		return Failed, errcode.Invalid("gk_click_id", "the line has no gk_click_id")
	case cell(rec, "event_id") == "":
		return Failed, errcode.Invalid("event_id", "the line has no event_id")
	case err != nil:
		return Failed, errcode.Invalid("completed_at", "%q is not an RFC 3339 time such as 2026-12-01T10:00:00Z", cell(rec, "completed_at"))
	case at.After(now.Add(clockSkew)):
		return Failed, errcode.Invalid("completed_at", "%s is in the future", at.UTC().Format(time.RFC3339))
	}
	q := url.Values{"key": {key}, "gk_click_id": {cell(rec, "gk_click_id")}, "cnv_event_id": {cell(rec, "event_id")}}
	for param, name := range map[string]string{"cnv_conversion_id": "network_conversion_id", "cnv_amount": "amount", "cnv_payout": "payout", "cnv_status": "status"} {
		if v := cell(rec, name); v != "" {
			q.Set(param, v)
		}
	}
	resp := svc.Handle(ctx, postback.Request{RawQuery: q.Encode(), SourceIP: "import", Now: at, Import: true})
	if resp.Status == http.StatusOK {
		switch resp.Body {
		case postback.BodyAccepted:
			return Accepted, nil
		case postback.BodyDuplicate:
			return Duplicate, nil
		default:
			return Updated, nil
		}
	}
	code := errcode.Internal
	switch resp.Status {
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		code = errcode.Validation
	case http.StatusNotFound:
		code = errcode.NotFound
	case http.StatusConflict:
		code = errcode.Conflict
	}
	return Failed, errcode.New(code, "%s", resp.Body)
}
