package clicks

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/gokart/gokart/ent/offer"
	"github.com/gokart/gokart/internal/accounts"
	"github.com/gokart/gokart/internal/budget"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/storage"
	"github.com/gokart/gokart/internal/viewer"
)

// BenchmarkBatchedClicksOnPostgres records clicks from 32 concurrent callers through one
// batcher on PostgreSQL, as the click route does. ns/op is the wall time per click, noisy on a
// shared machine; pg-cpu-µs/click (the CPU time of the pool's PostgreSQL backends, from /proc)
// and go-cpu-µs/click (this process's) are the work per click, which other load hardly moves.
func BenchmarkBatchedClicksOnPostgres(b *testing.B) {
	db := dbtest.Open(b, dialect.Postgres)
	ctx := context.Background()
	keys, err := accounts.Demo(ctx, db.Client)
	if err != nil {
		b.Fatal(err)
	}
	o := db.Client.Offer.Query().Where(offer.AccountID(keys.ID), offer.TypeEQ(offer.TypeSINGLE_EVENT)).OnlyX(viewer.AsSystem(ctx))
	bt := newBatcher(db.Client, db.Dialect)
	var next atomic.Int64
	clicks := func(n int) {
		var wg sync.WaitGroup
		for range 32 {
			wg.Go(func() {
				for range n / 32 {
					now := time.Now().UTC()
					gk := "b" + strconv.FormatInt(next.Add(1), 10) + "-" + NewID()
					args := append([]any{gk, o.ID, o.AccountID, "member", "pc", "s1", "", "", "", "", "127.0.0.1", "bench", now},
						budget.ClickTerms(o, 0, now)...)
					if err := bt.insert(ctx, &row{args: args, gkID: gk}); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
	}
	clicks(640) // opens the pool's connections and prepares the statements
	pids := backendPIDs(b, db)
	pg0, go0 := backendsCPU(pids), selfCPU()
	b.ResetTimer()
	clicks(max(b.N, 32))
	b.StopTimer()
	n := float64(max(b.N, 32) / 32 * 32)
	b.ReportMetric(float64((backendsCPU(pids)-pg0).Microseconds())/n, "pg-cpu-µs/click")
	b.ReportMetric(float64((selfCPU()-go0).Microseconds())/n, "go-cpu-µs/click")
}

// backendPIDs are the PostgreSQL backends of every connection in db's pool.
func backendPIDs(b *testing.B, db *storage.DB) []int {
	ctx := context.Background()
	var pids []int
	for range storage.PostgresPoolSize {
		c, err := db.SQL.Conn(ctx)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		var pid int
		if err := c.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
			b.Fatal(err)
		}
		pids = append(pids, pid)
	}
	return pids
}

func backendsCPU(pids []int) time.Duration {
	var sum time.Duration
	for _, pid := range pids {
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+1:]))
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		sum += time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ is 100
	}
	return sum
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
