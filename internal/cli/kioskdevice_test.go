package cli_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"testing"

	"github.com/leadcap/leadcap/internal/store/storetest"
)

// TestKioskDeviceIDComesFromItsLink: a public submission names a kiosk
// device only through that device's signed link. A device id sent without
// a link is dropped, and a link's device wins over another id sent with it.
func TestKioskDeviceIDComesFromItsLink(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		in := newInstance(t, dsn, map[string]string{"LEADCAP_PUBLIC_URL": "https://leads.example.com"})
		in.openConference()
		srv := in.serve()
		var link struct {
			URL string `json:"url"`
		}
		if err := json.Unmarshal([]byte(in.must("kiosk", "link", "--conference", "expo", "--label", "Tablet 3", "--json")), &link); err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(link.URL)
		token := u.Query().Get("device")
		db := in.database()
		for i, c := range []struct {
			edits map[string]any
			want  string
		}{
			{map[string]any{"source": "kiosk", "device_id": "tablet-9"}, ""},
			{map[string]any{"source": "kiosk", "device_id": "tablet-9", "device_token": token}, "tablet-3"},
			{map[string]any{"source": "kiosk", "device_token": token}, "tablet-3"},
			{map[string]any{"source": "form"}, ""},
		} {
			code, body := srv.post(t, lead(fmt.Sprintf("dev-%d", i), fmt.Sprintf("dev%d@example.com", i), c.edits))
			var res struct {
				ID string `json:"id"`
			}
			if code != 201 || json.Unmarshal([]byte(body), &res) != nil {
				t.Fatalf("%v: %d %s", c.edits, code, body)
			}
			var device, history string
			if err := db.QueryRow(`SELECT device_id FROM leads WHERE id = $1`, res.ID).Scan(&device); err != nil {
				t.Fatal(err)
			}
			if err := db.QueryRow(`SELECT device_id FROM submissions WHERE lead_id = $1`, res.ID).Scan(&history); err != nil {
				t.Fatal(err)
			}
			if device != c.want || history != c.want {
				t.Errorf("%v: lead stamped %q, its submission %q; want %q", c.edits, device, history, c.want)
			}
		}
	})
}
