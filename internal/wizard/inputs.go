// Package wizard is the offer wizard: each step of the seed's "Building Campaign" flow saves
// one part of an offer (permission check → sanitize → validate → save), then publishOffer checks
// that every step is complete. GraphQL inputs bind straight to the types in this file.
package wizard

import (
	"time"

	"github.com/gokart/gokart/ent/offer"
	"github.com/gokart/gokart/ent/offerevent"
	"github.com/gokart/gokart/internal/catalogue"
	"github.com/gokart/gokart/internal/lifecycle"
	"github.com/gokart/gokart/internal/money"
	"github.com/gokart/gokart/internal/targeting"
)

// CreateOfferInput is the wizard's first two steps: offer type and integration system.
type CreateOfferInput struct {
	Type              offer.Type
	IntegrationSystem catalogue.Code
	Name              string
}

// UpdateOfferTypeInput changes the first two steps of a draft.
type UpdateOfferTypeInput struct {
	Type              *offer.Type
	IntegrationSystem *catalogue.Code
	Name              *string
}

// NewAdvertiserInput describes a brand created inline by the advertiser step.
type NewAdvertiserInput struct {
	Name         string
	Website      *string
	ContactName  *string
	ContactEmail *string
	Notes        *string
}

// CustomMacrosInput are, for the CUSTOM system, the network's macro for each postback parameter.
type CustomMacrosInput struct {
	ClickID      *string
	EventID      *string
	ConversionID *string
	Status       *string
	Payout       *string
	Amount       *string
	Currency     *string
}

// AdvertiserInfoInput is the advertiser step: a brand (existing or new) and the tracking link.
type AdvertiserInfoInput struct {
	AdvertiserID           *int
	Advertiser             *NewAdvertiserInput
	TrackingLink           string
	CustomClickIDParameter *string
	CustomMacros           *CustomMacrosInput
}

// CreativeInput is the creative step: the copy and images of the offer card.
type CreativeInput struct {
	Headline     string
	Description  *string
	CallToAction string
	ImageURLs    []string
	Terms        *string
}

// BudgetTargetingInput is the budgeting and targeting step.
type BudgetTargetingInput struct {
	Currency               string
	TotalBudget            *money.Micros
	DailyBudget            *money.Micros
	Payout                 *money.Micros
	OneCompletionPerMember *bool
	CapDaily               *int
	CapWeekly              *int
	CapMonthly             *int
	CapTotal               *int
	Countries              []string
	Platforms              []targeting.Platform
	StartsAt               *time.Time
	EndsAt                 *time.Time
	TimeZone               *string
	FallbackURL            *string
	// AutoApproveAfter is the offer's maturing period; nil uses the account's.
	AutoApproveAfter *lifecycle.Period
}

// EventInput is one event of the events step.
type EventInput struct {
	ID         *int
	Name       string
	EventID    string
	Payout     money.Micros
	CapDaily   *int
	CapWeekly  *int
	CapMonthly *int
	CapTotal   *int
	// AllowRepeats lets a click convert on the event once per network conversion id; nil is false.
	AllowRepeats *bool
	// PayoutType is FIXED (nil) or PERCENT: a revenue share of PayoutPercent, at most PayoutCap.
	PayoutType    *offerevent.PayoutType
	PayoutPercent *money.Micros
	PayoutCap     *money.Micros
}
