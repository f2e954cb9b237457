package graph

import (
	"context"
	"slices"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/offer"
	"github.com/gokart/gokart/graph/model"
	"github.com/gokart/gokart/internal/catalogue"
	"github.com/gokart/gokart/internal/lifecycle"
)

// offerSystem is the catalogue entry of an offer's network, with a CUSTOM offer's own settings.
func offerSystem(o *ent.Offer) catalogue.System {
	sys, _ := catalogue.Lookup(o.IntegrationSystem)
	if o.IntegrationSystem == catalogue.Custom {
		m := o.CustomMacros
		sys = sys.WithOverrides(o.CustomClickIDParam, catalogue.Macros{
			ClickID: m["gk_click_id"], EventID: m["cnv_event_id"], ConversionID: m["cnv_conversion_id"],
			Status: m["cnv_status"], Payout: m["cnv_payout"], Amount: m["cnv_amount"], Currency: m["cnv_currency"],
		})
	}
	return sys
}

// offerPostbackURL is null until the network can echo our click id (a CUSTOM offer without its
// macro). A single-event offer's URL names its one event literally, since networks fill their
// event macro with names of their own.
func (r *Resolver) offerPostbackURL(ctx context.Context, o *ent.Offer) (*string, error) {
	acc, err := r.viewerAccount(ctx)
	if err != nil {
		return nil, err
	}
	sys := offerSystem(o)
	if sys.Macros.ClickID == "" {
		return nil, nil
	}
	var eventID *string
	if o.Type == offer.TypeSINGLE_EVENT {
		evs, err := o.Events(ctx)
		if err != nil {
			return nil, err
		}
		if len(evs) == 1 {
			eventID = &evs[0].EventID
		}
	}
	u := sys.PostbackURL(r.baseURL, acc.PostbackKey, eventID)
	return &u, nil
}

// eventPostbackURL carries the event's ID as a literal, for one postback per event.
func (r *Resolver) eventPostbackURL(ctx context.Context, e *ent.OfferEvent) (*string, error) {
	acc, err := r.viewerAccount(ctx)
	if err != nil {
		return nil, err
	}
	o, err := e.Edges.OfferOrErr()
	if err != nil {
		if o, err = r.db(ctx).Offer.Get(ctx, e.OfferID); err != nil {
			return nil, err
		}
	}
	sys := offerSystem(o)
	if sys.Macros.ClickID == "" {
		return nil, nil
	}
	u := sys.PostbackURL(r.baseURL, acc.PostbackKey, &e.EventID)
	return &u, nil
}

// integrationSystems is the catalogue as the dropdown shows it.
func integrationSystems(baseURL, postbackKey string) []*model.IntegrationSystemInfo {
	var out []*model.IntegrationSystemInfo
	for _, s := range catalogue.All() {
		info := &model.IntegrationSystemInfo{
			System: s.Code, DisplayName: s.DisplayName, MaxClickIDLength: s.MaxClickIDLength,
			PostbackURL: s.PostbackURL(baseURL, postbackKey, nil), Custom: s.Custom, Sources: s.Sources,
			Macros: []*model.PostbackMacro{}, StatusWords: []*model.StatusWord{},
		}
		if s.ClickIDParam != "" {
			p := s.ClickIDParam
			info.ClickIDParameter = &p
		}
		for _, m := range []struct{ param, macro string }{
			{"gk_click_id", s.Macros.ClickID}, {"cnv_event_id", s.Macros.EventID},
			{"cnv_conversion_id", s.Macros.ConversionID}, {"cnv_status", s.Macros.Status},
			{"cnv_payout", s.Macros.Payout}, {"cnv_amount", s.Macros.Amount}, {"cnv_currency", s.Macros.Currency},
		} {
			if m.macro != "" {
				info.Macros = append(info.Macros, &model.PostbackMacro{Parameter: m.param, Macro: m.macro})
			}
		}
		for _, w := range sortedWords(s.StatusWords) {
			info.StatusWords = append(info.StatusWords, &model.StatusWord{Word: w, Status: lifecycle.Status(s.StatusWords[w])})
		}
		out = append(out, info)
	}
	return out
}

func sortedWords(m map[string]catalogue.Status) []string {
	words := make([]string, 0, len(m))
	for w := range m {
		words = append(words, w)
	}
	slices.Sort(words)
	return words
}
