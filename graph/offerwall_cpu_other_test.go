//go:build !unix

package graph_test

import "time"

// processCPU is unknown here: the benchmark reports 0 CPU.
func processCPU() time.Duration { return 0 }
