//go:build !race

package httpapi_test

const slowdown = 1
