package httpapi_test

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// blackhole is a loopback TCP proxy that can go silent: once stalled, every connection stays
// open and takes what it is sent, but nothing reaches the database and nothing comes back,
// which is what a database behind a dead network path looks like to lib/pq.
type blackhole struct {
	ln      net.Listener
	target  string
	stalled atomic.Bool
	mu      sync.Mutex
	conns   []net.Conn
}

func startBlackhole(t testing.TB, target string) *blackhole {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &blackhole{ln: ln, target: target}
	t.Cleanup(b.close)
	go b.accept()
	return b
}

func (b *blackhole) Addr() string { return b.ln.Addr().String() }

// Stall stops forwarding in both directions without closing anything.
func (b *blackhole) Stall() { b.stalled.Store(true) }

// Resume forwards again (on connections opened after the stall too).
func (b *blackhole) Resume() { b.stalled.Store(false) }

func (b *blackhole) accept() {
	for {
		c, err := b.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", b.target)
		if err != nil {
			c.Close()
			continue
		}
		b.mu.Lock()
		b.conns = append(b.conns, c, up)
		b.mu.Unlock()
		go b.pipe(up, c)
		go b.pipe(c, up)
	}
}

// pipe copies src to dst, swallowing what it reads while stalled.
func (b *blackhole) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !b.stalled.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			dst.Close()
			return
		}
	}
}

func (b *blackhole) close() {
	b.ln.Close()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range b.conns {
		c.Close()
	}
}
