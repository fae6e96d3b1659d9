package server

import (
	"fmt"
	"net/http"

	"github.com/leadcap/leadcap/internal/web"
)

// newBooth builds the booth form's pages. The templates and assets are
// embedded in the binary, so an error here is a broken build.
func newBooth(d Deps) *web.Booth {
	b, err := web.New(web.Options{
		Capture:      d.Capture,
		Kiosk:        d.Kiosk,
		Log:          d.Log,
		MaxBodyBytes: d.MaxBodyBytes,
		ClientIP:     func(r *http.Request) string { return clientIP(r.Context()).String() },
		ErrorStatus:  ErrorStatus,
		Metrics:      d.Metrics,
		KioskIdle:    d.KioskIdle,
		KioskThanks:  d.KioskThanks,
		Now:          d.Now,
		Shield:       d.Forms,
	})
	if err != nil {
		panic(fmt.Sprintf("server: booth form: %v", err))
	}
	return b
}
