package errcode

import (
	"errors"
	"fmt"
	"net/http"
)

// Refusal is a request that one of our rules refused: a click the offer does not take, or a
// conversion that a budget, cap or lifecycle rule refuses. Rule is machine-readable: it is a
// refused postback's 409 body and a rejected conversion's reason.
type Refusal struct {
	Rule string
	// Status is the HTTP status a route answers it with.
	Status int
	// Detail says it for people; Rule when empty.
	Detail string
	// Redirect, when set, is where a route that can redirect sends the caller instead (a
	// refused click's fallback URL, reason included).
	Redirect string
}

func (r *Refusal) Error() string {
	if r.Detail != "" {
		return r.Detail
	}
	return "refused by rule " + r.Rule
}

// Refuse makes a Refusal of rule, answered with status.
func Refuse(status int, rule, format string, args ...any) *Refusal {
	return &Refusal{Rule: rule, Status: status, Detail: fmt.Sprintf(format, args...)}
}

// RefuseRule makes the Refusal of a conversion rule: 409, the rule its own detail.
func RefuseRule(rule string) *Refusal {
	return &Refusal{Rule: rule, Status: http.StatusConflict}
}

// AsRefusal finds a *Refusal in err's chain.
func AsRefusal(err error) (*Refusal, bool) {
	var r *Refusal
	ok := errors.As(err, &r)
	return r, ok
}
