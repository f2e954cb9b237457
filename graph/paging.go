package graph

import "github.com/gokart/gokart/internal/errcode"

// Page sizes of every connection: a client that asks for nothing gets DefaultPageSize, and no
// client gets more than MaxPageSize in one request.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// pageSize applies the default and the maximum to first/last.
func pageSize(first, last *int) (*int, *int, error) {
	for name, n := range map[string]*int{"first": first, "last": last} {
		if n != nil && (*n < 0 || *n > MaxPageSize) {
			return nil, nil, errcode.Invalid(name, "must be between 0 and %d", MaxPageSize)
		}
	}
	if first == nil && last == nil {
		n := DefaultPageSize
		first = &n
	}
	return first, last, nil
}
