package server_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/identity"
	"github.com/leadcap/leadcap/internal/shield"
	"github.com/leadcap/leadcap/internal/store/storetest"
	"github.com/pquerna/otp/totp"
)

// consoleStart is the test clock's start: a Thursday afternoon (in Belize) of a
// conference, in the future, so that cookies the server sets are valid to
// the browser.
var consoleStart = time.Date(2027, 3, 4, 22, 20, 0, 0, time.UTC)

// fetchBase64 fetches a URL in the tab, with its cookies, and returns the
// body base64-encoded and the status.
func (b *tab) fetchBase64(path string) (string, int) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch(`+jsString(path)+`).then(async r => {
		const bytes = new Uint8Array(await r.arrayBuffer());
		let s = ""; for (const x of bytes) s += String.fromCharCode(x);
		return r.status + " " + btoa(s);
	})`, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("fetch %s: %v", path, err)
	}
	status, body, _ := strings.Cut(v, " ")
	var n int
	fmt.Sscan(status, &n)
	return body, n
}

// post posts a form from the tab with the page's CSRF token and returns
// the status: what a hand-made request from a signed-in browser gets.
func (b *tab) post(path string, fields map[string]string) int {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	body := `const f = new URLSearchParams(); const t = document.querySelector("input[name=csrf_token]"); if (t) f.set("csrf_token", t.value);`
	for k, v := range fields {
		body += `f.set(` + jsString(k) + `, ` + jsString(v) + `);`
	}
	v, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`(async () => {`+body+`
		const r = await fetch(`+jsString(path)+`, {method: "POST", body: f, redirect: "manual"}); return r.status; })()`, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("post %s: %v", path, err)
	}
	return int(v)
}

// signIn signs a tab in with a password (no MFA).
func (b *tab) signIn(url, email, password string) {
	b.t.Helper()
	b.open(url + "/login")
	b.set(map[string]string{"#email": email, "#password": password})
	b.click(`form[action="/login"] button[type=submit]`)
}

// TestConsoleInBrowser drives the console in headless Chromium against a
// real server on loopback, as an admin and a booth staff member use it.
func TestConsoleInBrowser(t *testing.T) {
	browser := startBrowser(t)
	started := time.Now()
	defer func() { t.Logf("console browser tests took %s", time.Since(started).Round(time.Millisecond)) }()
	ctx := context.Background()
	ts := newClockServer(t, storetest.SQLite(t), consoleStart)
	admin, temp, err := ts.ident.CreateUser(ctx, identity.CLI(), identity.NewUser{Email: "ada@example.com", Name: "Ada Admin", Role: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	const password = "lagoon mango kayak 2027"
	a := newTab(t, browser, desktopW, desktopH)
	var confID, leadID string
	slug := "belize-dive-expo-2027"

	must(t, "sign in with a temporary password, then MFA", func(t *testing.T) {
		a.t = t
		a.open(ts.URL + "/leads")
		if !strings.Contains(a.body(), "Sign in") {
			t.Fatalf("a stranger sees: %.300s", a.body())
		}
		a.set(map[string]string{"#email": admin.Email, "#password": temp})
		a.click(`form[action="/login"] button[type=submit]`)
		if a.path() != "/password" || !strings.Contains(a.body(), "temporary password") {
			t.Fatalf("after a temporary password: %s %.300s", a.path(), a.body())
		}
		a.set(map[string]string{"#current_password": temp, "#new_password": password})
		a.click(`form[action="/password"] button[type=submit]`)
		if !strings.Contains(a.body(), "Your password is changed") {
			t.Fatalf("after the change: %s %.300s", a.path(), a.body())
		}
		a.click(`form[action="/account/mfa/enrol"] button`)
		secret := a.eval(`document.querySelector("[data-totp-secret]").innerText`)
		if a.count(`img[alt^="QR code for your authenticator"]`) != 1 || len(secret) < 16 {
			t.Fatalf("enrolment page: secret %q", secret)
		}
		a.screenshot("console-account-mfa", false)
		code, err := totp.GenerateCode(secret, ts.clock.now())
		if err != nil {
			t.Fatal(err)
		}
		a.set(map[string]string{"#mfa-code": code})
		a.click(`form[action="/account/mfa/confirm"] button`)
		if n := a.count(`[data-recovery-codes] li`); n != 10 {
			t.Fatalf("%d recovery codes shown: %.300s", n, a.body())
		}
		a.click(`.who button`)
		if !strings.Contains(a.body(), "You are signed out") {
			t.Fatalf("sign out: %.300s", a.body())
		}
		// Sign in again: the password, then a code from the next time step.
		a.set(map[string]string{"#email": admin.Email, "#password": password})
		a.click(`form[action="/login"] button[type=submit]`)
		if a.count(`#code`) != 1 {
			t.Fatalf("no MFA step: %.300s", a.body())
		}
		a.set(map[string]string{"#code": "000000"})
		a.click(`form[action="/login/mfa"] button[type=submit]`)
		if a.count(`#code[aria-invalid=true]`) != 1 {
			t.Fatalf("a wrong code: %.300s", a.body())
		}
		ts.clock.add(30 * time.Second)
		code, _ = totp.GenerateCode(secret, ts.clock.now())
		a.set(map[string]string{"#code": code})
		a.click(`form[action="/login/mfa"] button[type=submit]`)
		if a.path() != "/" || !strings.Contains(a.body(), "Dashboard") {
			t.Fatalf("after MFA: %s %.300s", a.path(), a.body())
		}
	})

	must(t, "create a conference with two questions", func(t *testing.T) {
		a.t = t
		a.open(ts.URL + "/conferences/new")
		a.set(map[string]string{"#f-name": "Belize Dive Expo 2027", "#f-country": "BZ", "#f-time_zone": "America/Belize",
			"#f-venue": "Radisson Fort George", "#f-start_date": "2027-03-03", "#f-end_date": "2027-03-05",
			"#f-interests": "Diving | Buceo\nFishing | Pesca\nJungle tours", "#f-names-es": "Expo de Buceo de Belice 2027"})
		a.click(`button[value=add]`)
		a.set(map[string]string{"#q-0-label": "Group size", "#q-0-choices": "Solo\nCouple | Pareja\nGroup | Grupo", "#q-0-labels-es": "Tamaño del grupo"})
		a.eval(`document.querySelector("input[name='q.0.required']").checked = true; ""`)
		a.click(`button[value=add]`)
		a.set(map[string]string{"#q-1-label": "What brings you here?", "#q-1-type": "text"})
		if a.eval(`document.querySelector("#q-0-label").value`) != "Group size" {
			t.Fatal("the first question's text was lost when adding the second")
		}
		// Move the second question up, in the page.
		a.clickHere(`[data-question]:nth-child(2) [data-move=up]`)
		if got := a.eval(`[...document.querySelectorAll("[data-question] input[name$='.label']")].map(e => e.name + "=" + e.value).join("|")`); got != "q.0.label=What brings you here?|q.1.label=Group size" {
			t.Fatalf("after moving up: %s", got)
		}
		a.screenshot("console-conference-edit", true)
		a.click(`button[value=save]`)
		if !strings.Contains(a.body(), "Created.") {
			t.Fatalf("create: %s %.500s", a.path(), a.body())
		}
		confID = strings.TrimPrefix(strings.SplitN(a.path(), "?", 2)[0], "/conferences/")
		c, err := ts.store.Conference(ctx, confID)
		if err != nil {
			t.Fatal(err)
		}
		if c.Slug != slug || len(c.Questions) != 2 || c.Questions[0].Label != "What brings you here?" || c.Questions[1].ID != "group-size" ||
			!c.Questions[1].Required || len(c.Questions[1].Choices) != 3 || c.Questions[1].Choices[2].Labels["es"] != "Grupo" ||
			c.Interests[0].Labels["es"] != "Buceo" || c.Names["es"] == "" || c.Status != leadcap.StatusDraft {
			t.Fatalf("stored conference: %+v", c)
		}
		a.click(`form[action$="/open"] button`)
		if !strings.Contains(a.body(), "Opened") || a.count(".badge.open") == 0 {
			t.Fatalf("open: %.300s", a.body())
		}
	})

	must(t, "its QR code decodes to the form link", func(t *testing.T) {
		a.t = t
		body, status := a.fetchBase64("/api/v1/conferences/" + confID + "/qr.png?download=1")
		png, err := base64.StdEncoding.DecodeString(body)
		if status != 200 || err != nil {
			t.Fatalf("qr.png: %d %v", status, err)
		}
		if got := decodeQR(t, png); got != ts.URL+"/c/"+slug {
			t.Fatalf("the QR code says %q, want %q", got, ts.URL+"/c/"+slug)
		}
		if !strings.Contains(a.body(), ts.URL+"/c/"+slug) {
			t.Fatal("the conference page does not show the form link")
		}
		a.open(ts.URL + "/conferences/" + confID + "/sign?paper=letter")
		if a.count(".sheet.letter img") != 1 || !strings.Contains(a.body(), "Scan to leave your details") ||
			!strings.Contains(a.body(), strings.TrimPrefix(ts.URL, "http://")+"/c/"+slug) {
			t.Fatalf("sign: %.300s", a.body())
		}
	})

	must(t, "a visitor submits the booth form; the lead shows", func(t *testing.T) {
		a.t = t
		v := newTab(t, browser, phoneW, phoneH)
		v.open(ts.URL + "/c/" + slug)
		v.set(map[string]string{"#f-first_name": "Marisol", "#f-last_name": "Chan", "#f-email": "marisol@reefdivers.example",
			"#f-company": "Reef Divers", "#f-job_title": "Travel buyer", "#f-answers-what-brings-you-here": "Planning a group trip"})
		v.do(chromedp.Click(chromedp.CSS(`#f-answers-group-size-2`)), chromedp.Click(chromedp.CSS(`#f-interests-0`)),
			chromedp.Click(chromedp.CSS(`#f-consent_contact`)))
		// A person takes a while to fill in a form; the shield checks.
		ts.clock.add(shield.DefaultMinFillTime + time.Second)
		v.do(chromedp.Click(chromedp.CSS(`#lead button[type=submit]`)))
		v.wait("the thank-you screen", `document.querySelector("#done") && !document.querySelector("#done").hidden || /thank/i.test(document.body.innerText)`, 10*time.Second)
		res, err := ts.store.ListLeads(ctx, storeQuery(confID))
		if err != nil || len(res.Leads) != 1 {
			t.Fatalf("stored leads: %v %v", res, err)
		}
		leadID = res.Leads[0].ID

		a.open(ts.URL + "/")
		if got := a.eval(`document.querySelector("[data-stat=today]").innerText`); got != "1" {
			t.Errorf("dashboard: leads today %q", got)
		}
		if !strings.Contains(a.body(), "Belize Dive Expo 2027") || !strings.Contains(a.body(), "Group") {
			t.Errorf("dashboard lacks the conference or its answers: %.500s", a.body())
		}
		a.open(ts.URL + "/leads")
		if a.count(`[data-control=export]`) != 1 {
			t.Error("an admin sees no export control on the leads table")
		}
		if a.count(`#leads-table a[href="/leads/`+leadID+`"]`) != 1 || !strings.Contains(a.body(), "Marisol Chan") {
			t.Fatalf("leads table: %.500s", a.body())
		}
		ts.mustIndex(t)
		a.set(map[string]string{"#q": "reef"})
		a.click(`form[role=search] button[type=submit]`)
		if !strings.Contains(a.body(), "Marisol Chan") || !strings.Contains(a.path(), "q=reef") {
			t.Fatalf("search reef: %.500s", a.body())
		}
	})

	must(t, "rate it and add a note", func(t *testing.T) {
		a.t = t
		a.open(ts.URL + "/leads/" + leadID)
		for _, want := range []string{"Marisol Chan", "Planning a group trip", "Group", "Diving", "Text version", "I agree"} {
			if !strings.Contains(a.body(), want) {
				t.Errorf("lead page lacks %q", want)
			}
		}
		a.clickHere(`input[name=rating][value=hot]`)
		a.set(map[string]string{"#tags": "follow-up, VIP", "#note": "Wants a quote for 8 divers in May."})
		a.click(`form[action="/leads/` + leadID + `"] button[type=submit]`)
		if !strings.Contains(a.body(), "Saved.") || !strings.Contains(a.body(), "Wants a quote for 8 divers in May.") ||
			a.count(`h1 .badge.hot`) != 1 || a.count(`input[name=rating][value=hot]:checked`) != 1 {
			t.Fatalf("after rating: %.600s", a.body())
		}
		l, err := ts.store.LeadDetail(ctx, leadID)
		if err != nil || l.Rating != "hot" || strings.Join(l.Tags, ",") != "follow-up,vip" || len(l.StaffNotes) != 1 || l.StaffNotes[0].Author != admin.Email {
			t.Fatalf("stored: %+v %v", l, err)
		}
	})

	must(t, "staff see no export, delete or users controls and are refused", func(t *testing.T) {
		a.t = t
		staff := ts.mustAccount(t, leadcap.RoleStaff)
		s := newTab(t, browser, phoneW, phoneH)
		s.signIn(ts.URL, staff.email, staff.password)
		for _, p := range []string{"/", "/leads", "/leads/" + leadID, "/conferences", "/conferences/" + confID} {
			s.open(ts.URL + p)
			for _, control := range []string{"export", "delete", "users", "rectify"} {
				if n := s.count(`[data-control=` + control + `]`); n != 0 {
					t.Errorf("staff see %d %s controls on %s", n, control, p)
				}
			}
			if s.count(`a[href="/users"]`)+s.count(`a[href="/audit"]`) != 0 {
				t.Errorf("staff see links to users or audit on %s", p)
			}
		}
		// Staff still rate and note.
		s.open(ts.URL + "/leads/" + leadID)
		if s.count(`form[action="/leads/`+leadID+`"] textarea#note`) != 1 {
			t.Error("staff cannot add a note")
		}
		for path, status := range map[string]int{"/users": 403, "/audit": 403, "/users/" + admin.ID: 403, "/leads/" + leadID + "/edit": 403} {
			if _, got := s.fetchBase64(path); got != status {
				t.Errorf("staff GET %s: %d, want %d", path, got, status)
			}
		}
		for path, fields := range map[string]map[string]string{
			"/leads/" + leadID + "/delete":       {"confirm": "yes"},
			"/users":                             {"email": "sneaky@example.com", "role": "admin"},
			"/leads/" + leadID + "/fields":       {"company": "Hacked"},
			"/conferences/" + confID + "/delete": {"force": "true", "confirm": "yes"},
		} {
			if got := s.post(path, fields); got != 403 {
				t.Errorf("staff POST %s: %d, want 403", path, got)
			}
		}
		if l, err := ts.store.LeadDetail(ctx, leadID); err != nil || l.Company != "Reef Divers" {
			t.Fatalf("after staff's refused requests: %+v %v", l, err)
		}
		if len(s.dialogsSeen())+len(a.dialogsSeen()) != 0 {
			t.Fatalf("dialogs opened: %v %v", s.dialogsSeen(), a.dialogsSeen())
		}
	})

	must(t, "screenshots", func(t *testing.T) {
		a.t = t
		consoleScreenshots(t, ts, a, confID, leadID)
	})
}

// must runs a step as a subtest and stops the test when it fails: later
// steps build on it.
func must(t *testing.T, name string, step func(t *testing.T)) {
	t.Helper()
	if !t.Run(name, step) {
		t.FailNow()
	}
}
