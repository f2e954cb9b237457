//go:build race

package httpapi_test

// The race detector slows the server several times over; wall-clock bounds scale with it.
const slowdown = 10
