package callbacks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gokart/gokart/internal/callbacks/vocab"
	"github.com/gokart/gokart/internal/money"
)

// Conversion is what a callback says about a conversion: its state at the change.
type Conversion struct {
	ID                  string    `json:"id"`
	Status              string    `json:"status"`
	PreviousStatus      *string   `json:"previousStatus"`
	Sequence            int       `json:"sequence"`
	Offer               OfferRef  `json:"offer"`
	Event               EventRef  `json:"event"`
	Payout              string    `json:"payout"`
	Currency            string    `json:"currency"`
	Amount              *string   `json:"amount"`
	PubMemberID         string    `json:"pubMemberID"`
	PubClickID          string    `json:"pubClickID"`
	PubSubs             [5]string `json:"pubSubs"`
	GkClickID           string    `json:"gkClickID"`
	NetworkConversionID *string   `json:"networkConversionID"`
	ClickedAt           time.Time `json:"clickedAt"`
	ConvertedAt         time.Time `json:"convertedAt"`
	// Test marks a test click's conversion (createTestClick); left out of live ones.
	Test bool `json:"test,omitempty"`
}

// OfferRef names the converted offer.
type OfferRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// EventRef names the converted event.
type EventRef struct {
	EventID string `json:"eventID"`
	Name    string `json:"name"`
}

// Body is the JSON body of a callback.
type Body struct {
	Type      string     `json:"type"`
	Timestamp time.Time  `json:"timestamp"`
	Data      Conversion `json:"data"`
}

// jsonBody renders a delivery's body.
func jsonBody(ev vocab.Event, at time.Time, c Conversion) ([]byte, error) {
	return json.Marshal(Body{Type: ev.Type(), Timestamp: at.UTC(), Data: c})
}

// Sign is the webhook-signature of a body: "v1," and the base64 HMAC-SHA256 of
// "id.timestamp.body" keyed with the secret's decoded bytes.
func Sign(secret, msgID string, ts int64, body []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil {
		return "", fmt.Errorf("decode signing secret: %w", err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(msgID + "." + strconv.FormatInt(ts, 10) + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// Macros are the values of a GET template's macros.
type Macros map[string]string

// MacrosOf lists a conversion's macro values.
func MacrosOf(c Conversion) Macros {
	m := Macros{
		"pub_member_id": c.PubMemberID, "pub_click_id": c.PubClickID, "gk_click_id": c.GkClickID,
		"gk_offer_id": c.Offer.ID, "gk_offer_name": c.Offer.Name,
		"cnv_event_id": c.Event.EventID, "cnv_event_name": c.Event.Name,
		"cnv_status": strings.ToLower(c.Status), "cnv_payout": c.Payout, "cnv_currency": c.Currency,
		"gk_conversion_id": c.ID, "sequence": strconv.Itoa(c.Sequence), "cnv_amount": "",
		"gk_test": strconv.FormatBool(c.Test),
	}
	if c.Amount != nil {
		m["cnv_amount"] = *c.Amount
	}
	for i, s := range c.PubSubs {
		m["pub_sub_"+strconv.Itoa(i+1)] = s
	}
	return m
}

// FillTemplate replaces each {macro} of the template with its value, percent-encoded so that
// no value can add a parameter, a path segment or a fragment. Unknown {words} stay as written.
func FillTemplate(tmpl string, m Macros) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(tmpl, '{')
		if i < 0 {
			b.WriteString(tmpl)
			return b.String()
		}
		j := strings.IndexByte(tmpl[i:], '}')
		if j < 0 {
			b.WriteString(tmpl)
			return b.String()
		}
		name := tmpl[i+1 : i+j]
		v, ok := m[name]
		b.WriteString(tmpl[:i])
		if ok {
			b.WriteString(Escape(v))
			tmpl = tmpl[i+j+1:]
		} else {
			b.WriteByte('{')
			tmpl = tmpl[i+1:]
		}
	}
}

// sampleMacros are the values of a test callback (and of the template check at create time).
func sampleMacros() Macros { return MacrosOf(sampleConversion()) }

func sampleConversion() Conversion {
	prev := "PENDING"
	amount := money.Micros(49_990_000).String()
	ncid := "TEST-1"
	now := time.Now().UTC().Truncate(time.Second)
	return Conversion{
		ID: "0", Status: "APPROVED", PreviousStatus: &prev, Sequence: 0,
		Offer: OfferRef{ID: "0", Name: "Test offer"}, Event: EventRef{EventID: "test", Name: "Test event"},
		Payout: money.Micros(1_500_000).String(), Currency: "USD", Amount: &amount,
		PubMemberID: "test-member", PubClickID: "test-click", GkClickID: "test-gk-click-id",
		NetworkConversionID: &ncid, ClickedAt: now.Add(-time.Hour), ConvertedAt: now,
	}
}

// Escape percent-encodes every byte but RFC 3986's unreserved characters, so a value is the
// same in a path segment and in a query (a space is %20, never +).
func Escape(v string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(v))
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
