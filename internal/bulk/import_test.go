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
	"github.com/gokart/gokart/internal/lifecycle"
	"github.com/gokart/gokart/internal/storage"
)

// TestImportChangesStatusesLineByLineWithAReport imports a file of 297 status lines and the bad
// lines after them: four flushes of 100 results, the bad lines across the last boundary.
// TestImportThreeThousandStatusesLineByLine (not under -race) is the same with 3000 lines, more
// than one updateConversionStatuses call may name.
func TestImportChangesStatusesLineByLineWithAReport(t *testing.T) {
	t.Parallel()
	runDialects(t, func(t *testing.T, db *storage.DB) { importStatusesTwice(t, db, 297) })
}

// importStatusesTwice seeds n conversions (n a multiple of 3: pending, approved, reversed in
// turn) and imports a file that reverses every one of them by network id, then five bad lines;
// then the same file again, which changes nothing.
func importStatusesTwice(t *testing.T, db *storage.DB, n int) {
	t.Helper()
	if n%3 != 0 {
		t.Fatalf("n = %d: a multiple of 3, so that a third of the seed is reversed already", n)
	}
	srv := apitest.Start(t, db)
	keys := srv.NewAccount(t, "Importer")
	other := srv.NewAccount(t, "Other")
	seed(t, db, keys.ID, n, "x") // x-0 pending, x-1 approved, x-2 reversed, …
	seed(t, db, other.ID, 1, "y")
	theirs := db.Client.Conversion.Query().Where(conversion.NetworkConversionID("y-0")).OnlyIDX(sys)
	x0 := db.Client.Conversion.Query().Where(conversion.NetworkConversionID("x-0")).OnlyIDX(sys)

	// Every line of the seed reversed by network id (a third are reversed already), then the
	// bad lines, from line n+2 on.
	var in strings.Builder
	in.WriteString("network_conversion_id,status,reason,id\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&in, "x-%d,reversed,chargeback file,\n", i)
	}
	fmt.Fprintf(&in, ",APPROVED,,%d\n", theirs) // line n+2: another account's
	in.WriteString("nope,REVERSED,,\n")         // n+3: unknown network id
	in.WriteString(",REVERSED,,abc\n")          // n+4: bad id
	in.WriteString("x-1,PAID,,\n")              // n+5: bad status
	in.WriteString("\"x-1,REVERSED\n")          // n+6: bad quoting (to the end)
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
	for _, r := range recs[:min(n, len(recs))] {
		counts[r[3]]++
	}
	if len(recs) != n+5 || counts["CHANGED"] != 2*n/3 || counts["UNCHANGED"] != n/3 {
		t.Fatalf("%d result lines, %v; last %v", len(recs), counts, recs[len(recs)-3:])
	}
	if r := recs[0]; r[0] != "2" || r[1] != strconv.Itoa(x0) || r[2] != "x-0" || r[3] != "CHANGED" {
		t.Errorf("first result %v", r)
	}
	for i, want := range []string{"ERROR NOT_FOUND", "ERROR NOT_FOUND", "ERROR VALIDATION", "ERROR VALIDATION", "ERROR VALIDATION"} {
		want = strconv.Itoa(n+2+i) + " " + want
		r := recs[n+i]
		if got := r[0] + " " + r[3] + " " + r[4]; got != want {
			t.Errorf("bad line %d: %v, want %s", i, r, want)
		}
	}
	if got := db.Client.Conversion.Query().Where(conversion.StatusEQ(lifecycle.Reversed), conversion.AccountID(keys.ID)).CountX(sys); got != n {
		t.Errorf("%d reversed after the import, want %d", got, n)
	}
	if got := db.Client.ConversionStatusChange.Query().Where(conversionstatuschange.SourceEQ(conversionstatuschange.SourceMANUAL)).CountX(sys); got != 2*n/3 {
		t.Errorf("%d MANUAL steps, want %d", got, 2*n/3)
	}
	if st := db.Client.Conversion.GetX(sys, theirs).Status; st != lifecycle.Pending {
		t.Errorf("another account's conversion is %s", st)
	}

	// The same file again changes nothing.
	_, body = post(t, srv, keys.APIKey, "/import/conversion-statuses", in.String())
	recs = readCSV(t, body)[1:]
	if len(recs) != n+5 {
		t.Fatalf("second run: %d result lines, want %d", len(recs), n+5)
	}
	again := map[string]int{}
	for _, r := range recs[:n] {
		again[r[3]]++
	}
	if again["UNCHANGED"] != n {
		t.Errorf("second run: %v, want %d UNCHANGED", again, n)
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
}
