package stats

import (
	"fmt"
	"io"
	"math/big"
	"strconv"
	"time"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/internal/money"
)

// Granularity is how finely a time series is cut.
type Granularity string

// The granularities of a series.
const (
	Hour Granularity = "HOUR"
	Day  Granularity = "DAY"
)

// MarshalGQL writes the granularity as a GraphQL enum value.
func (g Granularity) MarshalGQL(w io.Writer) { _, _ = io.WriteString(w, strconv.Quote(string(g))) }

// UnmarshalGQL reads a GraphQL enum value.
func (g *Granularity) UnmarshalGQL(v any) error {
	s, _ := v.(string)
	switch Granularity(s) {
	case Hour, Day:
		*g = Granularity(s)
		return nil
	}
	return fmt.Errorf("%v is not a valid StatsGranularity", v)
}

// ConversionCounts are the conversions created in a period, by their current status.
type ConversionCounts struct {
	Total    int
	Pending  int
	Approved int
	Reversed int
	Rejected int
}

// Valid is the number of conversions that count (and spend): pending and approved.
func (c ConversionCounts) Valid() int { return c.Pending + c.Approved }

// OfferStats is the report of an offer or of one of its events.
type OfferStats struct {
	From, To                   time.Time
	TimeZone                   string
	Granularity                Granularity
	Currency                   string
	Clicks                     int
	UniqueMembers              int
	UniqueMembersStandardError string
	Conversions                ConversionCounts
	ConversionRate             string
	Spend                      money.Micros
	EarningsPerClick           money.Micros
	RemainingBudgetTotal       *money.Micros
	RemainingBudgetDaily       *money.Micros
	Series                     []*Point
}

// Point is one hour or day of a series.
type Point struct {
	Start, End       time.Time
	Clicks           int
	UniqueMembers    int
	Conversions      ConversionCounts
	ConversionRate   string
	Spend            money.Micros
	EarningsPerClick money.Micros
}

// AccountStats is the report of a whole account.
type AccountStats struct {
	From, To               time.Time
	TimeZone               string
	Clicks                 int
	Conversions            ConversionCounts
	ConversionRate         string
	Spend                  []*CurrencyAmount
	TopOffersByConversions []*OfferRanking
	TopOffersBySpend       []*OfferRanking
}

// CurrencyAmount is an amount with its currency.
type CurrencyAmount struct {
	Amount   money.Micros
	Currency string
}

// OfferRanking is an offer's place in a top list.
type OfferRanking struct {
	OfferID     int
	Offer       *ent.Offer
	Clicks      int
	Conversions ConversionCounts
	Spend       money.Micros
	Currency    string
}

// StandardError is the relative standard error of the unique-member estimates: 1.04/√2^14.
const StandardError = "0.0081"

// rateScale is the number of decimal places of a rate.
const rateScale = 4

// Rate is num/den as a decimal string with four places, rounded half up; "0.0000" when den
// is zero, so that empty periods read as zeros.
func Rate(num, den int64) string {
	if den == 0 || num == 0 {
		return "0." + fmt.Sprintf("%0*d", rateScale, 0)
	}
	r := new(big.Rat).SetFrac64(num, den)
	return r.FloatString(rateScale)
}

// PerClick divides an amount by clicks, rounded half up to the micro-unit; zero without clicks.
func PerClick(amount money.Micros, clicks int64) money.Micros {
	if clicks == 0 {
		return 0
	}
	a := int64(amount)
	neg := a < 0
	if neg {
		a = -a
	}
	q := (a*2 + clicks) / (2 * clicks)
	if neg {
		q = -q
	}
	return money.Micros(q)
}
