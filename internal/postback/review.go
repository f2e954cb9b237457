package postback

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"entgo.io/ent/dialect"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/conversion"
	"github.com/gokart/gokart/ent/conversionstatuschange"
	"github.com/gokart/gokart/ent/schema"
	"github.com/gokart/gokart/internal/budget"
	"github.com/gokart/gokart/internal/errcode"
	"github.com/gokart/gokart/internal/lifecycle"
	"github.com/gokart/gokart/internal/viewer"
)

// ChangeStatus is manual review: it moves a conversion of the account to another status with
// the postback path's rules, spend movement and history (source MANUAL). Moving into a status
// that spends applies every rule (caps, budgets, one completion per member, offer ended); a
// refusal is a CONFLICT naming the rule, and nothing changes.
//
// client may be a plain client (ChangeStatus runs its own transaction and refreshes the offer's
// budget_spent after commit) or a transaction's client, such as the one entgql.Transactioner
// puts in a mutation's context (then the refresh happens inside that transaction).
//
// Errors a client may see are *errcode.Error: NOT_FOUND, VALIDATION or CONFLICT.
func ChangeStatus(ctx context.Context, client *ent.Client, dialectName string, accountID, conversionID int, to lifecycle.Status, reason string) (*ent.Conversion, error) {
	conv, _, err := Review(ctx, client, dialectName, accountID, conversionID, to, reason)
	return conv, err
}

// Review is ChangeStatus that also says whether the status changed: a conversion already in
// the status is returned unchanged, with no history step and no callback.
func Review(ctx context.Context, client *ent.Client, dialectName string, accountID, conversionID int, to lifecycle.Status, reason string) (conv *ent.Conversion, changed bool, err error) {
	conv, changed, _, err = review(ctx, client, dialectName, accountID, conversionID, to, reason, true)
	return conv, changed, err
}

// ReviewUnsynced is Review with a plain client that leaves the refresh of the stored copy of
// the offer's spend (offers.budget_spent) to the caller: one that reviews many conversions
// refreshes each offer once (budget.Sync) instead of once per conversion. spendMoved says the
// offer's spend changed.
func ReviewUnsynced(ctx context.Context, client *ent.Client, dialectName string, accountID, conversionID int, to lifecycle.Status, reason string) (conv *ent.Conversion, changed, spendMoved bool, err error) {
	return review(ctx, client, dialectName, accountID, conversionID, to, reason, false)
}

func review(ctx context.Context, client *ent.Client, dialectName string, accountID, conversionID int, to lifecycle.Status, reason string, sync bool) (conv *ent.Conversion, changed, spendMoved bool, err error) {
	if err := CheckReview(to, reason); err != nil {
		return nil, false, false, err
	}
	ctx = viewer.ForAccount(ctx, accountID)
	tx, err := client.Tx(ctx)
	own := true
	if errors.Is(err, ent.ErrTxStarted) {
		own = false
	} else if err != nil {
		return nil, false, false, fmt.Errorf("change status of conversion %d: %w", conversionID, err)
	}
	c := client
	if own {
		c = tx.Client()
	}
	conv, changed, spendMoved, err = changeStatus(ctx, c, dialectName, conversionID, to, reason)
	if err == nil && spendMoved && !own {
		err = budget.SyncInTx(ctx, c, dialectName, accountID, conv.OfferID)
	}
	if !own {
		return conv, changed, spendMoved, err
	}
	if err != nil {
		_ = tx.Rollback()
		return nil, false, false, err
	}
	if err := tx.Commit(); err != nil {
		return nil, false, false, fmt.Errorf("change status of conversion %d: commit: %w", conversionID, err)
	}
	if spendMoved && sync {
		// The change is committed: a failed refresh of the stored copy of the spend must not
		// report it as failed (budgetSpent reads the shards; the next refresh repairs the copy).
		if err := budget.Sync(ctx, client, dialectName, accountID, conv.OfferID); err != nil {
			slog.WarnContext(ctx, "refresh budget_spent after manual review", "offer", conv.OfferID, "err", err)
		}
	}
	return conv, changed, spendMoved, nil
}

// CheckReview validates a review's status and reason before any conversion is read, so that a
// bulk change refuses a bad request once rather than once per conversion.
func CheckReview(to lifecycle.Status, reason string) error {
	if !validStatus(to) {
		return errcode.Invalid("status", "%q is not a conversion status", to)
	}
	if len(reason) > schema.MaxReasonLength {
		return errcode.Invalid("reason", "must be at most %d characters", schema.MaxReasonLength)
	}
	return nil
}

func validStatus(s lifecycle.Status) bool {
	for _, v := range s.Values() {
		if string(s) == v {
			return true
		}
	}
	return false
}

func changeStatus(ctx context.Context, c *ent.Client, dialectName string, conversionID int, to lifecycle.Status, reason string) (conv *ent.Conversion, changed, spendMoved bool, err error) {
	q := c.Conversion.Query().Where(conversion.ID(conversionID))
	if dialectName == dialect.Postgres {
		q = q.ForUpdate()
	}
	found, err := q.Only(ctx)
	if ent.IsNotFound(err) {
		return nil, false, false, errcode.New(errcode.NotFound, "conversion not found")
	}
	if err != nil {
		return nil, false, false, fmt.Errorf("load conversion %d: %w", conversionID, err)
	}
	if found.Status == to {
		return found, false, false, nil
	}
	if reason == "" {
		reason = "manual review"
	}
	res, err := moveStatus(ctx, c, dialectName, found, to, reason, conversionstatuschange.SourceMANUAL, time.Now().UTC())
	if err != nil {
		return nil, false, false, err
	}
	if res.refusal != nil {
		e := errcode.New(errcode.Conflict, "refused by rule %s", res.refusal.Rule)
		e.Field = "status"
		return nil, false, false, e
	}
	updated, err := c.Conversion.Get(ctx, conversionID)
	if err != nil {
		return nil, false, false, fmt.Errorf("reload conversion %d: %w", conversionID, err)
	}
	return updated, true, res.spendMoved, nil
}

// moveStatus moves a loaded and locked conversion to another status with transition (spend,
// history, callbacks) and writes the batch; a refusal leaves the conversion as it was.
func moveStatus(ctx context.Context, c *ent.Client, dialectName string, found *ent.Conversion, to lifecycle.Status, reason string, source conversionstatuschange.Source, now time.Time) (transitionResult, error) {
	o, err := c.Offer.Get(ctx, found.OfferID)
	if err != nil {
		return transitionResult{}, fmt.Errorf("load offer of conversion %d: %w", found.ID, err)
	}
	ev, err := c.OfferEvent.Get(ctx, found.OfferEventID)
	if err != nil {
		return transitionResult{}, fmt.Errorf("load event of conversion %d: %w", found.ID, err)
	}
	// A refused repeat (refuseRepeat) counts only on an event that allows repeats: on one that
	// does not, the click's conversion there is counted already.
	if found.RepeatKey != "" && !ev.AllowRepeats && lifecycle.SpendOf(found.Status, to) == lifecycle.Charge {
		return transitionResult{refusal: errcode.RefuseRule(RuleRepeatConversion)}, nil
	}
	var b batch
	res, err := transition(ctx, c, dialectName, &b, targetOf(o, ev, found), convOf(found), to, reason, source, false, now)
	if err != nil || res.refusal != nil {
		return res, err
	}
	if err := b.flush(ctx, c, dialectName == dialect.Postgres); err != nil {
		return res, fmt.Errorf("change status of conversion %d: %w", found.ID, err)
	}
	return res, nil
}
