// Package errcode names the kinds of error a client can act on. Domain packages return these;
// the GraphQL error presenter and the HTTP handlers turn them into `extensions.code` and status
// codes, and hide everything else behind INTERNAL.
package errcode

import (
	"errors"
	"fmt"
	"strings"
)

// Code is the machine-readable kind of an error, as sent in `extensions.code`.
type Code string

// The codes a client sees.
const (
	Unauthenticated Code = "UNAUTHENTICATED"
	Forbidden       Code = "FORBIDDEN"
	NotFound        Code = "NOT_FOUND"
	Validation      Code = "VALIDATION"
	Conflict        Code = "CONFLICT"
	Internal        Code = "INTERNAL"
)

// Error is an error a client may see as it is.
type Error struct {
	Code    Code
	Message string
	// Field is the input field at fault, as a path such as "input.trackingLink" or "events[1].eventID".
	Field string
	// Step, when set, is the wizard step (its mutation's name) that would set what is
	// missing, sent as extensions.step; Field still names an argument or input path.
	Step string
	// Err, when set, is the cause, for errors.Is (say, money.ErrInvalidDecimal); clients see
	// only Message.
	Err error
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

func (e *Error) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Message
	}
	return e.Message
}

// New makes an Error.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid makes a VALIDATION error for one field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: Validation, Field: field, Message: fmt.Sprintf(format, args...)}
}

// List gathers every invalid field of one input so a form can show them all at once.
type List []*Error

// Add appends a VALIDATION error for field.
func (l *List) Add(field, format string, args ...any) {
	*l = append(*l, Invalid(field, format, args...))
}

// Err returns the list as an error, or nil when it is empty.
func (l List) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

func (l List) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

// As finds an *Error in err's chain.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
