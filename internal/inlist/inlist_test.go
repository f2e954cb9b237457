package inlist_test

import (
	"fmt"
	"slices"
	"strconv"
	"testing"

	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/inlist"
	"github.com/gokart/gokart/internal/storage"
)

// TestAListMatchesExactlyItsValues on both databases: none, one, several, absent ones, and
// texts that need quoting in an array literal.
func TestAListMatchesExactlyItsValues(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		for _, ids := range [][]int64{{}, {3}, {1, 3, 99}, {4294967297}} {
			got := selectWhere(t, db, `SELECT 1 AS x UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4294967297`, func(arg func(any) string) string {
				return inlist.Ints(db.Dialect, "x", arg, ids)
			})
			var want []string
			for _, v := range []int64{1, 2, 3, 4294967297} {
				if slices.Contains(ids, v) {
					want = append(want, strconv.FormatInt(v, 10))
				}
			}
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("Ints(%v): %v, want %v", ids, got, want)
			}
		}
		for _, texts := range [][]string{{}, {"b"}, {`a,"b`, "{c}", "b"}, {"zz"}} {
			got := selectWhere(t, db, `SELECT 'a,"b' AS x UNION ALL SELECT 'b' UNION ALL SELECT '{c}' UNION ALL SELECT 'd'`, func(arg func(any) string) string {
				return inlist.Texts(db.Dialect, "x", arg, texts)
			})
			var want []string
			for _, v := range []string{`a,"b`, "b", "{c}", "d"} {
				if slices.Contains(texts, v) {
					want = append(want, v)
				}
			}
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("Texts(%q): %q, want %q", texts, got, want)
			}
		}
	})
}

// selectWhere runs from's rows filtered by the condition cond writes, as text, sorted.
func selectWhere(t *testing.T, db *storage.DB, from string, cond func(arg func(any) string) string) []string {
	t.Helper()
	var args []any
	where := cond(func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	})
	rows, err := db.SQL.Query(fmt.Sprintf("SELECT CAST(x AS TEXT) FROM (%s) AS s WHERE %s", from, where), args...)
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}
