package postback

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"time"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/conversionstatuschange"
	"github.com/gokart/gokart/ent/postbacklog"
	"github.com/gokart/gokart/internal/budget"
	"github.com/gokart/gokart/internal/errcode"
	"github.com/gokart/gokart/internal/money"
)

// modification is a network's change of a known action's amount or payout (Impact's modified
// actions: the same {ActionId} with another {Amount} or {Payout}).
type modification struct {
	oldAmount, newAmount *money.Micros
	// oldPayout and newPayout are what the conversion pays: the event's payout, which the
	// network's cnv_payout does not change (it is kept in extras).
	oldPayout, newPayout money.Micros
	// extras are the conversion's extras with the network's new cnv_payout; nil when it is the same.
	extras map[string]string
	note   string
}

// modificationOf compares what the postback reports with the conversion; nil when nothing
// differs. A parameter the postback leaves out (or an unfilled macro) changes nothing.
func modificationOf(t target, cv *conv, p Params) *modification {
	m := &modification{oldAmount: cv.amount, newAmount: cv.amount, oldPayout: cv.payout, newPayout: cv.payout}
	var notes []string
	if p.Amount != nil && (cv.amount == nil || *cv.amount != *p.Amount) {
		m.newAmount = p.Amount
		notes = append(notes, "amount "+microsOr(cv.amount, "none")+" to "+p.Amount.String())
	}
	if p.Payout != nil && cv.extras["cnv_payout"] != p.Payout.String() {
		m.extras = maps.Clone(cv.extras)
		if m.extras == nil {
			m.extras = map[string]string{}
		}
		notes = append(notes, "cnv_payout "+strOrEmpty(cv.extras["cnv_payout"], "none")+" to "+p.Payout.String())
		m.extras["cnv_payout"] = p.Payout.String()
	}
	if len(notes) == 0 {
		return nil
	}
	if m.newAmount != m.oldAmount {
		// Only a new amount reprices (a revenue share); the share's terms as they are now.
		m.newPayout = t.payoutFor(m.newAmount, cv.payout)
	}
	if m.newPayout != m.oldPayout {
		notes = append(notes, "payout "+m.oldPayout.String()+" to "+m.newPayout.String())
	}
	m.note = "modified by the network: " + strings.Join(notes, ", ")
	return m
}

// columns merges the modification's new values into the conversion's change.
func (m *modification) columns(ch *conversionChange) error {
	if m.newAmount != m.oldAmount {
		ch.amount = m.newAmount
	}
	if m.newPayout != m.oldPayout {
		p := m.newPayout
		ch.payout = &p
	}
	if m.extras != nil {
		b, err := json.Marshal(m.extras)
		if err != nil {
			return fmt.Errorf("extras: %w", err)
		}
		s := string(b)
		ch.extras = &s
	}
	return nil
}

// moveSpend moves a spending conversion's charge by the modification's payout difference
// (budget.Adjust); a refusal changes nothing and is returned.
func moveSpend(ctx context.Context, c *ent.Client, dialectName string, b *batch, t target, cv *conv, m *modification, now time.Time) (moved bool, refusal *errcode.Refusal, err error) {
	if !cv.status.Spends() || m.newPayout == m.oldPayout {
		return false, nil, nil
	}
	ch, err := budget.Adjust(ctx, c, dialectName, cv.subject(t), cv.charge, m.newPayout)
	if r, ok := errcode.AsRefusal(err); ok {
		return false, r, nil
	}
	if err != nil {
		return false, nil, err
	}
	cv.charge, cv.payout = ch, m.newPayout
	b.changeConversion(conversionChange{accountID: cv.accountID, id: cv.id, charge: &ch, at: now})
	return true, nil, nil
}

// modify applies a modification that comes without a change of status: new amounts, spend
// moved by the exact difference, a MODIFIED history step and its callbacks.
func modify(ctx context.Context, c *ent.Client, dialectName string, b *batch, t target, cv *conv, m *modification, now time.Time) (outcome, error) {
	moved, refusal, err := moveSpend(ctx, c, dialectName, b, t, cv, m, now)
	if err != nil {
		return outcome{}, err
	}
	if refusal != nil {
		return answer(http.StatusConflict, postbacklog.OutcomeREJECTED, refusal.Rule,
			refusal.Rule+": the modified payout does not fit; the conversion keeps its amounts ("+m.note+")"), nil
	}
	change := conversionChange{accountID: cv.accountID, id: cv.id, at: now}
	if err := m.columns(&change); err != nil {
		return outcome{}, fmt.Errorf("modify conversion %d: %w", cv.id, err)
	}
	b.changeConversion(change)
	from := cv.status
	b.statusChange(cv.accountID, cv.id, t.offerID, cv.eventID, &from, cv.status, m.note, conversionstatuschange.SourcePOSTBACK, now, m)
	out := answer(http.StatusOK, postbacklog.OutcomeMODIFIED, BodyUpdated, m.note)
	if moved {
		out.syncOffer = t.offerID
	}
	return out, nil
}

func microsOr(m *money.Micros, or string) string {
	if m == nil {
		return or
	}
	return m.String()
}

func strOrEmpty(s, or string) string {
	if s == "" {
		return or
	}
	return s
}
