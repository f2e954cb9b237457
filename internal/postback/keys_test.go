package postback_test

import (
	"testing"

	"github.com/gokart/gokart/internal/apitest"
	"github.com/gokart/gokart/internal/dbtest"
	"github.com/gokart/gokart/internal/storage"
)

// TestARotatedKeyStopsAtOnceThoughItsAccountIsRemembered: the server remembers each key's
// account so that the lookup reads inside it; a key rotated away must still be refused on the
// very next postback, and the new one accepted.
func TestARotatedKeyStopsAtOnceThoughItsAccountIsRemembered(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, db *storage.DB) {
		srv := apitest.Start(t, db)
		keys, single, _ := demo(t, srv)
		gk := click(t, srv, single.ID, "rot-1")
		if status, body := pb(t, srv.URL, keys.PostbackKey, "gk_click_id=unknown"); status != 404 {
			t.Fatalf("postback with the key: %d %s, want 404 unknown click", status, body)
		}
		db.Client.Account.UpdateOneID(keys.ID).SetPostbackKey("rotated-key").ExecX(sys)
		if status, body := pb(t, srv.URL, keys.PostbackKey, "gk_click_id="+gk); status != 403 {
			t.Errorf("postback with the old key after rotation: %d %s, want 403", status, body)
		}
		if status, body := pb(t, srv.URL, "rotated-key", "gk_click_id="+gk, "cnv_conversion_id=R1"); status != 200 {
			t.Errorf("postback with the new key: %d %s, want 200", status, body)
		}
	})
}
