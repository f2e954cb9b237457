// Package targeting holds the vocabulary of offer targeting (platforms, the checks on country
// codes that the wizard's budget-and-targeting step validates) and tells a member's country
// and platform from a click's address and User-Agent (member.go).
package targeting

import (
	"fmt"
	"io"
	"strconv"
)

// Platform is a device family an offer may be shown on.
type Platform string

// The platforms an offer can target.
const (
	IOS     Platform = "IOS"
	Android Platform = "ANDROID"
	MacOS   Platform = "MACOS"
	Browser Platform = "BROWSER"
)

// Platforms lists every platform in display order.
var Platforms = []Platform{IOS, Android, MacOS, Browser}

// Valid reports whether p is one of Platforms.
func (p Platform) Valid() bool {
	for _, q := range Platforms {
		if p == q {
			return true
		}
	}
	return false
}

// MarshalGQL writes the enum value.
func (p Platform) MarshalGQL(w io.Writer) { _, _ = io.WriteString(w, strconv.Quote(string(p))) }

// UnmarshalGQL reads an enum value.
func (p *Platform) UnmarshalGQL(v any) error {
	s, ok := v.(string)
	if !ok || !Platform(s).Valid() {
		return fmt.Errorf("%v is not a valid Platform", v)
	}
	*p = Platform(s)
	return nil
}
