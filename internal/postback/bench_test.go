package postback_test

import (
	"fmt"
	"testing"

	"entgo.io/ent/dialect"

	"github.com/gokart/gokart/internal/apitest"
	"github.com/gokart/gokart/internal/dbtest"
)

// BenchmarkAcceptedPostback is one accepted postback through the real server on PostgreSQL,
// one at a time: its allocations per request are the figure to compare across commits (they do
// not depend on how busy the machine is); ns/op includes the database's commit.
func BenchmarkAcceptedPostback(b *testing.B) {
	db := dbtest.Open(b, dialect.Postgres)
	srv := apitest.Start(b, db)
	keys, single, _ := demo(b, srv)
	clicks := make([]string, b.N)
	for i := range clicks {
		clicks[i] = click(b, srv, single.ID, fmt.Sprint("m", i))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if status, body := pb(b, srv.URL, keys.PostbackKey, "gk_click_id="+clicks[i], "cnv_conversion_id=B"+clicks[i], "cnv_status=pending"); status != 200 {
			b.Fatalf("postback %d: %d %s", i, status, body)
		}
	}
}
