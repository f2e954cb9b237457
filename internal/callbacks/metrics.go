package callbacks

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Registry holds the callback series; the /metrics handler gathers it beside its own.
var Registry = prometheus.NewRegistry()

var (
	deliveriesTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gokart_callback_attempts_total",
		Help: "Callback attempts by outcome: delivered, retry (will be retried) or failed (given up).",
	}, []string{"outcome"})
	queueDepth = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "gokart_callback_queue_depth", Help: "Callback deliveries pending (due now or waiting for a retry).",
	})
	oldestDue = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "gokart_callback_oldest_due_seconds", Help: "How long the oldest due callback delivery has been waiting; 0 when none is due.",
	})
)

func init() { Registry.MustRegister(deliveriesTotal, queueDepth, oldestDue) }

// observeQueue sets the queue gauges from the database.
func (w *Worker) observeQueue(ctx context.Context) error {
	now := w.opts.Clock().UTC()
	var n int64
	var oldest any
	if err := w.db.SQL.QueryRowContext(ctx, `SELECT COUNT(*) FROM callback_deliveries WHERE status = 'PENDING'`).Scan(&n); err != nil {
		return fmt.Errorf("count pending callbacks: %w", err)
	}
	if err := w.db.SQL.QueryRowContext(ctx, `SELECT MIN(next_attempt_at) FROM callback_deliveries WHERE status = 'PENDING' AND next_attempt_at <= $1`, now).
		Scan(&oldest); err != nil {
		return fmt.Errorf("oldest due callback: %w", err)
	}
	queueDepth.Set(float64(n))
	age := time.Duration(0)
	if t, ok := timeOf(oldest); ok {
		age = now.Sub(t)
	}
	oldestDue.Set(age.Seconds())
	return nil
}

// timeOf reads a time an aggregate returned: a time.Time on PostgreSQL, text on SQLite (an
// aggregate has no declared type there).
func timeOf(v any) (time.Time, bool) {
	switch t := v.(type) {
	case time.Time:
		return t, true
	case string:
		for _, layout := range []string{"2006-01-02 15:04:05.999999999-07:00", time.RFC3339Nano} {
			if p, err := time.Parse(layout, t); err == nil {
				return p, true
			}
		}
	case []byte:
		return timeOf(string(t))
	}
	return time.Time{}, false
}
