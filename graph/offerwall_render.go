package graph

import (
	"bytes"
	"context"
	"io"
	"sync"

	"entgo.io/contrib/entgql"
	"github.com/99designs/gqlgen/graphql"
	lru "github.com/hashicorp/golang-lru/v2"
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
func (r *Resolver) RenderOfferwall(ctx context.Context, next graphql.RootResolver) (m graphql.Marshaler) {
	fc := graphql.GetRootFieldContext(ctx)
	oc := graphql.GetOperationContext(ctx)
	if fc == nil || oc == nil || oc.Operation == nil || oc.Operation.Operation != ast.Query || fc.Field.Name != "offerwall" {
		return next(ctx)
	}
	// A root field middleware runs outside the executor's own recovery: a panic here is this
	// field's error, as it would be in a resolver, not the process's end.
	defer func() {
		if p := recover(); p != nil {
			oc.Error(ctx, oc.Recover(ctx, p))
			m = graphql.Null
		}
	}()
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
	buf := pages.Get().(*bytes.Buffer)
	if !writeCardConnection(buf, oc, fc.Field.Selections, conn) {
		recyclePage(buf)
		return fallback()
	}
	// gqlgen writes a root field's value once; a value never written leaves its buffer to
	// the garbage collector.
	return graphql.WriterFunc(func(w io.Writer) {
		_, _ = w.Write(buf.Bytes())
		recyclePage(buf)
	})
}

// pages are the buffers pages are written into (some 25 KB for 50 cards).
var pages = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func recyclePage(b *bytes.Buffer) {
	if b.Cap() <= 256<<10 {
		b.Reset()
		pages.Put(b)
	}
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
		writeString(w, f.Alias)
		w.WriteByte(':')
		if f.Name == "__typename" {
			writeString(w, typeName)
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
			writeCursor(w, e.Cursor)
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
			writeString(w, c.Name)
		case "headline":
			writeString(w, c.Headline)
		case "description":
			writeString(w, c.Description)
		case "callToAction":
			writeString(w, c.CallToAction)
		case "terms":
			writeString(w, c.Terms)
		case "currency":
			writeString(w, c.Currency)
		case "clickURL":
			writeString(w, c.ClickURL)
		case "imageURLs":
			writeList(w, c.ImageURLs, func(u string) bool { writeString(w, u); return true })
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
			writeString(w, e.Name)
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
				writeCursor(w, *c)
			}
		default:
			return false
		}
		return true
	})
}

// writeString writes s as a JSON string, the bytes graphql.MarshalString writes: a string with
// nothing to escape (most of a card's) goes as it is, without the marshaller's allocation.
func writeString(w *bytes.Buffer, s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '\\' || c == '"' {
			graphql.MarshalString(s).MarshalGQL(w)
			return
		}
	}
	w.WriteByte('"')
	w.WriteString(s)
	w.WriteByte('"')
}

// cursorTexts remembers the JSON of offer cursors by offer id: entgql writes a cursor through
// msgpack and a base64 encoder (a score of allocations), and every page writes 50 of them, the
// same ones again and again.
var cursorTexts, _ = lru.New[int, string](1 << 16)

// writeCursor writes c as scalars.MarshalCursor does.
func writeCursor(w *bytes.Buffer, c entgql.Cursor[int]) {
	if c.Value != nil {
		scalars.MarshalCursor(c).MarshalGQL(w)
		return
	}
	if s, ok := cursorTexts.Get(c.ID); ok {
		w.WriteString(s)
		return
	}
	var b bytes.Buffer
	scalars.MarshalCursor(c).MarshalGQL(&b)
	cursorTexts.Add(c.ID, b.String())
	w.Write(b.Bytes())
}
