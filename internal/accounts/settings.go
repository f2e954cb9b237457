package accounts

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/internal/errcode"
	"github.com/gokart/gokart/internal/lifecycle"
	"github.com/gokart/gokart/internal/links"
)

// UpdateInput changes an account's own settings; fields left nil stay as they are. An empty
// PostbackAllowlist (not nil) clears the list, which allows postbacks from any address.
type UpdateInput struct {
	Name              *string
	TimeZone          *string
	PostbackAllowlist []string
	FallbackURL       *string
	// AutoApproveAfter is the maturing period: left out (unset) it stays, null clears it (never).
	AutoApproveAfter graphql.Omittable[*lifecycle.Period]
}

const maxName = 200

// Update changes the settings of account id: sanitized (trimmed, CIDRs in canonical form), then
// every field validated, so a form can mark all its faults at once, then saved.
func Update(ctx context.Context, c *ent.Client, id int, in UpdateInput) (*ent.Account, error) {
	upd := c.Account.UpdateOneID(id)
	var errs errcode.List
	if in.Name != nil {
		name := strings.TrimSpace(*in.Name)
		switch {
		case name == "":
			errs.Add("input.name", "must not be empty")
		case len(name) > maxName:
			errs.Add("input.name", "must be at most %d characters", maxName)
		}
		upd.SetName(name)
	}
	if in.TimeZone != nil {
		tz := strings.TrimSpace(*in.TimeZone)
		if err := CheckTimeZone(tz); err != nil {
			errs.Add("input.timeZone", "%s", err)
		}
		upd.SetTimeZone(tz)
	}
	if in.PostbackAllowlist != nil {
		cidrs := make([]string, 0, len(in.PostbackAllowlist))
		for i, s := range in.PostbackAllowlist {
			p, err := ParseCIDR(s)
			if err != nil {
				errs.Add(fmt.Sprintf("input.postbackAllowlist[%d]", i), "%s", err)
				continue
			}
			cidrs = append(cidrs, p.String())
		}
		upd.SetPostbackAllowlist(cidrs)
	}
	if in.FallbackURL != nil {
		u := strings.TrimSpace(*in.FallbackURL)
		if u != "" && !links.IsAbsoluteHTTP(u) {
			errs.Add("input.fallbackURL", "must be an absolute http or https URL, or empty for none")
		}
		upd.SetFallbackURL(u)
	}
	if p, set := in.AutoApproveAfter.ValueOK(); set {
		if p == nil {
			upd.ClearAutoApproveAfter()
		} else if err := p.Check(); err != nil {
			errs.Add("input.autoApproveAfter", "%s", err)
		} else {
			upd.SetAutoApproveAfter(*p)
		}
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	acc, err := upd.Save(ctx)
	if ent.IsNotFound(err) {
		return nil, &errcode.Error{Code: errcode.NotFound, Message: "no such account"}
	}
	if err != nil {
		return nil, fmt.Errorf("update account %d: %w", id, err)
	}
	return acc, nil
}

// CheckTimeZone accepts IANA zone names such as Europe/Berlin and UTC. "Local" is refused: it
// would mean each server's own zone, so replicas would draw report days differently.
func CheckTimeZone(tz string) error {
	if tz == "" || strings.EqualFold(tz, "Local") {
		return fmt.Errorf("must be an IANA time zone such as Europe/Berlin or UTC")
	}
	if _, err := time.LoadLocation(tz); err != nil {
		return fmt.Errorf("%q is not an IANA time zone such as Europe/Berlin or UTC", tz)
	}
	return nil
}

// ParseCIDR reads one postback allowlist entry: a CIDR such as 203.0.113.0/24, or a single
// address, which stands for itself (/32 or /128).
func ParseCIDR(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	return netip.Prefix{}, fmt.Errorf("%q is not a CIDR such as 203.0.113.0/24 or an IP address", s)
}
