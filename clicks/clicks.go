// Package clicks records a member's click on an offer and mints the gk_click_id that the
// network echoes back in its postback.
package clicks

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/gokart/gokart/budget"
	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/offer"
	"github.com/gokart/gokart/ent/offerevent"
	"github.com/gokart/gokart/integration"
	"github.com/gokart/gokart/money"
	"github.com/gokart/gokart/tracking"
	"github.com/gokart/gokart/viewer"
)

// IDBytes is the randomness of a click id: 128 bits, 22 characters of base64url, which fits
// every network's click-id limit (the shortest, CJ's, is 30).
const IDBytes = 16

// MaxParamLength bounds every pub_* parameter, as the click table does.
const MaxParamLength = 255

// NewID returns a fresh, unguessable, URL-safe click id.
func NewID() string {
	b := make([]byte, IDBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

// Refusal is a click the offer does not take; Status is the HTTP status to answer.
type Refusal struct {
	Status int
	Reason string
}

func (r *Refusal) Error() string { return r.Reason }

// ErrUnknownOffer is a malformed or unknown offer id.
var ErrUnknownOffer = &Refusal{Status: 404, Reason: "unknown offer"}

// Request is one click as it arrives.
type Request struct {
	OfferID   string // the path segment
	Query     url.Values
	IP        string
	UserAgent string
	Now       time.Time
}

// Click is a recorded click and where to send the member.
type Click struct {
	ID       int
	GKID     string
	Location string
}

// Record checks that the offer takes clicks, records the click and returns the redirect. A
// *Refusal error says why not; any other error is the database's.
func Record(ctx context.Context, client *ent.Client, req Request) (*Click, error) {
	id, err := strconv.Atoi(req.OfferID)
	if err != nil || id <= 0 || strconv.Itoa(id) != req.OfferID {
		return nil, ErrUnknownOffer
	}
	sys := viewer.AsSystem(ctx)
	o, err := client.Offer.Query().Where(offer.ID(id)).
		WithEvents(func(q *ent.OfferEventQuery) { q.Select(offerevent.FieldPayout) }).Only(sys)
	if ent.IsNotFound(err) {
		return nil, ErrUnknownOffer
	}
	if err != nil {
		return nil, fmt.Errorf("load offer %d: %w", id, err)
	}
	now := req.Now
	if now.IsZero() {
		now = time.Now()
	}
	params, err := readParams(req.Query)
	if err != nil {
		return nil, err
	}
	if refusal := checkOffer(o, now); refusal != nil {
		return nil, refusal
	}
	if o.OneCompletionPerMember && params["pub_member_id"] == "" {
		return nil, &Refusal{Status: 400, Reason: "pub_member_id is required: the offer allows one completion per member"}
	}
	cheapest := money.Micros(0)
	for i, e := range o.Edges.Events {
		if i == 0 || e.Payout < cheapest {
			cheapest = e.Payout
		}
	}
	acct := viewer.ForAccount(ctx, o.AccountID)
	if rule, err := budget.Exhausted(acct, client, o, cheapest, now); err != nil {
		return nil, fmt.Errorf("check limits of offer %d: %w", id, err)
	} else if rule != "" {
		return nil, &Refusal{Status: 410, Reason: "offer is out of budget or cap (" + rule + ")"}
	}
	gkID := NewID()
	if sys, ok := integration.Lookup(o.IntegrationSystem); ok && len(gkID) > sys.MaxClickIDLength {
		return nil, fmt.Errorf("click id of %d characters exceeds %s's limit %d", len(gkID), sys.Code, sys.MaxClickIDLength)
	}
	ua := req.UserAgent
	for len(ua) > 1024 || !utf8.ValidString(ua) {
		ua = strictTruncate(ua, 1024)
	}
	c, err := client.Click.Create().
		SetGkClickID(gkID).SetOfferID(o.ID).
		SetPubMemberID(params["pub_member_id"]).SetPubClickID(params["pub_click_id"]).
		SetPubSub1(params["pub_sub_1"]).SetPubSub2(params["pub_sub_2"]).SetPubSub3(params["pub_sub_3"]).
		SetPubSub4(params["pub_sub_4"]).SetPubSub5(params["pub_sub_5"]).
		SetIP(req.IP).SetUserAgent(ua).SetCreatedAt(now).
		Save(acct)
	if err != nil {
		return nil, fmt.Errorf("record click on offer %d: %w", id, err)
	}
	return &Click{ID: c.ID, GKID: gkID, Location: tracking.FillClickID(o.ClickURLTemplate, gkID)}, nil
}

// checkOffer refuses offers that do not take clicks now.
func checkOffer(o *ent.Offer, now time.Time) *Refusal {
	switch {
	case o.Status != offer.StatusACTIVE:
		return &Refusal{Status: 410, Reason: "offer is not active"}
	case o.StartsAt != nil && now.Before(*o.StartsAt):
		return &Refusal{Status: 410, Reason: "offer has not started yet"}
	case o.EndsAt != nil && !now.Before(*o.EndsAt):
		return &Refusal{Status: 410, Reason: "offer has ended"}
	case len(o.Edges.Events) == 0:
		return &Refusal{Status: 410, Reason: "offer has no events"}
	}
	// Never redirect anywhere but the offer's own tracking link, and only a valid one.
	if tracking.Validate(o.ClickURLTemplate) != nil {
		return &Refusal{Status: 410, Reason: "offer has no valid tracking link"}
	}
	return nil
}

var paramNames = []string{"pub_member_id", "pub_click_id", "pub_sub_1", "pub_sub_2", "pub_sub_3", "pub_sub_4", "pub_sub_5"}

// readParams takes the publisher's parameters: each at most once, valid UTF-8, bounded.
func readParams(q url.Values) (map[string]string, error) {
	out := make(map[string]string, len(paramNames))
	for _, name := range paramNames {
		vs := q[name]
		if len(vs) == 0 {
			continue
		}
		if len(vs) > 1 && slices.ContainsFunc(vs[1:], func(v string) bool { return v != vs[0] }) {
			return nil, &Refusal{Status: 400, Reason: name + " is given more than once"}
		}
		v := vs[0]
		if len(v) > MaxParamLength || !utf8.ValidString(v) {
			return nil, &Refusal{Status: 400, Reason: fmt.Sprintf("%s must be valid text of at most %d bytes", name, MaxParamLength)}
		}
		out[name] = v
	}
	return out, nil
}

// strictTruncate cuts s to at most n bytes of valid UTF-8.
func strictTruncate(s string, n int) string {
	s = string([]rune(s)) // replaces invalid bytes
	for len(s) > n {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}

// AsRefusal returns the refusal in err, if any.
func AsRefusal(err error) (*Refusal, bool) {
	var r *Refusal
	ok := errors.As(err, &r)
	return r, ok
}
