package callbacks

import (
	"strings"
	"testing"
	"time"

	"github.com/gokart/gokart/internal/lifecycle"
)

// EnqueueFirstFrom takes the conversion id from the named query and renumbers the rest, so
// that every placeholder it leaves is one of its arguments.
func TestEnqueueFirstFromTakesTheConversionFromItsQuery(t *testing.T) {
	ch := Change{AccountID: 1, ConversionID: 99, OfferID: 2, OfferEventID: 3, To: lifecycle.Pending, At: time.Unix(5, 0)}
	q, args := EnqueueFirstFromSQL("ins"), EnqueueFirstFromArgs(ch)
	if !strings.Contains(q, "ins.id, 1,") || !strings.Contains(q, "FROM callback_endpoints e, ins\n") {
		t.Errorf("the conversion is not taken from ins:\n%s", q)
	}
	if len(args) != 8 || args[0] != 1 {
		t.Fatalf("args %v", args)
	}
	for _, a := range args {
		if a == 99 {
			t.Errorf("the conversion id is still an argument: %v", args)
		}
	}
	for n := 1; n <= 8; n++ {
		if !strings.Contains(q, "$"+string(rune('0'+n))) {
			t.Errorf("$%d unused:\n%s", n, q)
		}
	}
	if strings.Contains(q, "$9") {
		t.Errorf("a placeholder past the arguments:\n%s", q)
	}
}
