package cli_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/leadcap/leadcap/internal/kiosk"
	"github.com/leadcap/leadcap/internal/store/storetest"
)

// TestKioskRevoke drives kiosk links through the real CLI and a running
// server: a link works on the form page and the lead API; after
// `kiosk revoke` both refuse it within a second or two; a new link for the
// device works while the old one stays refused; list shows each device's
// status; a changed link is refused as before.
func TestKioskRevoke(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		// With a public URL, kiosk link prints no note among its JSON.
		in := newInstance(t, dsn, map[string]string{"LEADCAP_PUBLIC_URL": "https://leads.example.com"})
		in.openConference()
		srv := in.serve()

		link := func(label string, extra ...string) string {
			t.Helper()
			raw := in.must(append([]string{"kiosk", "link", "--conference", "expo", "--label", label, "--json"}, extra...)...)
			var out struct {
				URL string `json:"url"`
			}
			if err := json.Unmarshal([]byte(raw), &out); err != nil {
				t.Fatalf("kiosk link --json: %v\n%s", err, raw)
			}
			u, err := url.Parse(out.URL)
			if err != nil || u.Query().Get("device") == "" {
				t.Fatalf("kiosk link printed %q", out.URL)
			}
			return u.Query().Get("device")
		}
		// form opens the booth form with a device link.
		form := func(token string) (int, string) {
			t.Helper()
			res, err := http.Get(srv.url + "/c/expo?device=" + url.QueryEscape(token))
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			return res.StatusCode, string(b)
		}
		// submit sends a lead through the API as the tablet's booth.js
		// does, with the link's token.
		n := 0
		submit := func(device, token string) (int, string) {
			t.Helper()
			n++
			return srv.post(t, lead(fmt.Sprintf("k-%d", n), fmt.Sprintf("k%d@example.com", n),
				map[string]any{"source": "kiosk", "device_id": device, "device_token": token}))
		}
		works := func(name, device, token string) {
			t.Helper()
			if code, body := form(token); code != 200 || !strings.Contains(body, `data-device="`+device+`"`) {
				t.Fatalf("%s: form page %d\n%.400s", name, code, body)
			}
			if code, body := submit(device, token); code != 201 {
				t.Fatalf("%s: lead API %d %s", name, code, body)
			}
		}
		refused := func(name, device, token, why string) {
			t.Helper()
			if code, body := form(token); code != 410 || !strings.Contains(body, "This kiosk link was withdrawn") {
				t.Fatalf("%s: form page %d\n%.400s", name, code, body)
			}
			if code, body := submit(device, token); code != 410 || !strings.Contains(body, why) {
				t.Fatalf("%s: lead API %d %s, want 410 saying %q", name, code, body, why)
			}
			// The form posted without JavaScript carries the link too.
			res, err := http.PostForm(srv.url+"/c/expo", url.Values{"kiosk": {token}, "first_name": {"Kim"}})
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 410 || !strings.Contains(string(b), "This kiosk link was withdrawn") {
				t.Fatalf("%s: form post %d\n%.400s", name, res.StatusCode, b)
			}
		}

		first := link("Tablet 3")
		works("new link", "tablet-3", first)

		out := in.must("kiosk", "revoke", "--conference", "expo", "--device", "tablet-3")
		revoked := time.Now()
		if !strings.Contains(out, "device tablet-3 (Tablet 3) at expo revoked") {
			t.Fatalf("revoke:\n%s", out)
		}
		// The server sees the revocation within its TTL: poll both routes.
		for {
			fc, _ := form(first)
			ac, _ := submit("tablet-3", first)
			if fc == 410 && ac == 410 {
				break
			}
			if fc != 200 && fc != 410 || ac != 201 && ac != 410 || time.Since(revoked) > 2*kiosk.RevocationTTL {
				t.Fatalf("%v after the revocation: form page %d, lead API %d", time.Since(revoked).Round(time.Millisecond), fc, ac)
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Logf("refused %v after the revocation", time.Since(revoked).Round(time.Millisecond))
		refused("revoked link", "tablet-3", first, "tablet-3 was revoked on")
		if out := in.must("kiosk", "revoke", "--conference", "expo", "--device", "tablet-3"); !strings.Contains(out, "revoked already") {
			t.Fatalf("revoke again:\n%s", out)
		}

		// The tablet re-paired: its new link works, the old stays dead,
		// also once the server has read the records again.
		second := link("Tablet 3")
		works("link issued after the revocation", "tablet-3", second)
		time.Sleep(kiosk.RevocationTTL + 100*time.Millisecond)
		works("link issued after the revocation, records reloaded", "tablet-3", second)
		refused("revoked link after a new one", "tablet-3", first, "tablet-3 was revoked on")

		// Another new link replaces the second.
		third := link("Tablet 3")
		works("third link", "tablet-3", third)
		time.Sleep(kiosk.RevocationTTL + 100*time.Millisecond)
		refused("replaced link", "tablet-3", second, "replaced by a newer link")

		// A changed link is refused on the form page and proves nothing to
		// the API, as before.
		tampered := third[:len(third)-2] + "xx"
		if code, body := form(tampered); code != 403 || !strings.Contains(body, "This kiosk link is not valid") {
			t.Fatalf("tampered link: form page %d\n%.400s", code, body)
		}
		if code, body := submit("tablet-3", tampered); code != 201 {
			t.Fatalf("tampered link: lead API %d %s", code, body)
		}

		// list: one line per device with its status.
		link("Tablet 4", "--valid-for", "1s")
		link("Tablet 5")
		in.must("kiosk", "revoke", "--conference", "expo", "--device", "tablet-5")
		time.Sleep(time.Second)
		var list []struct {
			DeviceID string     `json:"device_id"`
			Status   string     `json:"status"`
			Issued   *time.Time `json:"issued"`
			Expires  *time.Time `json:"expires"`
			Revoked  *time.Time `json:"revoked"`
		}
		raw := in.must("kiosk", "list", "--conference", "expo", "--json")
		if err := json.Unmarshal([]byte(raw), &list); err != nil {
			t.Fatalf("list --json: %v\n%s", err, raw)
		}
		got := map[string]string{}
		for _, l := range list {
			got[l.DeviceID] = l.Status
			if l.Issued == nil || l.Expires == nil || (l.Revoked != nil) != (l.Status == "revoked") {
				t.Errorf("list --json: %+v", l)
			}
		}
		if want := map[string]string{"tablet-3": "active", "tablet-4": "expired", "tablet-5": "revoked"}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("statuses %v, want %v\n%s", got, want, raw)
		}
		table := in.must("kiosk", "list", "--conference", "expo")
		for _, want := range []string{"DEVICE", "STATUS", "Tablet 4", "3 devices at expo: 1 active, 1 expired, 1 revoked"} {
			if !strings.Contains(table, want) {
				t.Fatalf("list has no %q:\n%s", want, table)
			}
		}

		// Revocations are audited; bad input names what is wrong.
		if out := in.must("audit", "list", "--action", "kiosk.link.revoke"); strings.Count(out, "kiosk.link.revoke") != 2 {
			t.Fatalf("audit (want two revocations):\n%s", out)
		}
		for _, tt := range []struct {
			args []string
			want string
		}{
			{[]string{"kiosk", "revoke", "--conference", "expo"}, "--device is required"},
			{[]string{"kiosk", "revoke", "--conference", "expo", "--device", "tablet 3"}, "device"},
			{[]string{"kiosk", "list"}, "--conference is required"},
			{[]string{"kiosk", "list", "--conference", "nope"}, "not found"},
			{[]string{"kiosk", "unlink", "--conference", "expo"}, "unknown verb"},
		} {
			if out, err := in.run(tt.args...); err == nil || !strings.Contains(err.Error()+out, tt.want) {
				t.Errorf("leadcap %s: %v %s, want an error about %q", strings.Join(tt.args, " "), err, out, tt.want)
			}
		}
	})
}
