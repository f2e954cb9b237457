package catalogue

import (
	"fmt"
	"io"
	"strconv"
)

// Values lists every code in dropdown order; Ent uses it as the integration_system enum, so the
// catalogue is the one list of systems.
func (Code) Values() []string {
	vs := make([]string, len(catalogue))
	for i, s := range catalogue {
		vs[i] = string(s.Code)
	}
	return vs
}

// MarshalGQL writes the code as a GraphQL enum value.
func (c Code) MarshalGQL(w io.Writer) { _, _ = io.WriteString(w, strconv.Quote(string(c))) }

// UnmarshalGQL reads a GraphQL enum value, refusing codes the catalogue does not know.
func (c *Code) UnmarshalGQL(v any) error {
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("integration system must be a string, got %T", v)
	}
	if _, known := Lookup(Code(s)); !known {
		return fmt.Errorf("%q is not a known integration system", s)
	}
	*c = Code(s)
	return nil
}
