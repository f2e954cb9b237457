// Package unmatched records the postbacks that belong to no account (a missing or unknown
// key): not one row each, which would let anyone grow the database unseen by every tenant,
// but one counted row per source address, reason and hour, keeping the first request's query
// as a sample. It is the only writer of unmatched_postbacks; package retention prunes it.
package unmatched

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/gokart/gokart/ent"
	"github.com/gokart/gokart/ent/unmatchedpostback"
)

// MaxSample bounds the sample query kept per row.
const MaxSample = 2 << 10

// Record counts one account-less postback. rawQuery must have its key redacted already.
func Record(ctx context.Context, c *ent.Client, sourceIP, reason, rawQuery string, at time.Time) error {
	err := c.UnmatchedPostback.Create().
		SetSourceIP(Source(sourceIP)).SetReason(clip(reason, 100)).SetHour(at.UTC().Truncate(time.Hour)).
		SetSampleQuery(clip(rawQuery, MaxSample)).SetLastSeen(at).
		OnConflictColumns(unmatchedpostback.FieldSourceIP, unmatchedpostback.FieldReason, unmatchedpostback.FieldHour).
		AddCount(1).UpdateLastSeen().
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("count unmatched postback: %w", err)
	}
	return nil
}

// Source is the address a row is kept under: an IPv6 caller's /64 (one subscriber holds a
// whole /64, so counting its addresses apart would be a row per request again).
func Source(ip string) string {
	if a, err := netip.ParseAddr(ip); err == nil && a.Is6() && !a.Is4In6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return clip(ip, 64)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
