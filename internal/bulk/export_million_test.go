package bulk_test

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/gokart/gokart/ent/offerevent"
	"github.com/gokart/gokart/internal/apitest"
	"github.com/gokart/gokart/internal/dbtest"
)

// The case: an export of 1 000 000 conversions stays in constant memory. Opt-in
// (GOKART_EXPORT_1M=1, PostgreSQL): the prefill and the export take minutes. The server runs
// in this process, so the process's heap and RSS are the server's plus the test's reader.
func TestExportMillionConversionsInConstantMemory(t *testing.T) {
	if os.Getenv("GOKART_EXPORT_1M") == "" {
		t.Skip("set GOKART_EXPORT_1M=1 to export 1 000 000 conversions (PostgreSQL, minutes)")
	}
	// GOKART_EXPORT_ROWS sets another count, for a quicker check of the test itself.
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("GOKART_EXPORT_ROWS")); err == nil && v > 0 {
		n = v
	}
	db := dbtest.Open(t, dialect.Postgres)
	srv := apitest.Start(t, db)
	keys := srv.NewAccount(t, "Million")
	o := seed(t, db, keys.ID, 0, "m")
	ev := db.Client.OfferEvent.Query().Where(offerevent.OfferID(o.ID)).OnlyX(sys)
	start := time.Now()
	dbtest.Prefill(t, db.SQL, keys.ID, o.ID, ev.ID, n, n)
	t.Logf("prefill of %d clicks and conversions: %s", n, time.Since(start).Round(time.Millisecond))

	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	baseRSS := rss(t)
	var (
		mu       sync.Mutex
		peakHeap uint64
		peakRSS  = baseRSS
		done     = make(chan struct{})
		sampled  sync.WaitGroup
	)
	sampled.Add(1)
	go func() {
		defer sampled.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				r := rss(t)
				mu.Lock()
				peakHeap, peakRSS = max(peakHeap, m.HeapInuse), max(peakRSS, r)
				mu.Unlock()
			}
		}
	}()

	start = time.Now()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/export/conversions.csv", nil)
	req.Header.Set("Authorization", "Bearer "+keys.APIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("export: HTTP %d", resp.StatusCode)
	}
	// Count lines as they stream, keeping none.
	lines, bytesRead := 0, int64(0)
	br := bufio.NewReaderSize(resp.Body, 64<<10)
	buf := make([]byte, 64<<10)
	for {
		k, err := br.Read(buf)
		lines += bytes.Count(buf[:k], []byte{'\n'})
		bytesRead += int64(k)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	close(done)
	sampled.Wait()

	if lines != n+1 {
		t.Fatalf("%d lines, want %d rows and a header", lines, n)
	}
	heapGrowth := int64(peakHeap) - int64(base.HeapInuse)
	rssGrowth := int64(peakRSS) - int64(baseRSS)
	t.Logf("exported %d rows (%d MB) in %s (%.0f rows/s); heap in use %d MB → peak %d MB (growth %d MB); RSS %d MB → peak %d MB (growth %d MB)",
		n, bytesRead>>20, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(),
		base.HeapInuse>>20, peakHeap>>20, heapGrowth>>20, baseRSS>>20, peakRSS>>20, rssGrowth>>20)
	if rssGrowth > 50<<20 || heapGrowth > 50<<20 {
		t.Errorf("memory grew by %d MB RSS and %d MB heap during the export, want under 50 MB", rssGrowth>>20, heapGrowth>>20)
	}
}

// rss is the process's resident set size in bytes (Linux /proc).
func rss(t *testing.T) uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}
