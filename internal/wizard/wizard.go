package wizard

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/conversion"
	"github.com/gokart/gokart/ent/offer"
	"github.com/gokart/gokart/ent/offerevent"
	"github.com/gokart/gokart/internal/catalogue"
	"github.com/gokart/gokart/internal/errcode"
	"github.com/gokart/gokart/internal/links"
	"github.com/gokart/gokart/internal/money"
	"github.com/gokart/gokart/internal/targeting"
)

const maxName = 200

// defaultEventID is the event id of a single-event offer until the brand sets one: networks
// that send no event id still match it, because a single-event offer takes its one event.
const defaultEventID = "conversion"

// load reads an offer of the viewer's account; another account's offer is not found.
func load(ctx context.Context, c *ent.Client, id int) (*ent.Offer, error) {
	o, err := c.Offer.Get(ctx, id)
	if ent.IsNotFound(err) {
		return nil, &errcode.Error{Code: errcode.NotFound, Field: "id", Message: fmt.Sprintf("no offer with id %d", id)}
	}
	return o, err
}

// loadEditable reads an offer a wizard step may change: ENDED is final.
func loadEditable(ctx context.Context, c *ent.Client, id int) (*ent.Offer, error) {
	o, err := load(ctx, c, id)
	if err != nil {
		return nil, err
	}
	if o.Status == offer.StatusENDED {
		return nil, &errcode.Error{Code: errcode.Conflict, Field: "id", Message: "the offer has ended and can no longer change"}
	}
	if o.ArchivedAt != nil {
		return nil, &errcode.Error{Code: errcode.Conflict, Field: "id", Message: "the offer is archived and can no longer change"}
	}
	return o, nil
}

func checkName(errs *errcode.List, field, name string) string {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		errs.Add(field, "must not be empty")
	case len(name) > maxName:
		errs.Add(field, "must be at most %d characters", maxName)
	}
	return name
}

// CreateOffer saves the first two steps: a DRAFT offer of a type on an integration system. A
// single-event offer gets its one event now, so every conversion can point at an event.
func CreateOffer(ctx context.Context, c *ent.Client, in CreateOfferInput) (*ent.Offer, error) {
	var errs errcode.List
	name := checkName(&errs, "input.name", in.Name)
	if _, ok := catalogue.Lookup(in.IntegrationSystem); !ok {
		errs.Add("input.integrationSystem", "is not a known integration system")
	}
	if err := offer.TypeValidator(in.Type); err != nil {
		errs.Add("input.type", "must be SINGLE_EVENT or MULTI_EVENT")
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	o, err := c.Offer.Create().SetName(name).SetType(in.Type).SetIntegrationSystem(in.IntegrationSystem).Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("create offer: %w", err)
	}
	if in.Type == offer.TypeSINGLE_EVENT {
		if err := c.OfferEvent.Create().SetOfferID(o.ID).SetName(name).SetEventID(defaultEventID).Exec(ctx); err != nil {
			return nil, fmt.Errorf("create the event of offer %d: %w", o.ID, err)
		}
	}
	return o, nil
}

// UpdateOfferType changes the type, integration system or name. Type and system are fixed once
// the offer is published: clicks and postbacks already depend on them.
func UpdateOfferType(ctx context.Context, c *ent.Client, id int, in UpdateOfferTypeInput) (*ent.Offer, error) {
	o, err := loadEditable(ctx, c, id)
	if err != nil {
		return nil, err
	}
	var errs errcode.List
	upd := c.Offer.Update().Where(offer.ID(o.ID))
	if in.Name != nil {
		upd.SetName(checkName(&errs, "input.name", *in.Name))
	}
	changesType := in.Type != nil && *in.Type != o.Type
	changesSystem := in.IntegrationSystem != nil && *in.IntegrationSystem != o.IntegrationSystem
	if (changesType || changesSystem) && o.Status != offer.StatusDRAFT {
		field := "input.type"
		if !changesType {
			field = "input.integrationSystem"
		}
		return nil, &errcode.Error{Code: errcode.Conflict, Field: field, Message: "type and integration system cannot change after the offer is published"}
	}
	if changesSystem {
		if _, ok := catalogue.Lookup(*in.IntegrationSystem); !ok {
			errs.Add("input.integrationSystem", "is not a known integration system")
		}
		upd.SetIntegrationSystem(*in.IntegrationSystem)
		// The click template depends on the system's click-id parameter: rebuild it.
		if o.TrackingLink != "" && *in.IntegrationSystem != catalogue.Custom {
			sys, _ := catalogue.Lookup(*in.IntegrationSystem)
			if tmpl, err := links.AppendClickMacro(o.TrackingLink, sys.ClickIDParam); err == nil {
				upd.SetClickURLTemplate(tmpl)
			}
		} else {
			upd.ClearClickURLTemplate()
		}
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	if changesType {
		upd.SetType(*in.Type)
		if *in.Type == offer.TypeSINGLE_EVENT {
			if err := keepOneEvent(ctx, c, o); err != nil {
				return nil, err
			}
		}
	}
	return saveOffer(ctx, c, upd, o.ID)
}

// keepOneEvent makes a draft single-event: the first event in card order stays, or one is made.
func keepOneEvent(ctx context.Context, c *ent.Client, o *ent.Offer) error {
	evs, err := o.QueryEvents().All(ctx)
	if err != nil {
		return err
	}
	if len(evs) == 0 {
		return c.OfferEvent.Create().SetOfferID(o.ID).SetName(o.Name).SetEventID(defaultEventID).Exec(ctx)
	}
	ids := make([]int, 0, len(evs)-1)
	for _, e := range evs[1:] {
		ids = append(ids, e.ID)
	}
	_, err = c.OfferEvent.Delete().Where(offerevent.IDIn(ids...)).Exec(ctx)
	return err
}

// SaveAdvertiserInfo is the advertiser step: an existing brand or a new one, and the tracking
// link copied from the network, to which the system's click-id parameter is appended.
func SaveAdvertiserInfo(ctx context.Context, c *ent.Client, id int, in AdvertiserInfoInput) (*ent.Offer, error) {
	o, err := loadEditable(ctx, c, id)
	if err != nil {
		return nil, err
	}
	var errs errcode.List
	switch {
	case in.AdvertiserID == nil && in.Advertiser == nil:
		errs.Add("input.advertiserID", "choose an advertiser, or describe a new one in input.advertiser")
	case in.AdvertiserID != nil && in.Advertiser != nil:
		errs.Add("input.advertiser", "give either advertiserID or advertiser, not both")
	case in.AdvertiserID != nil:
		if a, err := loadAdvertiser(ctx, c, *in.AdvertiserID, "input.advertiserID"); err != nil {
			return nil, err
		} else if a.ArchivedAt != nil {
			errs.Add("input.advertiserID", "advertiser %q is archived; choose another or create a new one", a.Name)
		}
	case in.Advertiser != nil:
		checkAdvertiser(&errs, "input.advertiser", in.Advertiser)
	}
	sys, _ := catalogue.Lookup(o.IntegrationSystem)
	param := sys.ClickIDParam
	upd := c.Offer.Update().Where(offer.ID(o.ID))
	if o.IntegrationSystem == catalogue.Custom {
		param = ""
		if in.CustomClickIDParameter != nil {
			param = strings.TrimSpace(*in.CustomClickIDParameter)
		}
		if param == "" {
			errs.Add("input.customClickIDParameter", "is required for the CUSTOM integration system: the parameter of the tracking link that carries our click id")
		}
		upd.SetCustomClickIDParam(param).SetCustomMacros(customMacros(in.CustomMacros))
	} else if in.CustomClickIDParameter != nil || in.CustomMacros != nil {
		errs.Add("input.customClickIDParameter", "applies only to the CUSTOM integration system")
	}
	tmpl, err := links.AppendClickMacro(in.TrackingLink, param)
	if reason, ok := links.Reason(err); ok {
		errs.Add("input.trackingLink", "%s", reason)
	} else if errors.Is(err, links.ErrInvalidParam) && param != "" {
		errs.Add("input.customClickIDParameter", "may contain only letters, digits and _ . ~ -")
	} else if err != nil && param != "" {
		return nil, err
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	advID := in.AdvertiserID
	if in.Advertiser != nil {
		adv, err := createAdvertiser(ctx, c, "input.advertiser.name", in.Advertiser)
		if err != nil {
			return nil, err
		}
		advID = &adv.ID
	}
	return saveOffer(ctx, c, upd.SetAdvertiserID(*advID).SetTrackingLink(in.TrackingLink).SetClickURLTemplate(tmpl), o.ID)
}

// customMacros stores the account's macros for a CUSTOM network under our parameter names.
func customMacros(in *CustomMacrosInput) map[string]string {
	m := map[string]string{}
	if in == nil {
		return m
	}
	for k, v := range map[string]*string{
		"gk_click_id": in.ClickID, "cnv_event_id": in.EventID, "cnv_conversion_id": in.ConversionID,
		"cnv_status": in.Status, "cnv_payout": in.Payout, "cnv_amount": in.Amount, "cnv_currency": in.Currency,
	} {
		if v != nil && strings.TrimSpace(*v) != "" {
			m[k] = strings.TrimSpace(*v)
		}
	}
	return m
}

// SaveCreative is the creative step: copy and images of the offer card.
func SaveCreative(ctx context.Context, c *ent.Client, id int, in CreativeInput) (*ent.Offer, error) {
	o, err := loadEditable(ctx, c, id)
	if err != nil {
		return nil, err
	}
	var errs errcode.List
	headline := checkName(&errs, "input.headline", in.Headline)
	cta := strings.TrimSpace(in.CallToAction)
	switch {
	case cta == "":
		errs.Add("input.callToAction", "must not be empty")
	case len(cta) > 100:
		errs.Add("input.callToAction", "must be at most 100 characters")
	}
	images := make([]string, 0, len(in.ImageURLs))
	for i, u := range in.ImageURLs {
		u = strings.TrimSpace(u)
		if !links.IsAbsoluteHTTP(u) {
			errs.Add(fmt.Sprintf("input.imageURLs[%d]", i), "must be an absolute http or https URL")
		}
		images = append(images, u)
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	upd := c.Offer.Update().Where(offer.ID(o.ID)).SetHeadline(headline).SetCallToAction(cta).SetImageUrls(images).
		SetDescription(deref(in.Description)).SetTerms(deref(in.Terms))
	return saveOffer(ctx, c, upd, o.ID)
}

// SaveBudgetTargeting is the budgeting and targeting step. For a single-event offer it also
// sets the payout of its one event.
func SaveBudgetTargeting(ctx context.Context, c *ent.Client, id int, in BudgetTargetingInput) (*ent.Offer, error) {
	o, err := loadEditable(ctx, c, id)
	if err != nil {
		return nil, err
	}
	var errs errcode.List
	currency := strings.ToUpper(strings.TrimSpace(in.Currency))
	if !money.KnownCurrency(currency) {
		errs.Add("input.currency", "must be an ISO 4217 currency code such as USD")
	}
	if in.TotalBudget != nil && *in.TotalBudget <= 0 {
		errs.Add("input.totalBudget", "must be greater than 0")
	}
	if in.DailyBudget != nil {
		if *in.DailyBudget <= 0 {
			errs.Add("input.dailyBudget", "must be greater than 0")
		} else if in.TotalBudget != nil && *in.DailyBudget > *in.TotalBudget {
			errs.Add("input.dailyBudget", "must not exceed the total budget")
		}
	}
	if in.TotalBudget != nil && *in.TotalBudget < o.BudgetSpent {
		errs.Add("input.totalBudget", "must not be below what is already spent (%s)", o.BudgetSpent)
	}
	switch {
	case o.Type == offer.TypeSINGLE_EVENT && in.Payout == nil:
		errs.Add("input.payout", "is required for a single-event offer")
	case o.Type == offer.TypeMULTI_EVENT && in.Payout != nil:
		errs.Add("input.payout", "a multi-event offer sets a payout per event in the events step")
	case in.Payout != nil && *in.Payout < 0:
		errs.Add("input.payout", "must be 0 or more")
	}
	for name, v := range map[string]*int{"capDaily": in.CapDaily, "capWeekly": in.CapWeekly, "capMonthly": in.CapMonthly, "capTotal": in.CapTotal} {
		if v != nil && *v < 1 {
			errs.Add("input."+name, "must be at least 1")
		}
	}
	countries := make([]string, 0, len(in.Countries))
	seen := map[string]bool{}
	for i, cc := range in.Countries {
		cc = strings.ToUpper(strings.TrimSpace(cc))
		if !targeting.KnownCountry(cc) {
			errs.Add(fmt.Sprintf("input.countries[%d]", i), "%q is not an ISO 3166-1 alpha-2 country code", cc)
		} else if !seen[cc] {
			seen[cc] = true
			countries = append(countries, cc)
		}
	}
	tz := "UTC"
	if in.TimeZone != nil && strings.TrimSpace(*in.TimeZone) != "" {
		tz = strings.TrimSpace(*in.TimeZone)
		// "Local" would mean each server's own zone: replicas would split daily caps differently.
		if _, err := time.LoadLocation(tz); err != nil || strings.EqualFold(tz, "Local") {
			errs.Add("input.timeZone", "%q is not an IANA time zone such as Europe/Berlin", tz)
		}
	}
	if in.StartsAt != nil && in.EndsAt != nil && !in.EndsAt.After(*in.StartsAt) {
		errs.Add("input.endsAt", "must be after startsAt")
	}
	fallback := strings.TrimSpace(deref(in.FallbackURL))
	if fallback != "" && !links.IsAbsoluteHTTP(fallback) {
		errs.Add("input.fallbackURL", "must be an absolute http or https URL, or empty for the account's")
	}
	if in.AutoApproveAfter != nil {
		if err := in.AutoApproveAfter.Check(); err != nil {
			errs.Add("input.autoApproveAfter", "%s", err)
		}
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	upd := c.Offer.Update().Where(offer.ID(o.ID)).SetCurrency(currency).SetNillableAutoApproveAfter(in.AutoApproveAfter).
		SetNillableBudgetTotal(in.TotalBudget).SetNillableBudgetDaily(in.DailyBudget).
		SetNillableCapDaily(in.CapDaily).SetNillableCapWeekly(in.CapWeekly).
		SetNillableCapMonthly(in.CapMonthly).SetNillableCapTotal(in.CapTotal).
		SetCountries(countries).SetPlatforms(dedupePlatforms(in.Platforms)).
		SetNillableStartsAt(in.StartsAt).SetNillableEndsAt(in.EndsAt).SetTimeZone(tz).SetFallbackURL(fallback)
	// A field left out of this step means "no limit", so clear what an earlier save set.
	if in.TotalBudget == nil {
		upd.ClearBudgetTotal()
	}
	if in.DailyBudget == nil {
		upd.ClearBudgetDaily()
	}
	if in.CapDaily == nil {
		upd.ClearCapDaily()
	}
	if in.CapWeekly == nil {
		upd.ClearCapWeekly()
	}
	if in.CapMonthly == nil {
		upd.ClearCapMonthly()
	}
	if in.CapTotal == nil {
		upd.ClearCapTotal()
	}
	if in.StartsAt == nil {
		upd.ClearStartsAt()
	}
	if in.EndsAt == nil {
		upd.ClearEndsAt()
	}
	if in.AutoApproveAfter == nil {
		upd.ClearAutoApproveAfter()
	}
	if in.OneCompletionPerMember != nil {
		upd.SetOneCompletionPerMember(*in.OneCompletionPerMember)
	}
	if in.Payout != nil {
		if _, err := c.OfferEvent.Update().Where(offerevent.OfferID(o.ID)).SetPayout(*in.Payout).Save(ctx); err != nil {
			return nil, err
		}
	}
	return saveOffer(ctx, c, upd, o.ID)
}

func dedupePlatforms(ps []targeting.Platform) []targeting.Platform {
	out := make([]targeting.Platform, 0, len(ps))
	seen := map[targeting.Platform]bool{}
	for _, p := range ps {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// SetEvents is the events step: the ordered list of events. Events named by id keep their
// identity (and conversions); events left out are removed, unless conversions point at them.
func SetEvents(ctx context.Context, c *ent.Client, id int, events []EventInput) (*ent.Offer, error) {
	o, err := loadEditable(ctx, c, id)
	if err != nil {
		return nil, err
	}
	existing, err := o.QueryEvents().All(ctx)
	if err != nil {
		return nil, err
	}
	byID := map[int]*ent.OfferEvent{}
	for _, e := range existing {
		byID[e.ID] = e
	}
	var errs errcode.List
	switch {
	case o.Type == offer.TypeSINGLE_EVENT && len(events) != 1:
		errs.Add("events", "a single-event offer has exactly one event")
	case o.Type == offer.TypeMULTI_EVENT && len(events) < 2:
		errs.Add("events", "a multi-event offer needs at least two events")
	}
	keys := map[string]int{}
	kept := map[int]bool{}
	for i, e := range events {
		at := func(f string) string { return fmt.Sprintf("events[%d].%s", i, f) }
		events[i].Name = checkName(&errs, at("name"), e.Name)
		events[i].EventID = strings.TrimSpace(e.EventID)
		key := catalogue.EventMatchKey(e.EventID)
		switch {
		case events[i].EventID == "" || key == "":
			errs.Add(at("eventID"), "must not be empty")
		case len(events[i].EventID) > 255:
			errs.Add(at("eventID"), "must be at most 255 characters")
		default:
			if j, dup := keys[key]; dup {
				errs.Add(at("eventID"), "%q is the same event ID as events[%d] (matching ignores case, spaces and +/%%20)", e.EventID, j)
			}
			keys[key] = i
		}
		if e.Payout < 0 {
			errs.Add(at("payout"), "must be 0 or more")
		}
		if e.PayoutType != nil && *e.PayoutType == offerevent.PayoutTypePERCENT {
			switch {
			case e.PayoutPercent == nil:
				errs.Add(at("payoutPercent"), "is required for a PERCENT payout")
			case *e.PayoutPercent <= 0 || *e.PayoutPercent > money.Hundred:
				errs.Add(at("payoutPercent"), "must be more than 0 and at most 100")
			}
			if e.PayoutCap != nil && *e.PayoutCap <= 0 {
				errs.Add(at("payoutCap"), "must be more than 0")
			}
			// A share pays by the sale amount; the fixed payout is not used.
			events[i].Payout = 0
		} else {
			if e.PayoutPercent != nil {
				errs.Add(at("payoutPercent"), "is only for a PERCENT payout")
			}
			if e.PayoutCap != nil {
				errs.Add(at("payoutCap"), "is only for a PERCENT payout")
			}
		}
		for name, v := range map[string]*int{"capDaily": e.CapDaily, "capWeekly": e.CapWeekly, "capMonthly": e.CapMonthly, "capTotal": e.CapTotal} {
			if v != nil && *v < 1 {
				errs.Add(at(name), "must be at least 1")
			}
		}
		if e.ID != nil {
			if byID[*e.ID] == nil {
				errs.Add(at("id"), "is not an event of this offer")
			} else if kept[*e.ID] {
				errs.Add(at("id"), "names the same event twice")
			}
			kept[*e.ID] = true
		}
	}
	var removed []int
	for _, e := range existing {
		if !kept[e.ID] {
			removed = append(removed, e.ID)
		}
	}
	if len(removed) > 0 {
		n, err := c.Conversion.Query().Where(conversion.OfferEventIDIn(removed...)).Count(ctx)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			return nil, &errcode.Error{Code: errcode.Conflict, Field: "events", Message: "an event that has conversions cannot be removed; keep it (by id) or end the offer"}
		}
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	// Remove first, then move the kept events out of the way, so the unique event ids of the
	// new list never collide with an old row half-way through.
	if len(removed) > 0 {
		if _, err := c.OfferEvent.Delete().Where(offerevent.IDIn(removed...)).Exec(ctx); err != nil {
			return nil, err
		}
	}
	for _, e := range events {
		if e.ID != nil {
			if err := c.OfferEvent.Update().Where(offerevent.ID(*e.ID)).SetEventID(fmt.Sprintf("~moving~%d", *e.ID)).Exec(ctx); err != nil {
				return nil, err
			}
		}
	}
	for i, e := range events {
		if e.ID != nil {
			upd := c.OfferEvent.Update().Where(offerevent.ID(*e.ID)).SetName(e.Name).SetEventID(e.EventID).SetPosition(i).SetPayout(e.Payout).
				ClearCapDaily().ClearCapWeekly().ClearCapMonthly().ClearCapTotal().ClearPayoutPercent().ClearPayoutCap()
			err = upd.SetNillableCapDaily(e.CapDaily).SetNillableCapWeekly(e.CapWeekly).
				SetNillableCapMonthly(e.CapMonthly).SetNillableCapTotal(e.CapTotal).SetAllowRepeats(e.AllowRepeats != nil && *e.AllowRepeats).
				SetPayoutType(payoutType(e)).SetNillablePayoutPercent(e.PayoutPercent).SetNillablePayoutCap(e.PayoutCap).Exec(ctx)
		} else {
			err = c.OfferEvent.Create().SetOfferID(o.ID).SetName(e.Name).SetEventID(e.EventID).SetPosition(i).SetPayout(e.Payout).
				SetNillableCapDaily(e.CapDaily).SetNillableCapWeekly(e.CapWeekly).
				SetNillableCapMonthly(e.CapMonthly).SetNillableCapTotal(e.CapTotal).SetAllowRepeats(e.AllowRepeats != nil && *e.AllowRepeats).
				SetPayoutType(payoutType(e)).SetNillablePayoutPercent(e.PayoutPercent).SetNillablePayoutCap(e.PayoutCap).Exec(ctx)
		}
		if err != nil {
			return nil, fmt.Errorf("save event %d of offer %d: %w", i, o.ID, err)
		}
	}
	return saveOffer(ctx, c, c.Offer.Update().Where(offer.ID(o.ID)), o.ID) // touches updated_at
}

// saveOffer runs an update of one offer and reads the offer back inside the viewer's account.
// Not Ent's UpdateOne: it reads the row back by id alone, which Citus sends to every shard.
func saveOffer(ctx context.Context, c *ent.Client, upd *ent.OfferUpdate, id int) (*ent.Offer, error) {
	if _, err := upd.Save(ctx); err != nil {
		return nil, err
	}
	return c.Offer.Get(ctx, id)
}

func payoutType(e EventInput) offerevent.PayoutType {
	if e.PayoutType == nil {
		return offerevent.PayoutTypeFIXED
	}
	return *e.PayoutType
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return strings.TrimSpace(*s)
}
