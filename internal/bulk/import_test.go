package bulk_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/gokart/gokart/ent/conversion"
	"github.com/gokart/gokart/ent/conversionstatuschange"
	"github.com/gokart/gokart/internal/apitest"
	"github.com/gokart/gokart/internal/bulk"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/lifecycle"
	"github.com/gokart/gokart/internal/storage"
)

func TestImportChangesStatusesLineByLineWithAReport(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		srv := apitest.Start(t, db)
		keys := srv.NewAccount(t, "Importer")
		other := srv.NewAccount(t, "Other")
		seed(t, db, keys.ID, 3000, "x") // x-0 pending, x-1 approved, x-2 reversed, …
		seed(t, db, other.ID, 1, "y")
		theirs := db.Client.Conversion.Query().Where(conversion.NetworkConversionID("y-0")).OnlyIDX(sys)
		x0 := db.Client.Conversion.Query().Where(conversion.NetworkConversionID("x-0")).OnlyIDX(sys)

		// Every line of the seed reversed by network id (a thousand are reversed already), then
		// the bad lines.
		var in strings.Builder
		in.WriteString("network_conversion_id,status,reason,id\n")
		for i := 0; i < 3000; i++ {
			fmt.Fprintf(&in, "x-%d,reversed,chargeback file,\n", i)
		}
		fmt.Fprintf(&in, ",APPROVED,,%d\n", theirs) // line 3002: another account's
		in.WriteString("nope,REVERSED,,\n")         // 3003: unknown network id
		in.WriteString(",REVERSED,,abc\n")          // 3004: bad id
		in.WriteString("x-1,PAID,,\n")              // 3005: bad status
		in.WriteString("\"x-1,REVERSED\n")          // 3006: bad quoting (to the end)
		status, body := post(t, srv, keys.APIKey, "/import/conversion-statuses", in.String())
		if status != 200 {
			t.Fatalf("import: %d %s", status, body)
		}
		recs := readCSV(t, body)
		if strings.Join(recs[0], ",") != strings.Join(bulk.ImportColumns, ",") {
			t.Fatalf("header %v", recs[0])
		}
		recs = recs[1:]
		counts := map[string]int{}
		for _, r := range recs[:3000] {
			counts[r[3]]++
		}
		if len(recs) != 3005 || counts["CHANGED"] != 2000 || counts["UNCHANGED"] != 1000 {
			t.Fatalf("%d result lines, %v; last %v", len(recs), counts, recs[len(recs)-3:])
		}
		if r := recs[0]; r[0] != "2" || r[1] != strconv.Itoa(x0) || r[2] != "x-0" || r[3] != "CHANGED" {
			t.Errorf("first result %v", r)
		}
		for i, want := range []string{"3002 ERROR NOT_FOUND", "3003 ERROR NOT_FOUND", "3004 ERROR VALIDATION", "3005 ERROR VALIDATION", "3006 ERROR VALIDATION"} {
			r := recs[3000+i]
			if got := r[0] + " " + r[3] + " " + r[4]; got != want {
				t.Errorf("bad line %d: %v, want %s", i, r, want)
			}
		}
		if n := db.Client.Conversion.Query().Where(conversion.StatusEQ(lifecycle.Reversed), conversion.AccountID(keys.ID)).CountX(sys); n != 3000 {
			t.Errorf("%d reversed after the import", n)
		}
		if n := db.Client.ConversionStatusChange.Query().Where(conversionstatuschange.SourceEQ(conversionstatuschange.SourceMANUAL)).CountX(sys); n != 2000 {
			t.Errorf("%d MANUAL steps, want 2000", n)
		}
		if st := db.Client.Conversion.GetX(sys, theirs).Status; st != lifecycle.Pending {
			t.Errorf("another account's conversion is %s", st)
		}

		// The same file again changes nothing.
		_, body = post(t, srv, keys.APIKey, "/import/conversion-statuses", in.String())
		again := map[string]int{}
		for _, r := range readCSV(t, body)[1:3001] {
			again[r[3]]++
		}
		if again["UNCHANGED"] != 3000 {
			t.Errorf("second run: %v", again)
		}

		for _, c := range []struct {
			key, body string
			status    int
			want      string
		}{
			{"", "id,status\n1,APPROVED\n", 401, ""},
			{keys.APIKey, "", 400, "header"},
			{keys.APIKey, "id,reason\n1,x\n", 400, "status"},
			{keys.APIKey, "status,reason\nAPPROVED,x\n", 400, "id"},
			{keys.APIKey, strings.Repeat("x", bulk.MaxImportBytes+1), 413, "at most"},
		} {
			status, body := post(t, srv, c.key, "/import/conversion-statuses", c.body)
			if status != c.status || !strings.Contains(body, c.want) {
				t.Errorf("%.30q: %d %.200q, want %d with %q", c.body, status, body, c.status, c.want)
			}
		}
	})
}
