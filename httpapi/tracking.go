package httpapi

import (
	"log/slog"
	"net/http"

	"github.com/gokart/gokart/storage"
)

// mountTracking adds the routes members' browsers and networks call: the click redirect and
// the postback.
func mountTracking(mux *http.ServeMux, db *storage.DB, log *slog.Logger) {}
