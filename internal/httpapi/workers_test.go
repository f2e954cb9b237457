package httpapi

import (
	"testing"
	"time"
)

// A worker that finished a request takes the next one; a request that finds every worker busy
// starts another at once instead of waiting.
func TestHandlerWorkersAreReusedAndNeverWaitedFor(t *testing.T) {
	p := &workers{work: make(chan func())}
	ran := make(chan struct{})
	p.run(func() { ran <- struct{}{} })
	<-ran
	// The worker is back at its select shortly after f returns.
	deadline := time.Now().Add(5 * time.Second)
	for {
		done := make(chan struct{})
		select {
		case p.work <- func() { close(done) }:
			<-done
		case <-time.After(10 * time.Millisecond):
			if time.Now().After(deadline) {
				t.Fatal("the worker never took a second request")
			}
			continue
		}
		break
	}
	if n := p.started.Load(); n != 1 {
		t.Errorf("%d goroutines started for two requests in a row, want 1", n)
	}

	block := make(chan struct{})
	p.run(func() { <-block })
	second := make(chan struct{})
	p.run(func() { close(second) })
	select {
	case <-second:
	case <-time.After(5 * time.Second):
		t.Fatal("a request waited for a busy worker")
	}
	close(block)
}

//go:noinline
func deep(n int) int {
	var pad [512]byte
	pad[n%512] = byte(n)
	if n == 0 {
		return int(pad[0])
	}
	return deep(n-1) + int(pad[n%512])
}

// BenchmarkHandlerStart is one request's start and end on a handler goroutine whose stack grows
// to about 40 KB (the depth of a postback through ent and lib/pq): a new goroutine per request,
// as withDeadlines had, against the workers it has now.
func BenchmarkHandlerStart(b *testing.B) {
	handler := func(done chan struct{}) func() { return func() { deep(64); done <- struct{}{} } }
	b.Run("new goroutine", func(b *testing.B) {
		done := make(chan struct{})
		f := handler(done)
		for range b.N {
			go f()
			<-done
		}
	})
	b.Run("workers", func(b *testing.B) {
		p := &workers{work: make(chan func())}
		done := make(chan struct{})
		f := handler(done)
		for range b.N {
			p.run(f)
			<-done
		}
	})
}
