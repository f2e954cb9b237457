// Package bulk changes many conversions at once: a status for a list of conversions (the
// updateConversionStatuses mutation and the CSV import) and the streamed CSV export. Every
// conversion is changed by manual review (postback.Review) in its own transaction, so one
// refused or unknown conversion never undoes the others, and concurrent bulk calls on the same
// conversions lock one conversion at a time (no call holds a lock while it waits for another).
package bulk

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"entgo.io/ent/dialect"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/click"
	"github.com/gokart/gokart/ent/conversion"
	"github.com/gokart/gokart/internal/errcode"
	"github.com/gokart/gokart/internal/lifecycle"
	"github.com/gokart/gokart/internal/postback"
	"github.com/gokart/gokart/internal/viewer"
)

// MaxItems bounds the conversions of one updateConversionStatuses call; a client with more
// sends several calls, or the CSV import.
const MaxItems = 1000

// Outcome is what happened to one conversion of a bulk change.
type Outcome string

// The outcomes of one item.
const (
	Changed   Outcome = "CHANGED"
	Unchanged Outcome = "UNCHANGED"
	Failed    Outcome = "ERROR"
)

// StatusChange asks for one status for several conversions, named by id, by the network's
// conversion id, or by click (every conversion of the click).
type StatusChange struct {
	IDs                  []int
	NetworkConversionIDs []string
	GkClickIDs           []string
	Status               lifecycle.Status
	Reason               string
}

// Item is the result for one conversion asked for, in the order asked.
type Item struct {
	// ID is the conversion's id: the one asked for, or the one a network id named (0 when
	// none was found).
	ID int
	// NetworkConversionID is set when the item was asked for by network id.
	NetworkConversionID string
	// GkClickID is set when the item was asked for by click.
	GkClickID string
	Outcome   Outcome
	// Conversion is the conversion after the change (nil on error).
	Conversion *ent.Conversion
	// Err is why the item failed: NOT_FOUND, CONFLICT (a rule refused, or a network id that
	// several networks use), or INTERNAL.
	Err *errcode.Error

	// to and reason are what the item asks for.
	to     lifecycle.Status
	reason string
}

// UpdateStatuses moves each conversion to the status with the rules of a single review, each in
// its own transaction, and reports every item. client must not be a transaction's client (the
// mutation runs outside the GraphQL transaction: see graph.OwnTransactions). Only a bad request
// as a whole (no conversions, too many, a bad status or reason) is an error.
func UpdateStatuses(ctx context.Context, client *ent.Client, dialectName string, accountID int, req StatusChange) ([]Item, error) {
	n := len(req.IDs) + len(req.NetworkConversionIDs) + len(req.GkClickIDs)
	field := "input.ids"
	switch {
	case len(req.IDs) > 0:
	case len(req.NetworkConversionIDs) > 0:
		field = "input.networkConversionIDs"
	case len(req.GkClickIDs) > 0:
		field = "input.gkClickIDs"
	}
	switch {
	case n == 0:
		return nil, errcode.Invalid("input.ids", "name at least one conversion, by ids, networkConversionIDs or gkClickIDs")
	case n > MaxItems:
		return nil, errcode.Invalid(field, "at most %d conversions per call, got %d; split the list or use the CSV import", MaxItems, n)
	}
	if err := postback.CheckReview(req.Status, req.Reason); err != nil {
		if e, ok := errcode.As(err); ok && e.Field != "" {
			e.Field = "input." + e.Field
		}
		return nil, err
	}
	items := make([]Item, 0, n)
	for _, id := range req.IDs {
		items = append(items, Item{ID: id, to: req.Status, reason: req.Reason})
	}
	if len(req.NetworkConversionIDs) > 0 {
		byNetwork, err := resolveNetworkIDs(ctx, client, accountID, req.NetworkConversionIDs)
		if err != nil {
			return nil, err
		}
		for _, ncid := range req.NetworkConversionIDs {
			it := Item{NetworkConversionID: ncid, to: req.Status, reason: req.Reason}
			switch ids := byNetwork[ncid]; len(ids) {
			case 0:
				it.Outcome, it.Err = Failed, errcode.New(errcode.NotFound, "no conversion with network conversion id %q", ncid)
			case 1:
				it.ID = ids[0]
			default:
				it.Outcome, it.Err = Failed, errcode.New(errcode.Conflict, "%d networks reported a conversion %q; name it by id", len(ids), ncid)
			}
			items = append(items, it)
		}
	}
	if len(req.GkClickIDs) > 0 {
		byClick, err := resolveClicks(ctx, client, accountID, req.GkClickIDs)
		if err != nil {
			return nil, err
		}
		for _, gk := range req.GkClickIDs {
			ids := byClick[gk]
			if len(ids) == 0 {
				items = append(items, Item{GkClickID: gk, Outcome: Failed, Err: errcode.New(errcode.NotFound, "no conversion of click %q", gk)})
			}
			for _, id := range ids {
				items = append(items, Item{ID: id, GkClickID: gk, to: req.Status, reason: req.Reason})
			}
		}
		// The limit counts conversions, not clicks: a click can have many.
		if len(items) > MaxItems {
			return nil, errcode.Invalid("input.gkClickIDs", "at most %d conversions per call, these clicks have %d with the other items; split the list or use the CSV import", MaxItems, len(items))
		}
	}
	syncOffers(ctx, client, dialectName, accountID, run(ctx, client, dialectName, accountID, items))
	return items, nil
}

// Workers is how many conversions of one bulk change are reviewed at once on PostgreSQL (each
// in its own transaction, so the pool's connections and the database's cores work in
// parallel); SQLite takes one writer at a time anyway.
var Workers = 4

// run reviews the items not failed yet, in place. The items of one conversion go to one worker,
// in the order asked, so a repeated id is CHANGED first and UNCHANGED after. It returns the
// offers whose spend moved, for the caller to refresh each once (syncOffers) rather than after
// every conversion.
func run(ctx context.Context, client *ent.Client, dialectName string, accountID int, items []Item) map[int]bool {
	workers := 1
	if dialectName == dialect.Postgres {
		workers = max(1, Workers)
	}
	moved := make([]map[int]bool, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		moved[w] = map[int]bool{}
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := range items {
				it := &items[i]
				// Ownership first: another worker's items are written by it.
				if it.ID%workers != w || it.Err != nil {
					continue
				}
				if ctx.Err() != nil {
					// The caller is gone or out of time: what is done is committed, the rest not tried.
					it.Outcome, it.Err = Failed, errcode.New(errcode.Internal, "not tried: the request ended")
					continue
				}
				if offerID := review(ctx, client, dialectName, accountID, it); offerID != 0 {
					moved[w][offerID] = true
				}
			}
		}(w)
	}
	wg.Wait()
	all := map[int]bool{}
	for _, m := range moved {
		for offerID := range m {
			all[offerID] = true
		}
	}
	return all
}

// checkReview is postback.CheckReview.
var checkReview = postback.CheckReview

// review changes one conversion; every error becomes the item's. It returns the offer whose
// spend moved, or 0.
func review(ctx context.Context, client *ent.Client, dialectName string, accountID int, it *Item) int {
	conv, changed, spendMoved, err := postback.ReviewUnsynced(ctx, client, dialectName, accountID, it.ID, it.to, it.reason)
	if err != nil {
		it.Outcome = Failed
		if e, ok := errcode.As(err); ok {
			it.Err = e
		} else {
			slog.ErrorContext(ctx, "bulk status change", "conversion", it.ID, "err", err)
			it.Err = errcode.New(errcode.Internal, "internal error")
		}
		return 0
	}
	it.Conversion, it.Outcome = conv, Unchanged
	if changed {
		it.Outcome = Changed
	}
	if spendMoved {
		return conv.OfferID
	}
	return 0
}

// resolveNetworkIDs maps the account's network conversion ids to conversion ids, in chunks.
func resolveNetworkIDs(ctx context.Context, client *ent.Client, accountID int, ncids []string) (map[string][]int, error) {
	ctx = viewer.ForAccount(ctx, accountID)
	out := make(map[string][]int, len(ncids))
	const chunk = 500
	for start := 0; start < len(ncids); start += chunk {
		part := ncids[start:min(start+chunk, len(ncids))]
		rows, err := client.Conversion.Query().Where(conversion.NetworkConversionIDIn(part...)).
			Select(conversion.FieldID, conversion.FieldNetworkConversionID).All(ctx)
		if err != nil {
			return nil, fmt.Errorf("find conversions by network id: %w", err)
		}
		for _, c := range rows {
			if c.NetworkConversionID != nil {
				out[*c.NetworkConversionID] = append(out[*c.NetworkConversionID], c.ID)
			}
		}
	}
	return out, nil
}

// resolveClicks maps the account's click ids to the ids of their conversions (ascending), in
// chunks.
func resolveClicks(ctx context.Context, client *ent.Client, accountID int, gkClickIDs []string) (map[string][]int, error) {
	ctx = viewer.ForAccount(ctx, accountID)
	out := make(map[string][]int, len(gkClickIDs))
	const chunk = 500
	for start := 0; start < len(gkClickIDs); start += chunk {
		part := gkClickIDs[start:min(start+chunk, len(gkClickIDs))]
		clicks, err := client.Click.Query().Where(click.GkClickIDIn(part...)).
			Select(click.FieldID, click.FieldGkClickID).All(ctx)
		if err != nil {
			return nil, fmt.Errorf("find clicks: %w", err)
		}
		if len(clicks) == 0 {
			continue
		}
		byID := make(map[int]string, len(clicks))
		ids := make([]int, len(clicks))
		for i, c := range clicks {
			byID[c.ID], ids[i] = c.GkClickID, c.ID
		}
		// One more than the limit is enough to refuse the call.
		convs, err := client.Conversion.Query().Where(conversion.ClickIDIn(ids...)).
			Order(conversion.ByID()).Limit(MaxItems+1).Select(conversion.FieldID, conversion.FieldClickID).All(ctx)
		if err != nil {
			return nil, fmt.Errorf("find conversions by click: %w", err)
		}
		for _, c := range convs {
			gk := byID[c.ClickID]
			out[gk] = append(out[gk], c.ID)
		}
	}
	return out, nil
}

// Counts sums the outcomes of items.
func Counts(items []Item) (changed, unchanged, failed int) {
	for _, it := range items {
		switch it.Outcome {
		case Changed:
			changed++
		case Unchanged:
			unchanged++
		default:
			failed++
		}
	}
	return
}

// trimmed is s without surrounding spaces, for CSV cells.
func trimmed(s string) string { return strings.TrimSpace(s) }
