package bulk_test

import (
	"context"
	"fmt"
	"io"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gokart/gokart/internal/accounts"
	"github.com/gokart/gokart/internal/bulk"
	"github.com/gokart/gokart/internal/dbtest"
)

// BenchmarkExportConversions exports 2 000 and 8 000 rows: allocations and bytes per row, and
// the peak of live heap during the export, stay flat as the export grows (one row in memory at
// a time, one chunk of 1 000 per statement).
//
//	go test ./internal/bulk -run '^$' -bench ExportConversions -benchmem
func BenchmarkExportConversions(b *testing.B) {
	for _, dialectName := range []string{"sqlite3", "postgres"} {
		db := dbtest.Open(b, dialectName)
		keys, err := accounts.Create(context.Background(), db.Client, "bench")
		if err != nil {
			b.Fatal(err)
		}
		seed(b, db, keys.ID, 8000, "b")
		for _, rows := range []int{2000, 8000} {
			b.Run(dialectName+"/rows="+strconv.Itoa(rows), func(b *testing.B) {
				f := bulk.ExportFilter{AccountID: keys.ID, From: t0, To: t0.Add(time.Duration(rows) * time.Minute)}
				if err := f.Normalize(time.Now()); err != nil {
					b.Fatal(err)
				}
				peak := watchHeap()
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					n, err := bulk.ExportConversions(context.Background(), db.SQL, f, io.Discard, nil)
					if err != nil || n != rows {
						b.Fatalf("exported %d rows: %v", n, err)
					}
				}
				b.StopTimer()
				heapPeak := peak()
				b.ReportMetric(float64(testing.AllocsPerRun(1, func() {
					_, _ = bulk.ExportConversions(context.Background(), db.SQL, f, io.Discard, nil)
				}))/float64(rows), "allocs/row")
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
				b.ReportMetric(float64(heapPeak)/1024, "peak-heap-KB")
			})
		}
	}
}

// watchHeap samples the live heap every millisecond until the returned function stops it and
// returns the highest sample.
func watchHeap() func() uint64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var (
		mu   sync.Mutex
		peak uint64
		stop = make(chan struct{})
		done = make(chan struct{})
	)
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			mu.Lock()
			peak = max(peak, sample[0].Value.Uint64())
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 {
		close(stop)
		<-done
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}

// BenchmarkImportStatuses imports 2 000 lines that alternate every conversion between
// APPROVED and REVERSED (so each line is a real change with history, spend and callbacks):
// allocations and bytes per line, and the peak of live heap.
//
//	go test ./internal/bulk -run '^$' -bench ImportStatuses -benchmem
func BenchmarkImportStatuses(b *testing.B) {
	const lines = 2000
	for _, dialectName := range []string{"sqlite3", "postgres"} {
		b.Run(dialectName, func(b *testing.B) {
			db := dbtest.Open(b, dialectName)
			keys, err := accounts.Create(context.Background(), db.Client, "bench")
			if err != nil {
				b.Fatal(err)
			}
			seed(b, db, keys.ID, lines, "i")
			files := [2]string{}
			for k, status := range []string{"APPROVED", "REVERSED"} {
				var in strings.Builder
				in.WriteString("network_conversion_id,status,reason\n")
				for i := 0; i < lines; i++ {
					fmt.Fprintf(&in, "i-%d,%s,bench\n", i, status)
				}
				files[k] = in.String()
			}
			peak := watchHeap()
			b.ReportAllocs()
			b.ResetTimer()
			for n := 0; n < b.N; n++ {
				sum, err := bulk.ImportStatuses(context.Background(), db.Client, db.Dialect, keys.ID, strings.NewReader(files[n%2]), io.Discard, nil)
				if err != nil || sum.Failed != 0 {
					b.Fatalf("import: %+v %v", sum, err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(peak())/1024, "peak-heap-KB")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*lines), "ns/line")
		})
	}
}
