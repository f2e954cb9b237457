//go:build ignore

package main

import (
	"fmt"
	"strings"

	"entgo.io/ent/entc/gen"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/gokart/gokart/internal/catalogue"
)

// enumValues describes the values of the enums Ent generates; the playground shows them.
var enumValues = map[string]map[string]string{
	"OfferType": {
		"SINGLE_EVENT": "The offer tracks one event; its conversions need no `cnv_event_id`.",
		"MULTI_EVENT":  "The offer tracks several events, told apart by `cnv_event_id`.",
	},
	"OfferStatus": {
		"DRAFT":  "Being built in the wizard; takes no clicks.",
		"ACTIVE": "Published: takes clicks and conversions.",
		"PAUSED": "Takes no new clicks; conversions of earlier clicks still count.",
		"ENDED":  "Closed for good: no clicks, no conversions.",
	},
	"ConversionStatus": {
		"PENDING":  "Reported by the network, not yet approved; counts against budgets and caps.",
		"APPROVED": "Approved by the network; counts against budgets and caps.",
		"REVERSED": "Reversed by the network (e.g. a refund); gives its budget back.",
		"REJECTED": "Refused by one of our rules (cap, budget, one per member, offer ended); kept with the reason.",
	},
	"StatusChangeSource": {
		"POSTBACK": "A network's postback changed it.",
		"MANUAL":   "A person changed it with updateConversionStatus.",
		"AUTO":     "gokart approved it itself: it was PENDING longer than its offer's (or account's) autoApproveAfter.",
	},
	"PayoutType": {
		"FIXED":   "The event pays a fixed amount, its payout.",
		"PERCENT": "The event pays a percentage of the sale amount (revenue share), at most its cap.",
	},
	"ConversionChangeKind": {
		"STATUS":   "The status changed.",
		"MODIFIED": "The network changed the action's amount or payout; the step keeps the values before and after.",
	},
	"PostbackOutcome": {
		"ACCEPTED":       "A new conversion was recorded.",
		"DUPLICATE":      "The same conversion was reported again; nothing changed.",
		"STATUS_UPDATED": "An existing conversion changed status.",
		"REJECTED":       "A rule refused the conversion; it was kept as REJECTED.",
		"MALFORMED":      "A parameter was missing or invalid.",
		"UNAUTHORIZED":   "The postback key was missing or wrong, or the caller's address is not allowed.",
		"NOT_FOUND":      "The click id or the event is unknown.",
		"ERROR":          "We could not process it; the network should retry.",
		"REPEAT_REFUSED": "A warning: a new network conversion id on a click and event that converted already, on an event without allowRepeats; refused (409 repeat_conversion), nothing recorded.",
		"MODIFIED":       "An existing conversion's amount or payout changed (a modified action); answered 200 updated.",
	},
}

// predicates phrase the where-input fields entgql generates, longest suffix first.
var predicates = []struct{ suffix, phrase string }{
	{"ContainsFold", "contains the value, ignoring case"},
	{"EqualFold", "equals the value, ignoring case"},
	{"HasPrefix", "starts with the value"},
	{"HasSuffix", "ends with the value"},
	{"Contains", "contains the value"},
	{"IsNil", "is null"},
	{"NotNil", "is not null"},
	{"NotIn", "is none of the values"},
	{"NEQ", "is not equal to the value"},
	{"GTE", "is greater than or equal to the value"},
	{"LTE", "is less than or equal to the value"},
	{"In", "is one of the values"},
	{"GT", "is greater than the value"},
	{"LT", "is less than the value"},
}

// describeAll fills the descriptions entgql leaves empty, so that every type, field, argument
// and enum value of the API is documented (a test checks it).
func describeAll(g *gen.Graph, s *ast.Schema) error {
	if err := describeTypes(g, s); err != nil {
		return err
	}
	for _, sys := range catalogue.All() {
		if enumValues["IntegrationSystem"] == nil {
			enumValues["IntegrationSystem"] = map[string]string{}
		}
		enumValues["IntegrationSystem"][string(sys.Code)] = sys.DisplayName
	}
	for _, n := range g.Nodes {
		def := s.Types[n.Name]
		if def == nil {
			continue
		}
		for _, f := range def.Fields {
			if f.Name == "id" && f.Description == "" {
				f.Description = fmt.Sprintf("The global id of this %s: unique across every type, usable with `node(id:)`.", n.Name)
			}
		}
		for _, e := range n.Edges {
			if f := def.Fields.ForName(camel(e.Name)); f != nil && f.Description == "" {
				f.Description = e.Comment()
			}
		}
		if q := s.Types["Query"]; q != nil {
			plural := lowerFirst(pluralize(n.Name))
			if f := q.Fields.ForName(plural); f != nil && f.Description == "" {
				f.Description = fmt.Sprintf("The viewer's %s, as a Relay connection with filters and ordering (at most 100 a page, 20 by default).", splitWords(pluralize(n.Name)))
			}
		}
	}
	if q := s.Types["Query"]; q != nil && q.Description == "" {
		q.Description = "Queries: everything a frontend reads, scoped to the account of the API key in use."
	}
	for name, def := range s.Types {
		switch {
		case def.Kind == ast.Enum && strings.HasSuffix(name, "OrderField"):
			for _, v := range def.EnumValues {
				if v.Description == "" {
					v.Description = fmt.Sprintf("Order by %s.", strings.ToLower(strings.ReplaceAll(v.Name, "_", " ")))
				}
			}
		case def.Kind == ast.Enum:
			for _, v := range def.EnumValues {
				if v.Description == "" {
					v.Description = enumValues[name][v.Name]
				}
				if v.Description == "" {
					return fmt.Errorf("enum value %s.%s has no description: add it to enumValues in ent/describe.go", name, v.Name)
				}
			}
		case def.Kind == ast.InputObject && strings.HasSuffix(name, "WhereInput"):
			for _, f := range def.Fields {
				if f.Description == "" || strings.HasSuffix(f.Description, " field predicates") {
					f.Description = wherePhrase(f.Name)
				}
			}
		}
	}
	return nil
}

func wherePhrase(field string) string {
	switch field {
	case "not":
		return "Matches what the given filter does not match."
	case "and":
		return "Matches what all of the given filters match."
	case "or":
		return "Matches what any of the given filters matches."
	}
	if edge, ok := strings.CutPrefix(field, "has"); ok && edge != "" && edge[0] >= 'A' && edge[0] <= 'Z' {
		if e, with := strings.CutSuffix(edge, "With"); with {
			return fmt.Sprintf("Matches when some %s matches the given filters.", lowerFirst(e))
		}
		return fmt.Sprintf("Matches when the %s edge exists (true) or not (false).", lowerFirst(edge))
	}
	for _, p := range predicates {
		if base, ok := strings.CutSuffix(field, p.suffix); ok && base != "" {
			return fmt.Sprintf("Matches when %s %s.", base, p.phrase)
		}
	}
	return fmt.Sprintf("Matches when %s equals the value.", field)
}

func lowerFirst(s string) string { return strings.ToLower(s[:1]) + s[1:] }

// camel turns an Ent edge name (snake case) into its GraphQL field name.
func camel(s string) string {
	parts := strings.Split(s, "_")
	for i := 1; i < len(parts); i++ {
		parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
	}
	return strings.Join(parts, "")
}

func pluralize(s string) string {
	if strings.HasSuffix(s, "s") {
		return s + "es"
	}
	return s + "s"
}

// splitWords turns "OfferEvents" into "offer events".
func splitWords(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte(' ')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}
