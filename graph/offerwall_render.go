package graph

import (
	"bytes"
	"context"
	"io"

	"entgo.io/contrib/entgql"
	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/gokart/gokart/graph/model"
	"github.com/gokart/gokart/graph/scalars"
	"github.com/gokart/gokart/internal/targeting"
)

// RenderOfferwall is a root field middleware that answers Query.offerwall by writing the
// selected fields of its page itself, the same bytes gqlgen's executor writes. A page of 50
// cards is some 700 fields and 100 goroutines in gqlgen (one per card and per card's events
// list), most of a page's CPU; here it is one pass over the cards. Every other root field, and
// any offerwall call it does not take whole (an argument it does not read, an error, a
// deferred fragment, a field it does not know), goes to gqlgen's executor, which reports
// errors with their path and code as for every other field.
func (r *Resolver) RenderOfferwall(ctx context.Context, next graphql.RootResolver) graphql.Marshaler {
	fc := graphql.GetRootFieldContext(ctx)
	oc := graphql.GetOperationContext(ctx)
	if fc == nil || oc == nil || oc.Operation == nil || oc.Operation.Operation != ast.Query || fc.Field.Name != "offerwall" {
		return next(ctx)
	}
	member, first, after, ok := offerwallArgs(fc.Field.ArgumentMap(oc.Variables))
	if !ok {
		return next(ctx)
	}
	conn, err := (&queryResolver{r}).offerwall(ctx, member, first, after)
	// The executor gets the page already read (queryResolver.Offerwall), not a second read.
	fallback := func() graphql.Marshaler {
		return next(context.WithValue(ctx, resolvedFeedKey{}, &resolvedFeed{conn: conn, err: err}))
	}
	if err != nil {
		return fallback()
	}
	var buf bytes.Buffer
	buf.Grow(512 * (len(conn.Edges) + 1))
	if !writeCardConnection(&buf, oc, fc.Field.Selections, conn) {
		return fallback()
	}
	return graphql.WriterFunc(func(w io.Writer) { _, _ = w.Write(buf.Bytes()) })
}

// resolvedFeed is the page RenderOfferwall read before leaving it to the executor, under
// resolvedFeedKey in the root field's context.
type resolvedFeed struct {
	conn *model.OfferCardConnection
	err  error
}

type resolvedFeedKey struct{}

// writeList writes [item,...]; it returns false at the first item write refuses.
func writeList[T any](w *bytes.Buffer, items []T, write func(T) bool) bool {
	w.WriteByte('[')
	for i, it := range items {
		if i > 0 {
			w.WriteByte(',')
		}
		if !write(it) {
			return false
		}
	}
	w.WriteByte(']')
	return true
}

// offerwallArgs reads Query.offerwall's arguments as validation left them; ok is false for
// anything it does not read as the generated code would (that code then reports it).
func offerwallArgs(args map[string]any) (m model.OfferwallMember, first *int, after *entgql.Cursor[int], ok bool) {
	in, isMap := args["member"].(map[string]any)
	if !isMap {
		return m, nil, nil, false
	}
	for k, v := range in {
		switch k {
		case "pubMemberID":
			if m.PubMemberID, ok = v.(string); !ok {
				return m, nil, nil, false
			}
		case "country":
			if v != nil {
				s, isString := v.(string)
				if !isString {
					return m, nil, nil, false
				}
				m.Country = &s
			}
		case "platform":
			if v != nil {
				var p targeting.Platform
				if p.UnmarshalGQL(v) != nil {
					return m, nil, nil, false
				}
				m.Platform = &p
			}
		default:
			return m, nil, nil, false
		}
	}
	if _, given := in["pubMemberID"]; !given {
		return m, nil, nil, false
	}
	for k, v := range args {
		switch {
		case k == "member" || v == nil:
		case k == "first":
			n, err := graphql.UnmarshalInt(v)
			if err != nil {
				return m, nil, nil, false
			}
			first = &n
		case k == "after":
			c, err := scalars.UnmarshalCursor(v)
			if err != nil {
				return m, nil, nil, false
			}
			after = &c
		default:
			return m, nil, nil, false
		}
	}
	return m, first, after, true
}

// fieldsOf is the fields selected on an object of typeName, fragments and @skip/@include
// applied; ok is false when one is deferred (left to the executor).
func fieldsOf(oc *graphql.OperationContext, sel ast.SelectionSet, typeName string) ([]graphql.CollectedField, bool) {
	fields := graphql.CollectFields(oc, sel, []string{typeName})
	for _, f := range fields {
		if f.IsDeferred() {
			return nil, false
		}
	}
	return fields, true
}

// writeObject writes {"alias":value,...} for fields, value writing the one named; it returns
// false at the first field it does not know.
func writeObject(w *bytes.Buffer, typeName string, fields []graphql.CollectedField, value func(f graphql.CollectedField) bool) bool {
	w.WriteByte('{')
	for i, f := range fields {
		if i > 0 {
			w.WriteByte(',')
		}
		graphql.MarshalString(f.Alias).MarshalGQL(w)
		w.WriteByte(':')
		if f.Name == "__typename" {
			graphql.MarshalString(typeName).MarshalGQL(w)
			continue
		}
		if !value(f) {
			return false
		}
	}
	w.WriteByte('}')
	return true
}

func writeCardConnection(w *bytes.Buffer, oc *graphql.OperationContext, sel ast.SelectionSet, c *model.OfferCardConnection) bool {
	fields, ok := fieldsOf(oc, sel, "OfferCardConnection")
	return ok && writeObject(w, "OfferCardConnection", fields, func(f graphql.CollectedField) bool {
		switch f.Name {
		case "edges":
			edge, ok := fieldsOf(oc, f.Selections, "OfferCardEdge")
			if !ok {
				return false
			}
			return writeList(w, c.Edges, func(e *model.OfferCardEdge) bool { return writeCardEdge(w, oc, edge, e) })
		case "pageInfo":
			return writePageInfo(w, oc, f.Selections, c.PageInfo)
		}
		return false
	})
}

func writeCardEdge(w *bytes.Buffer, oc *graphql.OperationContext, fields []graphql.CollectedField, e *model.OfferCardEdge) bool {
	return writeObject(w, "OfferCardEdge", fields, func(f graphql.CollectedField) bool {
		switch f.Name {
		case "cursor":
			scalars.MarshalCursor(e.Cursor).MarshalGQL(w)
		case "node":
			return writeCard(w, oc, f.Selections, e.Node)
		default:
			return false
		}
		return true
	})
}

func writeCard(w *bytes.Buffer, oc *graphql.OperationContext, sel ast.SelectionSet, c *model.OfferCard) bool {
	fields, ok := fieldsOf(oc, sel, "OfferCard")
	return ok && writeObject(w, "OfferCard", fields, func(f graphql.CollectedField) bool {
		switch f.Name {
		case "id":
			graphql.MarshalIntID(c.ID).MarshalGQL(w)
		case "name":
			graphql.MarshalString(c.Name).MarshalGQL(w)
		case "headline":
			graphql.MarshalString(c.Headline).MarshalGQL(w)
		case "description":
			graphql.MarshalString(c.Description).MarshalGQL(w)
		case "callToAction":
			graphql.MarshalString(c.CallToAction).MarshalGQL(w)
		case "terms":
			graphql.MarshalString(c.Terms).MarshalGQL(w)
		case "currency":
			graphql.MarshalString(c.Currency).MarshalGQL(w)
		case "clickURL":
			graphql.MarshalString(c.ClickURL).MarshalGQL(w)
		case "imageURLs":
			writeList(w, c.ImageURLs, func(u string) bool { graphql.MarshalString(u).MarshalGQL(w); return true })
		case "events":
			event, ok := fieldsOf(oc, f.Selections, "OfferCardEvent")
			if !ok {
				return false
			}
			return writeList(w, c.Events, func(e *model.OfferCardEvent) bool { return writeCardEvent(w, event, e) })
		default:
			return false
		}
		return true
	})
}

func writeCardEvent(w *bytes.Buffer, fields []graphql.CollectedField, e *model.OfferCardEvent) bool {
	return writeObject(w, "OfferCardEvent", fields, func(f graphql.CollectedField) bool {
		switch f.Name {
		case "name":
			graphql.MarshalString(e.Name).MarshalGQL(w)
		case "payout":
			e.Payout.MarshalGQL(w)
		case "payoutPercent", "payoutCap":
			v := e.PayoutPercent
			if f.Name == "payoutCap" {
				v = e.PayoutCap
			}
			if v == nil {
				graphql.Null.MarshalGQL(w)
			} else {
				v.MarshalGQL(w)
			}
		default:
			return false
		}
		return true
	})
}

func writePageInfo(w *bytes.Buffer, oc *graphql.OperationContext, sel ast.SelectionSet, p *entgql.PageInfo[int]) bool {
	fields, ok := fieldsOf(oc, sel, "PageInfo")
	return ok && writeObject(w, "PageInfo", fields, func(f graphql.CollectedField) bool {
		switch f.Name {
		case "hasNextPage":
			graphql.MarshalBoolean(p.HasNextPage).MarshalGQL(w)
		case "hasPreviousPage":
			graphql.MarshalBoolean(p.HasPreviousPage).MarshalGQL(w)
		case "startCursor", "endCursor":
			c := p.StartCursor
			if f.Name == "endCursor" {
				c = p.EndCursor
			}
			if c == nil {
				graphql.Null.MarshalGQL(w)
			} else {
				scalars.MarshalCursor(*c).MarshalGQL(w)
			}
		default:
			return false
		}
		return true
	})
}
