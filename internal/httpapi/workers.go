package httpapi

import (
	"sync/atomic"
	"time"
)

// handlers runs the deadline wrapper's handlers (withDeadlines) on goroutines that outlive one
// request. A handler on a new goroutine starts on a small stack and grows it by copying as it
// goes down through the driver (database/sql, lib/pq, ent): copying stacks was 6 % of the
// server's CPU under postbacks (cmd/gokart-bench's profile, runtime.copystack). A goroutine that
// served one keeps its grown stack for the next. A request never waits for one: when none is
// idle, a new one starts; one idle for workerIdle ends.
var handlers = &workers{work: make(chan func())}

// workerIdle is how long an idle handler goroutine waits for the next request.
const workerIdle = 10 * time.Second

type workers struct {
	work chan func()
	// started counts the goroutines started, for tests.
	started atomic.Int64
}

// run runs f on an idle worker, or on a new one.
func (p *workers) run(f func()) {
	select {
	case p.work <- f:
	default:
		p.started.Add(1)
		go p.serve(f)
	}
}

// serve runs f, then what run hands it, until it has been idle for workerIdle. f must not panic
// (the deadline wrapper recovers in f).
func (p *workers) serve(f func()) {
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for {
		f()
		f = nil // let the request's closure go while waiting
		idle.Reset(workerIdle)
		select {
		case f = <-p.work:
		case <-idle.C:
			return
		}
	}
}
