//go:build unix

package graph_test

import (
	"syscall"
	"time"
)

// processCPU is the CPU time this process has used (user and system): the server and the
// benchmark's clients, not the database.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
