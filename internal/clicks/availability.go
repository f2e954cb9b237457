package clicks

import (
	"context"
	"time"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/offer"
	"github.com/gokart/gokart/internal/budget"
	"github.com/gokart/gokart/internal/money"
)

// Availability says whether an offer takes clicks now and, if not, why: the click route's own
// rules (checkOffer, then budget.Exhausted's), applied to the committed state, so that what a
// dashboard or an offerwall shows as clickable is what GET /click/{offer} takes.
type Availability string

// The availabilities, in the order the rules are checked.
const (
	Clickable   Availability = "CLICKABLE"
	Draft       Availability = "DRAFT"
	Paused      Availability = "PAUSED"
	Ended       Availability = "ENDED"
	NotStarted  Availability = "NOT_STARTED"
	OutOfBudget Availability = "OUT_OF_BUDGET"
	Capped      Availability = "CAPPED"
)

// Cheapest is the smallest payout of the events: what a conversion costs the budget at least.
func Cheapest(events []*ent.OfferEvent) money.Micros {
	var c money.Micros
	for i, ev := range events {
		if i == 0 || ev.Payout < c {
			c = ev.Payout
		}
	}
	return c
}

// Availabilities judges offers of one account as read, with their events' payouts loaded, at
// now: the rules of a click that are the offer's own (status, schedule, events, tracking link)
// for each, then the budgets and caps of those that pass, read for all of them together in
// one statement (budget.ExhaustedByOffer). Targeting and member rules are the member's, not
// the offer's, and are left out.
func Availabilities(ctx context.Context, c *ent.Client, dialectName string, accountID int, offers []*ent.Offer, now time.Time) (map[int]Availability, error) {
	ac := NewAvailabilityCheck(offers, now)
	rules, err := budget.ExhaustedByOffer(ctx, c, dialectName, accountID, ac.live, ac.cheapest, now)
	if err != nil {
		return nil, err
	}
	return ac.judge(rules), nil
}

// AvailabilityCheck is Availabilities in parts, for a caller that reads the limits with rows
// of its own in one statement: Limits' reads (budget.LimitCheck), then Judge.
type AvailabilityCheck struct {
	out      map[int]Availability
	live     []*ent.Offer
	cheapest map[int]money.Micros
	limits   *budget.LimitCheck
}

// NewAvailabilityCheck judges the offers' own rules at now and plans the reads of the limits of
// those that pass.
func NewAvailabilityCheck(offers []*ent.Offer, now time.Time) *AvailabilityCheck {
	ac := &AvailabilityCheck{out: make(map[int]Availability, len(offers)), cheapest: make(map[int]money.Micros, len(offers))}
	for _, o := range offers {
		if a := ownAvailability(o, now); a != Clickable {
			ac.out[o.ID] = a
			continue
		}
		ac.live = append(ac.live, o)
		ac.cheapest[o.ID] = Cheapest(o.Edges.Events)
	}
	ac.limits = budget.NewLimitCheck(ac.live, ac.cheapest, now)
	return ac
}

// Limits is what is left to read.
func (ac *AvailabilityCheck) Limits() *budget.LimitCheck { return ac.limits }

// Judge is each offer's availability, once the limits' rows are added.
func (ac *AvailabilityCheck) Judge() map[int]Availability { return ac.judge(ac.limits.Judge()) }

func (ac *AvailabilityCheck) judge(rules map[int]string) map[int]Availability {
	for _, o := range ac.live {
		ac.out[o.ID] = limitAvailability(rules[o.ID])
	}
	return ac.out
}

// ownAvailability applies checkOffer: Clickable means the offer's own rules let a click through.
func ownAvailability(o *ent.Offer, now time.Time) Availability {
	ref := checkOffer(o, now)
	if ref == nil {
		return Clickable
	}
	switch ref.Rule {
	case RuleNotActive:
		switch o.Status {
		case offer.StatusPAUSED:
			return Paused
		case offer.StatusENDED:
			return Ended
		}
		return Draft
	case RuleNotStarted:
		return NotStarted
	case RuleEnded:
		return Ended
	}
	// An active offer without events or a valid tracking link is not ready: it reads as a draft.
	return Draft
}

// limitAvailability maps a full limit (budget.Exhausted's rule) to an availability.
func limitAvailability(rule string) Availability {
	switch {
	case rule == "":
		return Clickable
	case rule == budget.RuleBudgetTotal || rule == budget.RuleBudgetDaily:
		return OutOfBudget
	}
	return Capped
}
