// Package vocab is the words of reward callbacks shared by the data model and the API: the
// endpoint formats, the events an endpoint subscribes to and the states of a delivery. It
// imports nothing of gokart, so the Ent schemas can use it.
package vocab

import (
	"fmt"
	"io"
	"strconv"

	"github.com/gokart/gokart/internal/lifecycle"
)

// Format is how a callback reaches its endpoint.
type Format string

// The callback formats.
const (
	// JSON is a signed POST with a JSON body (Standard Webhooks).
	JSON Format = "JSON"
	// GetTemplate is a GET of the endpoint's URL with its macros filled in.
	GetTemplate Format = "GET_TEMPLATE"
)

// Values lists the formats for the Ent enum.
func (Format) Values() []string { return []string{string(JSON), string(GetTemplate)} }

// MarshalGQL writes the format as a GraphQL enum value.
func (f Format) MarshalGQL(w io.Writer) { _, _ = io.WriteString(w, strconv.Quote(string(f))) }

// UnmarshalGQL reads a GraphQL enum value.
func (f *Format) UnmarshalGQL(v any) error {
	return unmarshal(v, f.Values(), "CallbackFormat", (*string)(f))
}

// Event is a conversion status change an endpoint can subscribe to.
type Event string

// The callback events, one per status a conversion can move into.
const (
	ConversionPending  Event = "CONVERSION_PENDING"
	ConversionApproved Event = "CONVERSION_APPROVED"
	ConversionReversed Event = "CONVERSION_REVERSED"
	ConversionRejected Event = "CONVERSION_REJECTED"
)

// DefaultEvents are what an endpoint created without a list hears: the changes that move money.
var DefaultEvents = []Event{ConversionApproved, ConversionReversed}

// Values lists the events for the Ent enum.
func (Event) Values() []string {
	return []string{string(ConversionPending), string(ConversionApproved), string(ConversionReversed), string(ConversionRejected)}
}

// EventOf is the event of a move into status to.
func EventOf(to lifecycle.Status) Event { return Event("CONVERSION_" + string(to)) }

// Type is the event's name in a JSON body: "conversion.approved".
func (e Event) Type() string {
	switch e {
	case ConversionPending:
		return "conversion.pending"
	case ConversionApproved:
		return "conversion.approved"
	case ConversionReversed:
		return "conversion.reversed"
	case ConversionRejected:
		return "conversion.rejected"
	}
	return "conversion.unknown"
}

// MarshalGQL writes the event as a GraphQL enum value.
func (e Event) MarshalGQL(w io.Writer) { _, _ = io.WriteString(w, strconv.Quote(string(e))) }

// UnmarshalGQL reads a GraphQL enum value.
func (e *Event) UnmarshalGQL(v any) error {
	return unmarshal(v, e.Values(), "CallbackEvent", (*string)(e))
}

// DeliveryStatus is where a delivery stands.
type DeliveryStatus string

// The delivery statuses.
const (
	// Pending is waiting for its first attempt or for a retry.
	Pending DeliveryStatus = "PENDING"
	// Delivered got a 2xx answer.
	Delivered DeliveryStatus = "DELIVERED"
	// Failed got an answer that will not change (4xx) or ran out of retries.
	Failed DeliveryStatus = "FAILED"
)

// Values lists the delivery statuses for the Ent enum.
func (DeliveryStatus) Values() []string {
	return []string{string(Pending), string(Delivered), string(Failed)}
}

// MarshalGQL writes the status as a GraphQL enum value.
func (s DeliveryStatus) MarshalGQL(w io.Writer) { _, _ = io.WriteString(w, strconv.Quote(string(s))) }

// UnmarshalGQL reads a GraphQL enum value.
func (s *DeliveryStatus) UnmarshalGQL(v any) error {
	return unmarshal(v, s.Values(), "CallbackDeliveryStatus", (*string)(s))
}

func unmarshal(v any, known []string, name string, dst *string) error {
	if str, ok := v.(string); ok {
		for _, k := range known {
			if str == k {
				*dst = str
				return nil
			}
		}
	}
	return fmt.Errorf("%v is not a valid %s", v, name)
}
