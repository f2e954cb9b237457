package graph

import (
	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/advertiser"
	"github.com/gokart/gokart/ent/offer"
	"github.com/gokart/gokart/ent/predicate"
)

// Lists hide archived offers and advertisers unless the filter says something about
// archivedAt (e.g. `where: {archivedAtNotNil: true}` lists only the archived ones).

func unlessAskedOffers(w *ent.OfferWhereInput) []predicate.Offer {
	if offerAsksArchived(w) {
		return nil
	}
	return []predicate.Offer{offer.ArchivedAtIsNil()}
}

func offerAsksArchived(w *ent.OfferWhereInput) bool {
	if w == nil {
		return false
	}
	if w.ArchivedAt != nil || w.ArchivedAtNEQ != nil || len(w.ArchivedAtIn) > 0 || len(w.ArchivedAtNotIn) > 0 ||
		w.ArchivedAtGT != nil || w.ArchivedAtGTE != nil || w.ArchivedAtLT != nil || w.ArchivedAtLTE != nil ||
		w.ArchivedAtIsNil || w.ArchivedAtNotNil || offerAsksArchived(w.Not) {
		return true
	}
	for _, sub := range append(append([]*ent.OfferWhereInput{}, w.And...), w.Or...) {
		if offerAsksArchived(sub) {
			return true
		}
	}
	return false
}

func unlessAskedAdvertisers(w *ent.AdvertiserWhereInput) []predicate.Advertiser {
	if advertiserAsksArchived(w) {
		return nil
	}
	return []predicate.Advertiser{advertiser.ArchivedAtIsNil()}
}

func advertiserAsksArchived(w *ent.AdvertiserWhereInput) bool {
	if w == nil {
		return false
	}
	if w.ArchivedAt != nil || w.ArchivedAtNEQ != nil || len(w.ArchivedAtIn) > 0 || len(w.ArchivedAtNotIn) > 0 ||
		w.ArchivedAtGT != nil || w.ArchivedAtGTE != nil || w.ArchivedAtLT != nil || w.ArchivedAtLTE != nil ||
		w.ArchivedAtIsNil || w.ArchivedAtNotNil || advertiserAsksArchived(w.Not) {
		return true
	}
	for _, sub := range append(append([]*ent.AdvertiserWhereInput{}, w.And...), w.Or...) {
		if advertiserAsksArchived(sub) {
			return true
		}
	}
	return false
}
