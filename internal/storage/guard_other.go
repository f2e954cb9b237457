//go:build !linux

package storage

import (
	"syscall"
	"time"
)

// setUserTimeout is Linux only; elsewhere keepalive and the context watch still apply.
func setUserTimeout(time.Duration) func(network, address string, c syscall.RawConn) error {
	return nil
}
