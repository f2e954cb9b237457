package bulk

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/internal/budget"
	"github.com/gokart/gokart/internal/errcode"
	"github.com/gokart/gokart/internal/lifecycle"
)

// Bounds of one import request.
const (
	// MaxImportBytes bounds the body: about 100 000 lines of ids, statuses and short reasons.
	MaxImportBytes = 10 << 20
	// MaxImportLines bounds the data lines; the lines after it are answered as not tried.
	MaxImportLines = 100_000
	// importFlushEvery is how many result lines go out together.
	importFlushEvery = 100
)

// ImportColumns is the result CSV's header row.
var ImportColumns = []string{"line", "id", "network_conversion_id", "outcome", "code", "message"}

// ImportSummary counts an import's lines.
type ImportSummary struct{ Changed, Unchanged, Failed int }

// ImportStatuses reads CSV lines of (id or network_conversion_id, status, reason) from r, named
// by a header row in any order, and changes each conversion as UpdateStatuses would, one line
// at a time as it reads them; it writes one result line per data line to w (line number,
// conversion, outcome, code, message), flushing every importFlushEvery lines. A header it
// cannot use is an error before anything is written; everything after is a result line.
func ImportStatuses(ctx context.Context, client *ent.Client, dialectName string, accountID int, r io.Reader, w io.Writer, flush func()) (ImportSummary, error) {
	var sum ImportSummary
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return sum, errcode.Invalid("header", "empty body: send a header row (id or network_conversion_id, status, reason) and lines")
		}
		return sum, errcode.Invalid("header", "unreadable CSV header: %v", err)
	}
	col := map[string]int{}
	for i, name := range header {
		name = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(name, "\ufeff")))
		if name == "conversion_id" {
			name = "id"
		}
		col[name] = i
	}
	idCol, hasID := col["id"]
	ncidCol, hasNCID := col["network_conversion_id"]
	statusCol, hasStatus := col["status"]
	reasonCol, hasReason := col["reason"]
	if !hasStatus || !hasID && !hasNCID {
		return sum, errcode.Invalid("header", "the header must name status and id (or conversion_id) or network_conversion_id")
	}
	cell := func(rec []string, i int, ok bool) string {
		if !ok || i >= len(rec) {
			return ""
		}
		return trimmed(rec[i])
	}

	cw := csv.NewWriter(w)
	if err := cw.Write(ImportColumns); err != nil {
		return sum, err
	}
	out := make([]string, len(ImportColumns))
	moved := map[int]bool{}
	emit := func(line int, it Item) error {
		out[0] = strconv.Itoa(line)
		out[1], out[2], out[4], out[5] = "", it.NetworkConversionID, "", ""
		if it.ID != 0 {
			out[1] = strconv.Itoa(it.ID)
		}
		out[3] = string(it.Outcome)
		if it.Err != nil {
			out[4], out[5] = string(it.Err.Code), it.Err.Error()
		}
		switch it.Outcome {
		case Changed:
			sum.Changed++
		case Unchanged:
			sum.Unchanged++
		default:
			sum.Failed++
		}
		return cw.Write(out)
	}
	// Lines are read and reviewed in batches of importFlushEvery (on PostgreSQL by the workers
	// of run), and their results written in line order before the next batch is read.
	var (
		batch    = make([]Item, 0, importFlushEvery)
		lineNums = make([]int, 0, importFlushEvery)
		lines    = 0
		lastLine = 1
	)
	flushBatch := func() error {
		for offerID := range run(ctx, client, dialectName, accountID, batch) {
			moved[offerID] = true
		}
		for i, it := range batch {
			if err := emit(lineNums[i], it); err != nil {
				return err
			}
		}
		batch, lineNums = batch[:0], lineNums[:0]
		cw.Flush()
		if flush != nil {
			flush()
		}
		return cw.Error()
	}
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
		var it Item
		switch {
		case perr != nil:
			it = Item{Outcome: Failed, Err: errcode.Invalid("line", "unreadable CSV: %v", perr.Err)}
		case err != nil:
			// The body itself failed (too large, or the client went away): say so and stop.
			msg := "the body could not be read further: " + err.Error()
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				msg = fmt.Sprintf("the body is larger than %d bytes: this line and those after it were not read", tooLarge.Limit)
			}
			it = Item{Outcome: Failed, Err: errcode.Invalid("body", "%s", msg)}
		default:
			lines++
			it, err = parseLine(ctx, client, accountID, lines, cell(rec, ncidCol, hasNCID), cell(rec, idCol, hasID),
				cell(rec, statusCol, hasStatus), cell(rec, reasonCol, hasReason))
			if err != nil {
				return sum, err
			}
		}
		batch, lineNums = append(batch, it), append(lineNums, line)
		if len(batch) == importFlushEvery || it.Err != nil && it.Err.Field == "body" {
			if err := flushBatch(); err != nil {
				return sum, err
			}
		}
		if it.Err != nil && it.Err.Field == "body" {
			break
		}
	}
	if err := flushBatch(); err != nil {
		return sum, err
	}
	syncOffers(ctx, client, dialectName, accountID, moved)
	return sum, nil
}

// parseLine reads one data line into an item to review, or a failed item; an error is the
// database's.
func parseLine(ctx context.Context, client *ent.Client, accountID, n int, ncid, idText, statusText, reason string) (Item, error) {
	it := Item{NetworkConversionID: ncid, to: lifecycle.Status(strings.ToUpper(statusText)), reason: reason}
	switch {
	case n > MaxImportLines:
		it.Outcome, it.Err = Failed, errcode.Invalid("line", "more than %d lines in one import: not tried; send the rest again", MaxImportLines)
	case idText != "":
		id, err := strconv.Atoi(idText)
		if err != nil || id <= 0 {
			it.Outcome, it.Err = Failed, errcode.Invalid("id", "%q is not a conversion id", idText)
		} else {
			it.ID = id
		}
	case ncid != "":
		ids, err := resolveNetworkIDs(ctx, client, accountID, []string{ncid})
		if err != nil {
			return it, err
		}
		switch found := ids[ncid]; len(found) {
		case 0:
			it.Outcome, it.Err = Failed, errcode.New(errcode.NotFound, "no conversion with network conversion id %q", ncid)
		case 1:
			it.ID = found[0]
		default:
			it.Outcome, it.Err = Failed, errcode.New(errcode.Conflict, "%d networks reported a conversion %q; name it by id", len(found), ncid)
		}
	default:
		it.Outcome, it.Err = Failed, errcode.Invalid("id", "the line names no conversion")
	}
	if it.Err == nil {
		if err := CheckLine(it.to, reason); err != nil {
			it.Outcome, it.Err = Failed, err
		}
	}
	return it, nil
}

// CheckLine is postback.CheckReview for one import line, as an *errcode.Error.
func CheckLine(status lifecycle.Status, reason string) *errcode.Error {
	if status == "" {
		return errcode.Invalid("status", "the line has no status")
	}
	if err := checkReview(status, reason); err != nil {
		if e, ok := errcode.As(err); ok {
			return e
		}
		return errcode.Invalid("status", "%v", err)
	}
	return nil
}

// syncOffers refreshes the stored spend of the offers whose spend moved, once each. The
// changes are committed; a failed refresh of the copy is repaired by the next one.
func syncOffers(ctx context.Context, client *ent.Client, dialectName string, accountID int, offers map[int]bool) {
	for offerID := range offers {
		if err := budget.Sync(context.WithoutCancel(ctx), client, dialectName, accountID, offerID); err != nil {
			slog.WarnContext(ctx, "refresh budget_spent after bulk review", "offer", offerID, "err", err)
		}
	}
}
