package storage

import "time"

// SetReplanAfter sets how long prepared statements serve (tests) and returns the undo.
func SetReplanAfter(d time.Duration) (restore func()) {
	old := replanAfter
	replanAfter = d
	return func() { replanAfter = old }
}
