//go:build !race

package bulk_test

import (
	"testing"

	"github.com/gokart/gokart/internal/storage"
)

// The case: 10 000 lines imported twice. Without the race detector only: each line is
// a postback transaction, and under -race on SQLite the file takes minutes.
func TestImportTenThousandConversionsTwice(t *testing.T) {
	t.Parallel()
	runDialects(t, func(t *testing.T, db *storage.DB) { importTwice(t, db, 10_000) })
}
