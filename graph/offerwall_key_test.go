package graph_test

import (
	"strings"
	"testing"

	"github.com/gokart/gokart/internal/apitest"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/storage"
)

type introType struct {
	Kind   string
	Name   *string
	OfType *introType
}

type introField struct {
	Name string
	Args []struct {
		Name string
		Type introType
	}
	Type introType
}

type introFullType struct {
	Kind        string
	Name        string
	Fields      []introField
	InputFields []struct {
		Name string
		Type introType
	}
	EnumValues []struct{ Name string }
}

const introspectRoots = `{ __schema { types { kind name
  fields { name args { name type { ...T } } type { ...T } }
  inputFields { name type { ...T } }
  enumValues { name } } } }
fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } }`

// operationFor writes a valid operation calling one root field, with a literal for every
// required argument and __typename as the selection of a composite result.
func operationFor(kind string, f introField, types map[string]introFullType) string {
	var value func(t introType, depth int) string
	value = func(t introType, depth int) string {
		switch t.Kind {
		case "NON_NULL":
			return value(*t.OfType, depth)
		case "LIST":
			return "[" + value(*t.OfType, depth) + "]"
		}
		switch name := *t.Name; {
		case name == "Int" || name == "Float":
			return "1"
		case name == "Boolean":
			return "false"
		case name == "ID":
			return `"1"`
		case name == "Time":
			return `"2026-01-01T00:00:00Z"`
		case name == "Decimal":
			return `"1.00"`
		case types[name].Kind == "ENUM":
			return types[name].EnumValues[0].Name
		case types[name].Kind == "INPUT_OBJECT":
			var fields []string
			for _, in := range types[name].InputFields {
				if in.Type.Kind == "NON_NULL" && depth < 5 {
					fields = append(fields, in.Name+": "+value(in.Type, depth+1))
				}
			}
			return "{" + strings.Join(fields, ", ") + "}"
		}
		return `"x"`
	}
	var args []string
	for _, a := range f.Args {
		if a.Type.Kind == "NON_NULL" {
			args = append(args, a.Name+": "+value(a.Type, 0))
		}
	}
	op := kind + " { " + f.Name
	if len(args) > 0 {
		op += "(" + strings.Join(args, ", ") + ")"
	}
	t := f.Type
	for t.OfType != nil {
		t = *t.OfType
	}
	if k := types[*t.Name].Kind; k == "OBJECT" || k == "INTERFACE" || k == "UNION" {
		op += " { __typename }"
	}
	return op + " }"
}

// TestAPublishableKeyMayOnlyCallTheOfferwall walks every root query field (node and nodes
// included), every mutation and the introspection fields, as the schema has them now, so a new
// field is covered without editing this test: a publishable key gets FORBIDDEN and no data.
func TestAPublishableKeyMayOnlyCallTheOfferwall(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		srv := apitest.Start(t, db)
		k := srv.NewAccount(t, "Wall")
		var made struct {
			CreatePublishableKey struct {
				Secret string
				APIKey struct {
					ID, Prefix  string
					Publishable bool
				}
			}
		}
		srv.GraphQL(t, k.APIKey, `mutation { createPublishableKey(name: "ios app") { secret apiKey { id prefix publishable } } }`, nil).Decode(t, &made)
		pub := made.CreatePublishableKey
		if !strings.HasPrefix(pub.Secret, "gk_pub_") || !strings.HasPrefix(pub.Secret, pub.APIKey.Prefix) || !pub.APIKey.Publishable {
			t.Fatalf("createPublishableKey = %+v", pub)
		}

		var schema struct {
			Schema struct{ Types []introFullType } `json:"__schema"`
		}
		srv.GraphQL(t, k.APIKey, introspectRoots, nil).Decode(t, &schema)
		types := map[string]introFullType{}
		for _, ty := range schema.Schema.Types {
			types[ty.Name] = ty
		}
		ops := map[string]string{
			"__schema": `{ __schema { queryType { name } } }`,
			"__type":   `{ __type(name: "Offer") { name } }`,
		}
		for _, root := range []struct{ kind, typ string }{{"query", "Query"}, {"mutation", "Mutation"}} {
			for _, f := range types[root.typ].Fields {
				if f.Name != "offerwall" {
					ops[root.typ+"."+f.Name] = operationFor(root.kind, f, types)
				}
			}
		}
		for _, must := range []string{"Query.node", "Query.nodes", "Query.offers", "Query.viewer", "Mutation.createAPIKey", "Mutation.revokeAPIKey"} {
			if _, ok := ops[must]; !ok {
				t.Fatalf("introspection did not list %s", must)
			}
		}
		for name, op := range ops {
			r := srv.GraphQL(t, pub.Secret, op, nil)
			if len(r.Errors) != 1 || r.Errors[0].Code() != "FORBIDDEN" || !strings.Contains(string(r.Data), "null") {
				t.Errorf("%s with a publishable key (%s): HTTP %d, data %s, errors %+v; want FORBIDDEN and no data", name, op, r.Status, r.Data, r.Errors)
			}
			// The operation is valid: a secret key is not refused for it.
			if strings.HasPrefix(name, "Query.") || strings.HasPrefix(name, "__") {
				for _, e := range srv.GraphQL(t, k.APIKey, op, nil).Errors {
					if c := e.Code(); c == "FORBIDDEN" || c == "GRAPHQL_VALIDATION_FAILED" || c == "GRAPHQL_PARSE_FAILED" {
						t.Errorf("%s with the secret key: %+v", name, e)
					}
				}
			}
		}
		t.Logf("%d root fields refused to a publishable key", len(ops))

		// A query that mixes the offerwall with another root field gets nothing of the other.
		r := srv.GraphQL(t, pub.Secret, `{ offerwall(member: {pubMemberID: "m1"}) { edges { cursor } } viewer { name postbackURL(system: IMPACT) } }`, nil)
		if len(r.Errors) != 1 || r.Errors[0].Code() != "FORBIDDEN" || strings.Contains(string(r.Data), k.PostbackKey) || strings.Contains(string(r.Data), "Wall") {
			t.Errorf("offerwall with viewer: data %s errors %+v", r.Data, r.Errors)
		}
		// The offerwall itself works; the key is listed and revoked like an API key.
		srv.GraphQL(t, pub.Secret, `{ offerwall(member: {pubMemberID: "m1"}) { edges { cursor } } }`, nil).Decode(t, &struct{}{})
		var list struct {
			APIKeys []struct {
				ID          string
				Publishable bool
			}
		}
		srv.GraphQL(t, k.APIKey, `{ apiKeys { id publishable } }`, nil).Decode(t, &list)
		if len(list.APIKeys) != 2 || list.APIKeys[0].Publishable || !list.APIKeys[1].Publishable || list.APIKeys[1].ID != pub.APIKey.ID {
			t.Errorf("apiKeys = %+v", list.APIKeys)
		}
		srv.GraphQL(t, k.APIKey, `mutation($id: ID!) { revokeAPIKey(id: $id) { revokedAt } }`, map[string]any{"id": pub.APIKey.ID}).Decode(t, &struct{}{})
		if r := srv.GraphQL(t, pub.Secret, `{ offerwall(member: {pubMemberID: "m1"}) { edges { cursor } } }`, nil); r.Status != 401 {
			t.Errorf("a revoked publishable key: HTTP %d", r.Status)
		}
	})
}
