package graph_test

import (
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/gokart/gokart/graph/generated"
)

// TestEveryTypeFieldArgumentAndEnumValueIsDescribed keeps the playground's documentation
// complete: the schema is the API reference frontend developers read.
func TestEveryTypeFieldArgumentAndEnumValueIsDescribed(t *testing.T) {
	t.Parallel()
	s := generated.NewExecutableSchema(generated.Config{}).Schema()
	var missing []string
	for name, def := range s.Types {
		if strings.HasPrefix(name, "__") || def.BuiltIn {
			continue
		}
		if strings.TrimSpace(def.Description) == "" {
			missing = append(missing, "type "+name)
		}
		for _, f := range def.Fields {
			if strings.HasPrefix(f.Name, "__") {
				continue
			}
			if strings.TrimSpace(f.Description) == "" {
				missing = append(missing, name+"."+f.Name)
			}
			for _, a := range f.Arguments {
				if strings.TrimSpace(a.Description) == "" {
					missing = append(missing, name+"."+f.Name+"("+a.Name+")")
				}
			}
		}
		if def.Kind == ast.Enum {
			for _, v := range def.EnumValues {
				if strings.TrimSpace(v.Description) == "" {
					missing = append(missing, name+"."+v.Name)
				}
			}
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d schema elements have no description, e.g. %v", len(missing), missing[:min(len(missing), 40)])
	}
}
