package targeting

import (
	"net/netip"
	"slices"
	"sync"

	"github.com/medama-io/go-useragent"
	"github.com/medama-io/go-useragent/agents"
	"github.com/phuslu/iploc"
)

// CountryOf is the ISO 3166-1 alpha-2 country of a client address, from the IP-to-country
// table embedded in the binary (github.com/phuslu/iploc, refreshed with each release); "" for
// private, loopback and unknown addresses.
func CountryOf(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return ""
	}
	c := iploc.IPCountry(addr.Unmap())
	if !KnownCountry(c) {
		return ""
	}
	return c
}

var uaParser = sync.OnceValue(useragent.NewParser)

// PlatformOf is the platform of a User-Agent: iOS and Android devices, macOS computers, and any
// other desktop browser. ok is false when the agent is a bot or names no known system.
func PlatformOf(userAgent string) (p Platform, ok bool) {
	ua := uaParser().Parse(userAgent)
	switch {
	case ua.Device() == agents.DeviceBot:
		return "", false
	case ua.OS() == agents.OSIOS:
		return IOS, true
	case ua.OS() == agents.OSAndroid:
		return Android, true
	case ua.OS() == agents.OSMacOS:
		return MacOS, true
	case ua.Device() == agents.DeviceDesktop || ua.OS() != "":
		return Browser, true
	}
	return "", false
}

// Miss names what of an offer's targeting a member falls outside: "country", "platform" or ""
// when the offer may be shown. Empty lists target everyone.
func Miss(countries []string, platforms []Platform, country string, platform Platform) string {
	if len(countries) > 0 && (country == "" || !slices.Contains(countries, country)) {
		return "country"
	}
	if len(platforms) > 0 && (platform == "" || !slices.Contains(platforms, platform)) {
		return "platform"
	}
	return ""
}
