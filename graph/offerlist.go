package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"

	"github.com/gokart/gokart/ent"
)

// offerScope finds the offers to load together with offerID's, so that a list of offers costs
// one batch of queries rather than one per offer: those of the nearest field above the one
// being resolved whose result is a list holding offerID (a connection, its edges, a list or
// nodes), and the field itself as the batch's scope; or offerID alone, scoped by itself.
func offerScope(ctx context.Context, offerID int) (any, []int) {
	for fc := graphql.GetFieldContext(ctx); fc != nil; fc = fc.Parent {
		ids := offerIDsOf(fc.Result)
		for _, id := range ids {
			if id == offerID {
				return fc, ids
			}
		}
	}
	return offerID, []int{offerID}
}

// offerIDsOf lists the offers a field's result holds, if it holds a list of them.
func offerIDsOf(result any) []int {
	var ids []int
	for _, o := range offersOf(result) {
		ids = append(ids, o.ID)
	}
	return ids
}

// offersOf lists the offers a field's result holds, if it holds a list of them.
func offersOf(result any) []*ent.Offer {
	var out []*ent.Offer
	add := func(o *ent.Offer) {
		if o != nil {
			out = append(out, o)
		}
	}
	switch res := result.(type) {
	case *ent.OfferConnection:
		if res != nil {
			for _, e := range res.Edges {
				if e != nil {
					add(e.Node)
				}
			}
		}
	case []*ent.OfferEdge:
		for _, e := range res {
			if e != nil {
				add(e.Node)
			}
		}
	case []*ent.Offer:
		for _, o := range res {
			add(o)
		}
	case []ent.Noder:
		for _, n := range res {
			if o, ok := n.(*ent.Offer); ok {
				add(o)
			}
		}
	}
	return out
}
