// The event-matching rule: which event of an offer a postback's cnv_event_id names.

package catalogue

import (
	"net/url"
	"strings"
)

// EventMatchKey folds an event id for tolerant matching: networks and brand managers spell
// "Sign Up" as "sign up", " Sign Up ", "Sign+Up" or "Sign%20Up", and all of them mean one
// event. It is stored beside each event (unique within the offer), so a tolerant match is one
// indexed lookup.
func EventMatchKey(eventID string) string {
	s := eventID
	// A literal id pasted into a URL may arrive still escaped once more.
	if strings.Contains(s, "%") {
		if u, err := url.PathUnescape(s); err == nil {
			s = u
		}
	}
	s = strings.ReplaceAll(s, "+", " ")
	s = strings.Join(strings.Fields(s), " ")
	return strings.ToLower(s)
}
