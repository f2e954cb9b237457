//go:build !race

package bulk_test

import (
	"testing"

	"github.com/gokart/gokart/internal/storage"
)

// 3000 status lines, three times what one updateConversionStatuses call may name, imported
// twice. Without the race detector only: each line is a review transaction, and under -race
// SQLite (a pure-Go build, instrumented through and through) takes over two minutes for the
// file; TestImportChangesStatusesLineByLineWithAReport runs the same checks on 297 lines there.
func TestImportThreeThousandStatusesLineByLine(t *testing.T) {
	t.Parallel()
	runDialects(t, func(t *testing.T, db *storage.DB) { importStatusesTwice(t, db, 3000) })
}
