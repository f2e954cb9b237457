package lifecycle

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/gokart/gokart/internal/errcode"
)

// Period is how long a PENDING conversion waits before gokart approves it itself (maturing):
// for networks such as Impact that never send an approval. It is stored in whole seconds and
// written like 30d, 36h or 90m; the zero Period is "never".
type Period int64

// MaxPeriod is the longest maturing period: a year covers every network's locking period.
const MaxPeriod = Period(365 * 24 * 60 * 60)

// PeriodOf converts a duration, rounded down to the second.
func PeriodOf(d time.Duration) Period { return Period(d / time.Second) }

// Duration is the period as a time.Duration.
func (p Period) Duration() time.Duration { return time.Duration(p) * time.Second }

// ParsePeriod reads 30d (days), or anything time.ParseDuration reads (720h, 90m, 1h30m).
func ParsePeriod(s string) (Period, error) {
	s = strings.TrimSpace(s)
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseInt(d, 10, 64)
		if err != nil || n < 0 || n > int64(MaxPeriod)/86400+1 {
			return 0, fmt.Errorf("want a period such as 30d or 720h, got %q", s)
		}
		return Period(n * 86400), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("want a period such as 30d or 720h, got %q", s)
	}
	return PeriodOf(d), nil
}

// Check refuses periods that are not positive or longer than MaxPeriod.
func (p Period) Check() error {
	switch {
	case p <= 0:
		return fmt.Errorf("must be positive, such as 30d or 720h (null for never)")
	case p > MaxPeriod:
		return fmt.Errorf("must be at most 365d")
	}
	return nil
}

// String writes the period in days when it is whole days (30d), else as a Go duration (36h0m0s).
func (p Period) String() string {
	if p != 0 && p%86400 == 0 {
		return strconv.FormatInt(int64(p)/86400, 10) + "d"
	}
	return p.Duration().String()
}

// MarshalGQL writes the period as a GraphQL string such as "30d".
func (p Period) MarshalGQL(w io.Writer) { _, _ = io.WriteString(w, strconv.Quote(p.String())) }

// UnmarshalGQL reads a period given as a string such as "30d" or "720h".
func (p *Period) UnmarshalGQL(v any) error {
	s, ok := v.(string)
	if !ok {
		return &errcode.Error{Code: errcode.Validation, Message: `want a period as a string such as "30d" or "720h"`}
	}
	x, err := ParsePeriod(s)
	if err != nil {
		return &errcode.Error{Code: errcode.Validation, Message: err.Error()}
	}
	*p = x
	return nil
}
