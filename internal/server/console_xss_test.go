package server_test

import (
	"strings"
	"testing"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/store/storetest"
)

// Payloads of stored cross-site scripting: each opens a dialog if a page
// lets it run.
var xssPayloads = []string{
	`<img src=x onerror=alert(1)>`,
	`"><script>alert(2)</script>`,
	`'><svg onload=alert(3)>`,
	`</textarea><script>alert(4)</script>`,
	`javascript:alert(5)`,
	`{{.}}<b onmouseover=alert(6)>x</b>`,
}

// TestConsoleStoredXSS stores payloads in every text a visitor or an
// operator types, visits every console page that shows them in Chromium,
// and checks that each shows as text and that no dialog opens.
func TestConsoleStoredXSS(t *testing.T) {
	browser := startBrowser(t)
	ts := newTestServer(t, storetest.SQLite(t))
	p := xssPayloads
	admin := ts.mustAccount(t, leadcap.RoleAdmin)
	api := ts.mustLogin(t, admin, "10.9.0.1")

	r := api.do(t, "POST", "/api/v1/conferences", map[string]any{
		"slug": "xss-expo", "name": "Expo " + p[0], "venue": p[1], "status": "open", "country": "BZ",
		"interests": []map[string]any{{"value": p[2]}, {"value": "plain"}},
		"questions": []map[string]any{
			{"id": "role", "type": "text", "label": p[3]},
			{"id": "pick", "type": "single", "label": p[5], "choices": []map[string]any{{"value": p[0]}, {"value": "other"}}},
			{"id": "many", "type": "multi", "label": "Many " + p[1], "choices": []map[string]any{{"value": p[1]}, {"value": p[4]}}},
		},
		"consent": map[string]any{"text": "Consent " + p[1], "texts": map[string]string{"es": p[3]}},
		"names":   map[string]string{"es": p[2]},
	})
	if r.status != 201 {
		t.Fatalf("conference: %d %s", r.status, r.raw)
	}
	confID := r.str("id")
	leadID := ts.mustLeadWith(t, map[string]any{"conference": "xss-expo", "submission_id": "xss-1", "email": "xss+1@example.com",
		"first_name": p[0], "last_name": p[1], "company": p[2], "job_title": p[3], "notes": p[4] + "\n" + p[5],
		"country": "BZ", "phone": nil, "interests": []string{p[2]},
		"answers": map[string]any{"role": p[0], "pick": p[0], "many": []string{p[1], p[4]}}})
	if r := api.do(t, "PATCH", "/api/v1/leads/"+leadID, map[string]any{"note": p[1] + " " + p[3], "rating": "warm"}); r.status != 200 {
		t.Fatalf("note: %d %s", r.status, r.raw)
	}

	ts.mustIndex(t)
	b := newTab(t, browser, desktopW, desktopH)
	b.signIn(ts.URL, admin.email, admin.password)
	// The tab does see a dialog when one opens.
	b.eval(`setTimeout(() => alert("probe"), 0); ""`)
	b.wait("the probe dialog to be seen", `true`, time.Second)
	for deadline := time.Now().Add(5 * time.Second); len(b.dialogsSeen()) == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("a dialog opened by a script was not seen")
		}
	}
	b.clearDialogs()
	pages := map[string][]string{ // each page, and the payloads it must show as text
		"/":                                   {"Expo " + p[0]},
		"/?conference=xss-expo":               {"Expo " + p[0], p[2], p[0]},
		"/conferences":                        {"Expo " + p[0], p[1]},
		"/conferences/" + confID:              {"Expo " + p[0], p[1], p[3], p[5], "Consent " + p[1]},
		"/conferences/" + confID + "/edit":    {},
		"/conferences/" + confID + "/sign":    {"Expo " + p[0]},
		"/leads":                              {p[0] + " " + p[1], p[2], p[3]},
		"/leads?q=xss":                        {p[0] + " " + p[1]},
		"/leads/" + leadID:                    {p[0], p[1], p[2], p[3], p[4], p[5], p[1] + " " + p[3], "Consent " + p[1]},
		"/leads/" + leadID + "/edit":          {},
		"/audit":                              {},
		"/users":                              {},
		"/c/xss-expo":                         {p[3], p[5]},
		"/leads?conference=xss-expo&q=" + "a": {},
	}
	for path, want := range pages {
		b.open(ts.URL + path)
		time.Sleep(100 * time.Millisecond) // let anything that would run, run
		body := b.body()
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Errorf("%s does not show %q as text", path, w)
			}
		}
		if n := b.count(`[onerror], [onload], [onmouseover], img[src=x], b`); n != 0 {
			t.Errorf("%s holds %d elements made from a payload", path, n)
		}
		if n := b.count(`script:not([src]):not([type="application/json"])`); n != 0 {
			t.Errorf("%s holds %d inline scripts that run", path, n)
		}
	}
	// The edit forms keep the payloads as values, not markup.
	b.open(ts.URL + "/leads/" + leadID + "/edit")
	if got := b.eval(`document.querySelector("#f-first_name").value`); got != p[0] {
		t.Errorf("rectification form: first name %q", got)
	}
	if got := b.eval(`document.querySelector("#f-notes").value`); got != p[4]+"\n"+p[5] {
		t.Errorf("rectification form: notes %q", got)
	}
	b.open(ts.URL + "/conferences/" + confID + "/edit")
	if got := b.eval(`document.querySelector("#q-0-label").value`); got != p[3] {
		t.Errorf("questions editor: label %q", got)
	}
	if d := b.dialogsSeen(); len(d) != 0 {
		t.Fatalf("dialogs opened: %q", d)
	}
}
