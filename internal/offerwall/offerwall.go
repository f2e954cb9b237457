// Package offerwall builds the feed of offer cards a member may click now: clickable offers
// (clicks.Availabilities, the click route's own rules), targeted to the member, and not yet
// completed by them where an offer allows one completion per member. From the database, a page
// is one statement that leaves out in SQL what it can, and one more for the caps of the offers
// read (see Feed); from an account's catalog kept in memory (Catalog), a version probe and the
// live limits and completions of the page's offers.
package offerwall

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"entgo.io/ent/dialect"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/offer"
	"github.com/gokart/gokart/ent/offerevent"
	"github.com/gokart/gokart/internal/clicks"
	"github.com/gokart/gokart/internal/money"
	"github.com/gokart/gokart/internal/targeting"
)

type clientKey struct{}

// Client is what the request tells about the member's device: its address (after trusted
// proxies) and User-Agent, the defaults of a member's country and platform.
type Client struct {
	IP, UserAgent string
}

// WithClient returns ctx carrying the request's client.
func WithClient(ctx context.Context, c Client) context.Context {
	return context.WithValue(ctx, clientKey{}, c)
}

// ClientOf returns the request's client, zero when none was recorded.
func ClientOf(ctx context.Context) Client {
	c, _ := ctx.Value(clientKey{}).(Client)
	return c
}

// Member is who the feed is for.
type Member struct {
	ID       string
	Country  string // ISO 3166-1 alpha-2; empty is unknown
	Platform targeting.Platform
}

// MemberOf fills the member's country and platform from the request when not given.
func MemberOf(ctx context.Context, id string, country *string, platform *targeting.Platform) Member {
	m := Member{ID: id}
	c := ClientOf(ctx)
	if country != nil {
		m.Country = *country
	} else {
		m.Country = targeting.CountryOf(c.IP)
	}
	if platform != nil {
		m.Platform = *platform
	} else {
		m.Platform, _ = targeting.PlatformOf(c.UserAgent)
	}
	return m
}

// maxChunks bounds the reads of one page: past it the page ends early (hasNext stays true).
const maxChunks = 8

// Feed returns up to first offers after offer id after (0 for the start), in id order, that
// member may click at now, with their events in card order; more is whether more may follow,
// and next the offer id to continue after (the last card's, or the last offer read when a page
// ends early).
//
// One statement (feedSQL) walks the account's active offers in id order on the index
// (account_id, status, id) and leaves out in SQL what the row and a few index probes decide:
// schedule, archive, targeting, events, total budget, and the member's completions; so it
// reads the page's rows and a few more, however many offers are left out. What needs Go is
// judged on those rows by clicks.Availabilities (the tracking link's validity, and caps and
// daily budget, whose periods follow each offer's time zone: one statement, only when an offer
// read has one). Only when that leaves out more than the few spare rows does a page read again
// (at most maxChunks times).
func Feed(ctx context.Context, c *ent.Client, dialectName string, accountID int, member Member, after, first int, now time.Time) (cards []*ent.Offer, more bool, next int, err error) {
	chunk := first + 1 + spare(first)
	for range maxChunks {
		offers, err := candidates(ctx, c, dialectName, accountID, member, after, chunk, now)
		if err != nil {
			return nil, false, 0, err
		}
		var full bool
		if cards, full, err = take(ctx, c, dialectName, accountID, cards, offers, first, now); err != nil || full {
			return cards, full, lastID(cards), err
		}
		if len(offers) < chunk {
			return cards, false, 0, nil
		}
		after = offers[len(offers)-1].ID
	}
	return cards, true, after, nil
}

// take appends to cards the offers of window that clicks.Availabilities finds clickable, up to
// first; full is whether a clickable offer was left over, so more cards follow the page.
func take(ctx context.Context, c *ent.Client, dialectName string, accountID int, cards, window []*ent.Offer, first int, now time.Time) (_ []*ent.Offer, full bool, err error) {
	avail, err := clicks.Availabilities(ctx, c, dialectName, accountID, window, now)
	if err != nil {
		return nil, false, err
	}
	cards, full = takeClickable(cards, window, avail, first)
	return cards, full, nil
}

// takeClickable is take once the window is judged.
func takeClickable(cards, window []*ent.Offer, avail map[int]clicks.Availability, first int) (_ []*ent.Offer, full bool) {
	for _, o := range window {
		if avail[o.ID] != clicks.Clickable {
			continue
		}
		if len(cards) == first {
			return cards, true
		}
		cards = append(cards, o)
	}
	return cards, false
}

func lastID(cards []*ent.Offer) int {
	if len(cards) == 0 {
		return 0
	}
	return cards[len(cards)-1].ID
}

// spare is how many rows past the page (and the one that tells whether more follow) a read
// takes, so that a capped offer or a broken tracking link on the page needs no second read.
func spare(first int) int { return 2 + first/8 }

// candidates reads up to limit offers after offer id after that feedSQL lets through, with
// their events in card order. The offers carry what the card and clicks.Availabilities need
// (one_completion_per_member is left false: feedSQL has judged the member's completions),
// except the total budget, which feedSQL has judged (so Availabilities reads no spend).
func candidates(ctx context.Context, c *ent.Client, dialectName string, accountID int, member Member, after, limit int, now time.Time) ([]*ent.Offer, error) {
	query, args := feedSQL(dialectName, accountID, member, after, limit, now)
	rows, err := c.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read offers for the offerwall: %w", err)
	}
	defer rows.Close()
	var out []*ent.Offer
	for rows.Next() {
		var (
			o                                       ent.Offer
			headline, description, cta, terms, tmpl sql.NullString
			images, events                          []byte
			budgetDaily, capD, capW, capM, capT     sql.NullInt64
		)
		if err := rows.Scan(&o.ID, &o.Name, &headline, &description, &cta, &images, &terms, &o.Currency,
			&tmpl, &o.TimeZone, &budgetDaily, &capD, &capW, &capM, &capT, &events); err != nil {
			return nil, fmt.Errorf("read offers for the offerwall: %w", err)
		}
		if len(images) > 0 {
			if err := json.Unmarshal(images, &o.ImageUrls); err != nil {
				return nil, fmt.Errorf("offer %d: image URLs: %w", o.ID, err)
			}
		}
		var evs []struct {
			ID     int          `json:"id"`
			Name   string       `json:"name"`
			Payout money.Micros `json:"payout"`
			// A revenue share's terms, shown on its card (payout is 0 for those).
			PayoutType    offerevent.PayoutType `json:"payout_type"`
			PayoutPercent *money.Micros         `json:"payout_percent"`
			PayoutCap     *money.Micros         `json:"payout_cap"`
		}
		if err := json.Unmarshal(events, &evs); err != nil {
			return nil, fmt.Errorf("offer %d: events: %w", o.ID, err)
		}
		for _, e := range evs {
			o.Edges.Events = append(o.Edges.Events, &ent.OfferEvent{ID: e.ID, AccountID: accountID, OfferID: o.ID, Name: e.Name, Payout: e.Payout,
				PayoutType: e.PayoutType, PayoutPercent: e.PayoutPercent, PayoutCap: e.PayoutCap})
		}
		o.AccountID, o.Status = accountID, offer.StatusACTIVE
		o.Headline, o.Description, o.CallToAction, o.Terms, o.ClickURLTemplate = headline.String, description.String, cta.String, terms.String, tmpl.String
		if budgetDaily.Valid {
			m := money.Micros(budgetDaily.Int64)
			o.BudgetDaily = &m
		}
		o.CapDaily, o.CapWeekly, o.CapMonthly, o.CapTotal = optionalInt(capD), optionalInt(capW), optionalInt(capM), optionalInt(capT)
		out = append(out, &o)
	}
	return out, rows.Err()
}

func optionalInt(v sql.NullInt64) *int {
	if !v.Valid {
		return nil
	}
	n := int(v.Int64)
	return &n
}

// feedSQL is the statement of candidates. The inner select is the page: its conditions are,
// in order, the click route's own rules that the row decides (checkOffer, but the tracking
// link), the member's targeting (targeting.Miss), an event left to the member (any event, or
// for an offer that allows one completion per member, one without the member's completion),
// and the total budget (budget.ExhaustedByOffer: the shards' spend plus the cheapest payout,
// at least 1, within the total). Each is a subquery of the row, not a join, so that every
// plan looks up the page's rows and stops. The outer select adds the events in card order.
func feedSQL(dialectName string, accountID int, member Member, after, limit int, now time.Time) (string, []any) {
	args := []any{accountID, after, now, member.ID, limit}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	targeted := func(column, value string) string {
		if dialectName == dialect.Postgres {
			empty := "(o." + column + " IS NULL OR o." + column + " IN ('[]', 'null'))"
			if value == "" {
				return empty
			}
			return "(" + empty + " OR o." + column + " @> jsonb_build_array(CAST(" + arg(value) + " AS TEXT)))"
		}
		empty := "(o." + column + " IS NULL OR json_array_length(o." + column + ") = 0)"
		if value == "" {
			return empty
		}
		return "(" + empty + " OR EXISTS (SELECT 1 FROM json_each(o." + column + ") j WHERE j.value = " + arg(value) + "))"
	}
	// The events of a row, in card order, as one JSON array: a lookup per row of the page,
	// whatever plan the page gets.
	events := `json_agg(json_build_object('id', e.id, 'name', e.name, 'payout', e.payout,
		'payout_type', e.payout_type, 'payout_percent', e.payout_percent, 'payout_cap', e.payout_cap) ORDER BY e.position, e.id)`
	if dialectName != dialect.Postgres {
		events = `json_group_array(json_object('id', e.id, 'name', e.name, 'payout', e.payout,
		'payout_type', e.payout_type, 'payout_percent', e.payout_percent, 'payout_cap', e.payout_cap) ORDER BY e.position, e.id)`
	}
	return `SELECT o.id, o.name, o.headline, o.description, o.call_to_action, o.image_urls, o.terms, o.currency,
	o.click_url_template, o.time_zone, o.budget_daily, o.cap_daily, o.cap_weekly, o.cap_monthly, o.cap_total,
	(SELECT ` + events + ` FROM offer_events e WHERE e.account_id = $1 AND e.offer_id = o.id)
FROM (SELECT o.* FROM offers o
	WHERE o.account_id = $1 AND o.status = 'ACTIVE' AND o.id > $2 AND o.archived_at IS NULL
	AND (o.starts_at IS NULL OR o.starts_at <= $3) AND (o.ends_at IS NULL OR o.ends_at > $3)
	AND ` + targeted("countries", member.Country) + `
	AND ` + targeted("platforms", string(member.Platform)) + `
	AND (SELECT 1 FROM offer_events e WHERE e.account_id = $1 AND e.offer_id = o.id
		AND (NOT o.one_completion_per_member OR NOT EXISTS (SELECT 1 FROM member_completions m
			WHERE m.account_id = $1 AND m.pub_member_id = $4 AND m.offer_event_id = e.id))
		LIMIT 1) IS NOT NULL
	AND (o.budget_total IS NULL OR
		COALESCE((SELECT SUM(s.spent) FROM offer_budget_shards s WHERE s.account_id = $1 AND s.offer_id = o.id), 0)
		+ (SELECT CASE WHEN MIN(e.payout) > 1 THEN MIN(e.payout) ELSE 1 END FROM offer_events e WHERE e.account_id = $1 AND e.offer_id = o.id)
		<= o.budget_total)
	ORDER BY o.id LIMIT $5) o
ORDER BY o.id`, args
}
