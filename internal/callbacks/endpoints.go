package callbacks

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/callbackdelivery"
	"github.com/gokart/gokart/ent/offer"
	"github.com/gokart/gokart/internal/callbacks/vocab"
	"github.com/gokart/gokart/internal/errcode"
	"github.com/gokart/gokart/internal/lifecycle"
)

// SecretPrefix starts every signing secret (Standard Webhooks' convention).
const SecretPrefix = "whsec_"

// EndpointInput is a new endpoint or, with nil fields left alone, a change to one.
type EndpointInput struct {
	URL         *string
	Format      *vocab.Format
	Events      []vocab.Event
	OfferID     *int
	EventID     *int
	HeaderName  *string
	HeaderValue *string
}

// NewSecret makes a signing secret: whsec_ and 24 random bytes in base64.
func NewSecret() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// reservedHeaders cannot be an endpoint's own header: we set them, or the transport does.
var reservedHeaders = map[string]bool{
	"webhook-id": true, "webhook-timestamp": true, "webhook-signature": true, "content-type": true,
	"content-length": true, "host": true, "transfer-encoding": true, "connection": true, "user-agent": true,
}

// CreateEndpoint adds an endpoint to the viewer's account (c carries the tenant scoping: the
// offer and event must be the account's). The secret is in the answer.
func CreateEndpoint(ctx context.Context, c *ent.Client, in EndpointInput) (*ent.CallbackEndpoint, error) {
	format := vocab.JSON
	if in.Format != nil {
		format = *in.Format
	}
	events := in.Events
	if events == nil {
		events = vocab.DefaultEvents
	}
	if in.URL == nil {
		return nil, errcode.Invalid("url", "is required")
	}
	if err := checkEndpoint(*in.URL, format, events, in.HeaderName, in.HeaderValue); err != nil {
		return nil, err
	}
	create := c.CallbackEndpoint.Create().SetURL(strings.TrimSpace(*in.URL)).SetFormat(format).
		SetEvents(dedupe(events)).SetSecret(NewSecret())
	if in.EventID != nil {
		ev, err := c.OfferEvent.Get(ctx, *in.EventID)
		if ent.IsNotFound(err) {
			return nil, errcode.Invalid("eventID", "no such event")
		} else if err != nil {
			return nil, fmt.Errorf("create callback endpoint: %w", err)
		}
		if in.OfferID != nil && *in.OfferID != ev.OfferID {
			return nil, errcode.Invalid("eventID", "is not an event of offer %d", *in.OfferID)
		}
		create.SetOfferID(ev.OfferID).SetOfferEventID(ev.ID)
	} else if in.OfferID != nil {
		ok, err := c.Offer.Query().Where(offer.ID(*in.OfferID)).Exist(ctx)
		if err != nil {
			return nil, fmt.Errorf("create callback endpoint: %w", err)
		}
		if !ok {
			return nil, errcode.Invalid("offerID", "no such offer")
		}
		create.SetOfferID(*in.OfferID)
	}
	if in.HeaderName != nil && *in.HeaderName != "" {
		create.SetHeaderName(*in.HeaderName)
		if in.HeaderValue != nil {
			create.SetHeaderValue(*in.HeaderValue)
		}
	}
	e, err := create.Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("create callback endpoint: %w", err)
	}
	return e, nil
}

// UpdateEndpoint changes the fields of in that are set.
func UpdateEndpoint(ctx context.Context, c *ent.Client, id int, in EndpointInput) (*ent.CallbackEndpoint, error) {
	e, err := getEndpoint(ctx, c, id)
	if err != nil {
		return nil, err
	}
	u, format, events := e.URL, e.Format, e.Events
	if in.URL != nil {
		u = strings.TrimSpace(*in.URL)
	}
	if in.Format != nil {
		format = *in.Format
	}
	if in.Events != nil {
		events = in.Events
	}
	name, value := in.HeaderName, in.HeaderValue
	if name == nil {
		name = &e.HeaderName
		if value == nil {
			value = &e.HeaderValue
		}
	}
	if err := checkEndpoint(u, format, events, name, value); err != nil {
		return nil, err
	}
	upd := e.Update().SetURL(u).SetFormat(format).SetEvents(dedupe(events)).SetHeaderName(*name)
	if *name == "" {
		upd.SetHeaderValue("")
	} else if value != nil {
		upd.SetHeaderValue(*value)
	}
	e, err = upd.Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("update callback endpoint %d: %w", id, err)
	}
	return e, nil
}

// SetEnabled turns an endpoint on (clearing a failure streak and its reason) or off.
func SetEnabled(ctx context.Context, c *ent.Client, id int, enabled bool) (*ent.CallbackEndpoint, error) {
	e, err := getEndpoint(ctx, c, id)
	if err != nil {
		return nil, err
	}
	upd := e.Update().SetEnabled(enabled)
	if enabled {
		upd.SetDisabledReason("").ClearFailingSince()
	} else {
		upd.SetDisabledReason("disabled by a user")
	}
	if e, err = upd.Save(ctx); err != nil {
		return nil, fmt.Errorf("set callback endpoint %d enabled=%v: %w", id, enabled, err)
	}
	return e, nil
}

// RotateSecret replaces an endpoint's signing secret; the new one is in the answer.
func RotateSecret(ctx context.Context, c *ent.Client, id int) (*ent.CallbackEndpoint, error) {
	e, err := getEndpoint(ctx, c, id)
	if err != nil {
		return nil, err
	}
	if e, err = e.Update().SetSecret(NewSecret()).Save(ctx); err != nil {
		return nil, fmt.Errorf("rotate secret of callback endpoint %d: %w", id, err)
	}
	return e, nil
}

// Redeliver makes a delivery due now again, with its webhook-id and a fresh run of retries.
func Redeliver(ctx context.Context, c *ent.Client, id int, now time.Time) (*ent.CallbackDelivery, error) {
	d, err := c.CallbackDelivery.Get(ctx, id)
	if ent.IsNotFound(err) {
		return nil, errcode.New(errcode.NotFound, "callback delivery not found")
	} else if err != nil {
		return nil, fmt.Errorf("redeliver %d: %w", id, err)
	}
	d, err = d.Update().SetStatus(vocab.Pending).SetAttempts(0).SetNextAttemptAt(now.UTC()).
		ClearLeaseUntil().SetLeaseOwner("").Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("redeliver %d: %w", id, err)
	}
	return d, nil
}

// SendTest queues a test delivery to an endpoint: a sample approved conversion, sequence 0.
func SendTest(ctx context.Context, c *ent.Client, endpointID int, now time.Time) (*ent.CallbackDelivery, error) {
	e, err := getEndpoint(ctx, c, endpointID)
	if err != nil {
		return nil, errcode.Invalid("endpointID", "no such callback endpoint")
	}
	from := lifecycle.Pending
	d, err := c.CallbackDelivery.Create().SetEndpointID(e.ID).SetSequence(0).SetEvent(vocab.ConversionApproved).
		SetFromStatus(from).SetToStatus(lifecycle.Approved).SetNextAttemptAt(now.UTC()).SetCreatedAt(now.UTC()).Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("queue test callback: %w", err)
	}
	return d, nil
}

// WebhookID is the webhook-id of a delivery: the same on every attempt.
func WebhookID(deliveryID int) string { return fmt.Sprintf("msg_gk%d", deliveryID) }

// Deliveries filters a delivery query (the tenant scoping is the client's).
func Deliveries(c *ent.Client, endpointID, conversionID *int, status *vocab.DeliveryStatus) *ent.CallbackDeliveryQuery {
	q := c.CallbackDelivery.Query()
	if endpointID != nil {
		q.Where(callbackdelivery.EndpointID(*endpointID))
	}
	if conversionID != nil {
		q.Where(callbackdelivery.ConversionID(*conversionID))
	}
	if status != nil {
		q.Where(callbackdelivery.StatusEQ(*status))
	}
	return q
}

func getEndpoint(ctx context.Context, c *ent.Client, id int) (*ent.CallbackEndpoint, error) {
	e, err := c.CallbackEndpoint.Get(ctx, id)
	if ent.IsNotFound(err) {
		return nil, errcode.New(errcode.NotFound, "callback endpoint not found")
	} else if err != nil {
		return nil, fmt.Errorf("load callback endpoint %d: %w", id, err)
	}
	return e, nil
}

func checkEndpoint(raw string, format vocab.Format, events []vocab.Event, headerName, headerValue *string) error {
	raw = strings.TrimSpace(raw)
	if len(raw) > 2048 {
		return errcode.Invalid("url", "must be at most 2048 characters")
	}
	if format != vocab.JSON && format != vocab.GetTemplate {
		return errcode.Invalid("format", "unknown format %q", format)
	}
	probe := raw
	if format == vocab.GetTemplate {
		probe = FillTemplate(raw, sampleMacros())
	}
	u, err := url.Parse(probe)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return errcode.Invalid("url", "must be an absolute http or https URL without credentials")
	}
	if len(events) == 0 {
		return errcode.Invalid("events", "must name at least one event")
	}
	for _, e := range events {
		if err := (&e).UnmarshalGQL(string(e)); err != nil {
			return errcode.Invalid("events", "%v", err)
		}
	}
	if headerName != nil && *headerName != "" {
		n := *headerName
		if !isToken(n) || len(n) > 128 {
			return errcode.Invalid("headerName", "must be an HTTP header name")
		}
		if reservedHeaders[strings.ToLower(n)] {
			return errcode.Invalid("headerName", "%s is set by gokart", n)
		}
		if headerValue != nil && (strings.ContainsAny(*headerValue, "\r\n\x00") || len(*headerValue) > 1024) {
			return errcode.Invalid("headerValue", "must be one line of at most 1024 characters")
		}
	}
	return nil
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", r)) {
			return false
		}
	}
	return true
}

func dedupe(events []vocab.Event) []vocab.Event {
	seen := map[vocab.Event]bool{}
	out := make([]vocab.Event, 0, len(events))
	for _, e := range events {
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	return out
}
