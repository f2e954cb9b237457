// Package money holds amounts as integer micro-units so that sums of payouts and budgets are exact;
// floats never touch money.
package money

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/gokart/gokart/internal/errcode"
)

// Scale is the number of micro-units in one unit of currency.
const Scale = 1_000_000

// Micros is an amount in millionths of a currency unit. In GraphQL it is the Decimal scalar: a
// string such as "12.50", so that clients never round it through a float either.
type Micros int64

// ErrInvalidDecimal is returned for anything that is not a plain decimal number.
var ErrInvalidDecimal = errors.New("must be a decimal number such as 12.50 with at most 6 decimal places")

// Parse reads a plain decimal string ("12", "-3.5", "0.000001"). Exponents, more than six
// decimal places and values beyond ±9 trillion are rejected rather than rounded.
func Parse(s string) (Micros, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, ErrInvalidDecimal
	}
	neg := false
	switch s[0] {
	case '-':
		neg, s = true, s[1:]
	case '+':
		s = s[1:]
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" && frac == "" || hasDot && frac == "" && whole == "" || len(frac) > 6 {
		return 0, ErrInvalidDecimal
	}
	if whole == "" {
		whole = "0"
	}
	if !digits(whole) || !digits(frac) {
		return 0, ErrInvalidDecimal
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w > math.MaxInt64/Scale-1 {
		return 0, ErrInvalidDecimal
	}
	f := int64(0)
	if frac != "" {
		f, _ = strconv.ParseInt(frac+strings.Repeat("0", 6-len(frac)), 10, 64)
	}
	v := w*Scale + f
	if neg {
		v = -v
	}
	return Micros(v), nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String prints the exact decimal with at least two decimal places, as amounts of money are
// written: 12500000 → "12.50", 0 → "0.00", 1 → "0.000001".
func (m Micros) String() string {
	v := int64(m)
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	whole, frac := v/Scale, v%Scale
	fs := strings.TrimRight(fmt.Sprintf("%06d", frac), "0")
	for len(fs) < 2 {
		fs += "0"
	}
	return sign + strconv.FormatInt(whole, 10) + "." + fs
}

// MarshalGQL writes the amount as a JSON string.
func (m Micros) MarshalGQL(w io.Writer) {
	_, _ = io.WriteString(w, strconv.Quote(m.String()))
}

// UnmarshalGQL accepts a decimal string; integers are accepted too because they are exact
// (a JSON number only when it is written as an integer). Anything else is the client's
// VALIDATION error, which the error presenter names by its input path.
func (m *Micros) UnmarshalGQL(v any) error {
	var s string
	switch t := v.(type) {
	case string:
		s = t
	case int:
		s = strconv.Itoa(t)
	case int64:
		s = strconv.FormatInt(t, 10)
	case json.Number:
		if _, err := strconv.ParseInt(string(t), 10, 64); err != nil {
			return invalid(ErrInvalidDecimal.Error() + ", as a string")
		}
		s = string(t)
	default:
		return invalid(ErrInvalidDecimal.Error() + ", as a string")
	}
	p, err := Parse(s)
	if err != nil {
		return invalid(err.Error())
	}
	*m = p
	return nil
}

func invalid(msg string) error {
	return &errcode.Error{Code: errcode.Validation, Message: msg, Err: ErrInvalidDecimal}
}
