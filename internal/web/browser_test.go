package web_test

import (
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/store"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// visitor is what TestBrowser's visitors type, by element id.
func visitor(first, email string) map[string]string {
	return map[string]string{"f-first_name": first, "f-last_name": "Díaz", "f-email": email, "f-phone": "622 3456",
		"f-company": "Acme Tours", "f-job_title": "Buyer", "f-answers-role": "CTO", "f-answers-budget": "2500.5"}
}

// TestBrowser drives the booth form in headless Chromium against a real
// `leadcap serve`, as visitors and booth staff use it.
func TestBrowser(t *testing.T) {
	browser := startBrowser(t)
	confs := map[string]*leadcap.Conference{}
	live := startLive(t, func(st *store.Store) {
		for _, slug := range []string{"belize-expo", "nojs-expo", "offline-expo", "busy-expo", "kiosk-expo", "es-expo"} {
			confs[slug] = mustConference(t, st, expo(slug, leadcap.StatusOpen))
		}
	})
	start := time.Now()
	defer func() { t.Logf("browser tests took %s", time.Since(start).Round(time.Millisecond)) }()

	t.Run("fill and submit: every field stored", func(t *testing.T) {
		b := newTab(t, browser)
		var mu sync.Mutex
		var urls []string
		requests := chromedp.Events(b.ctx, network.RequestWillBeSent)
		go func() {
			for ev, err := range requests {
				if err != nil {
					return
				}
				mu.Lock()
				urls = append(urls, ev.Request.URL)
				mu.Unlock()
			}
		}()
		b.do(chromedp.Navigate(live.URL + "/c/belize-expo"))
		b.waitText("h1", "Belize Adventure Expo", 5*time.Second)
		b.screenshot("form", true)
		// Large touch targets, and usable at 320 pixels wide.
		if h := b.eval(targetHeights); h != "" {
			t.Errorf("touch targets lower than 44px: %s", h)
		}
		b.do(chromedp.EmulateViewport(320, 640))
		if w := b.eval(`String(document.documentElement.scrollWidth)`); w != "320" {
			t.Errorf("at 320px the page is %s px wide", w)
		}
		b.do(chromedp.EmulateViewport(390, 844))
		b.fill(visitor("Ana", "ana@example.com"),
			map[string]string{"f-country": "BZ", "f-answers-when": "2027-05-01"},
			"f-interests-0", "f-interests-1", "f-answers-size-1", "f-answers-trips-0", "f-answers-trips-1",
			"f-consent_contact", "f-consent_marketing")
		b.submit()
		b.do(chromedp.WaitVisible(chromedp.ID("done")))
		if got := b.text("#done h2"); got != "Thank you!" {
			t.Fatalf("thank-you screen says %q", got)
		}
		leads := leadsOf(t, live.store, confs["belize-expo"])
		if len(leads) != 1 {
			t.Fatalf("%d leads stored", len(leads))
		}
		l := leads[0]
		if l.FirstName != "Ana" || l.LastName != "Díaz" || l.Email != "ana@example.com" || l.Phone != "+5016223456" ||
			l.Company != "Acme Tours" || l.JobTitle != "Buyer" || l.Country != "BZ" || strings.Join(l.Interests, ",") != "diving,fishing" ||
			!l.Consent.Contact || !l.Consent.Marketing || l.Consent.Version != 1 || l.Source != leadcap.SourceForm ||
			l.DeviceID != "" || !uuidRE.MatchString(l.SubmissionID) || len(l.History) != 1 {
			t.Fatalf("lead: %+v", l)
		}
		want := leadcap.Answers{"role": "CTO", "size": "family", "trips": []string{"reef", "jungle"}, "budget": 2500.5, "when": "2027-05-01"}
		if !reflect.DeepEqual(l.Answers, want) {
			t.Fatalf("answers %#v, want %#v", l.Answers, want)
		}
		// Nothing was asked of another origin.
		mu.Lock()
		defer mu.Unlock()
		if len(urls) < 8 { // the page, its stylesheet, five modules, the lead
			t.Errorf("saw only %d requests: %v", len(urls), urls)
		}
		for _, u := range urls {
			if strings.HasPrefix(u, "http") && !strings.HasPrefix(u, live.URL+"/") {
				t.Errorf("request to another origin: %s", u)
			}
		}
	})

	t.Run("checks as the visitor types, errors announced, keyboard", func(t *testing.T) {
		stored := len(leadsOf(t, live.store, confs["belize-expo"]))
		b := newTab(t, browser)
		b.do(chromedp.Navigate(live.URL + "/c/belize-expo"))
		b.fill(map[string]string{"f-email": "ana@"}, nil)
		b.do(chromedp.Focus(chromedp.ID("f-phone"))) // leave the field
		b.waitText("#e-f-email", "Enter an email address like name@example.com.", 3*time.Second)
		if b.eval(`document.getElementById("f-email").getAttribute("aria-invalid")`) != "true" {
			t.Error("the bad email is not marked aria-invalid")
		}
		b.fill(map[string]string{"f-email": "example.com"}, nil)
		b.wait("the error to clear as the visitor types", `document.getElementById("e-f-email").hidden`, 3*time.Second)
		b.clear("f-email")
		b.fill(map[string]string{"f-email": "ana@example", "f-first_name": "Ana"}, nil)

		// The keyboard alone: Tab moves through the fields in order, Space
		// ticks a box, Enter sends.
		b.do(chromedp.Focus(chromedp.ID("f-first_name")), chromedp.KeyEvent("\t"), chromedp.KeyEvent("\t"))
		if id := b.eval(`document.activeElement.id`); id != "f-email" {
			t.Errorf("two tabs from the first name lead to %q", id)
		}
		b.do(chromedp.Focus(chromedp.ID("f-consent_marketing")), chromedp.KeyEvent(" "))
		if b.eval(`String(document.getElementById("f-consent_marketing").checked)`) != "true" {
			t.Error("Space did not tick the box")
		}
		b.do(chromedp.Focus(chromedp.ID("f-first_name")), chromedp.KeyEvent("\r"))
		b.do(chromedp.WaitVisible(chromedp.ID("summary")))
		summary := b.text("#summary")
		for _, want := range []string{"Please check these answers", "Email: Enter an email address like name@example.com.", "Group size: This field is required.",
			"Your consent: Please agree to be contacted"} {
			if !strings.Contains(summary, want) {
				t.Errorf("summary lacks %q:\n%s", want, summary)
			}
		}
		if b.eval(`document.getElementById("summary").getAttribute("role") + " " + document.activeElement.id`) != "alert summary" {
			t.Error("the error summary is not an alert with the focus")
		}
		if desc := b.eval(`document.getElementById("f-answers-size-0").closest("fieldset").getAttribute("aria-describedby")`); desc != "e-f-answers-size" {
			t.Errorf("the group's error is not its description: %q", desc)
		}
		b.screenshot("form-errors", true)
		if low := b.eval(lowContrast); low != "" {
			t.Errorf("text below WCAG AA contrast: %s", low)
		}
		if n := len(leadsOf(t, live.store, confs["belize-expo"])); n != stored {
			t.Errorf("%d leads, want %d: a form with errors was sent", n, stored)
		}
	})

	t.Run("without JavaScript", func(t *testing.T) {
		b := newTab(t, browser)
		b.disableJavaScript()
		b.do(chromedp.Navigate(live.URL + "/c/nojs-expo"))
		b.fill(visitor("Noa", "noa@example.com"), map[string]string{"f-country": "BZ", "f-answers-when": "2027-05-01"},
			"f-answers-size-0", "f-consent_contact")
		b.submit()
		b.waitText("main", "We have your details", 5*time.Second)

		b.do(chromedp.Navigate(live.URL + "/c/nojs-expo"))
		b.fill(visitor("Bob", "bob@"), map[string]string{"f-country": "BZ"}, "f-answers-size-2", "f-answers-trips-1", "f-consent_contact")
		b.submit()
		b.waitText("#e-f-email", "Enter an email address like name@example.com.", 5*time.Second)
		kept := b.eval(`[...document.querySelectorAll("#lead input:not([type=hidden]), #lead select")]
			.map(i => i.type === "checkbox" || i.type === "radio" ? (i.checked ? i.value : "") : i.value).filter(Boolean).join("|")`)
		if kept != "Bob|Díaz|bob@|622 3456|Acme Tours|Buyer|BZ|CTO|group|jungle|2500.5|on" {
			t.Errorf("values kept: %s", kept)
		}
		if b.text("#summary li") != "Email: Enter an email address like name@example.com." {
			t.Errorf("summary: %q", b.text("#summary"))
		}
		leads := leadsOf(t, live.store, confs["nojs-expo"])
		if len(leads) != 1 || leads[0].Email != "noa@example.com" || leads[0].Answers["size"] != "solo" {
			t.Fatalf("leads: %+v", leads)
		}
	})

	t.Run("offline: queued on the device, sent once when the network returns", func(t *testing.T) {
		b := newTab(t, browser)
		b.do(chromedp.Navigate(live.URL + "/c/offline-expo"))
		b.waitText("#sync-text", "Ready to work offline.", 10*time.Second)
		b.setOffline(true)
		before := len(live.requests(0))
		for i, name := range []string{"Uno", "Dos", "Tres"} {
			if i > 0 {
				b.do(chromedp.Click(chromedp.ID("again")))
			}
			b.fill(visitor(name, strings.ToLower(name)+"@example.com"), nil, "f-answers-size-0", "f-consent_contact")
			b.submit()
			b.do(chromedp.WaitVisible(chromedp.ID("done")))
		}
		b.waitText("#sync-text", "3 leads waiting to be sent", 3*time.Second)
		b.do(chromedp.Reload())
		b.waitText("h1", "Belize Adventure Expo", 5*time.Second)
		b.waitText("#sync-text", "3 leads waiting to be sent", 5*time.Second)
		if seen := live.requests(before); len(seen) != 0 {
			t.Fatalf("requests reached the server while the device was offline: %v", seen)
		}
		if n := len(leadsOf(t, live.store, confs["offline-expo"])); n != 0 {
			t.Fatalf("%d leads stored while offline", n)
		}
		b.setOffline(false)
		b.waitText("#sync-text", "Ready to work offline.", 10*time.Second)
		checkThree(t, leadsOf(t, live.store, confs["offline-expo"]), "uno", "dos", "tres")
	})

	t.Run("server answering 503: kept and retried", func(t *testing.T) {
		b := newTab(t, browser)
		b.do(chromedp.Navigate(live.URL + "/c/busy-expo"))
		b.waitText("#sync-text", "Ready to work offline.", 10*time.Second)
		live.down.Store(true)
		for i, name := range []string{"Ana", "Ben", "Cai"} {
			if i > 0 {
				b.do(chromedp.Click(chromedp.ID("again")))
			}
			b.fill(visitor(name, strings.ToLower(name)+"@example.com"), nil, "f-answers-size-1", "f-consent_contact")
			b.submit()
			b.do(chromedp.WaitVisible(chromedp.ID("done")))
		}
		b.waitText("#sync-text", "3 leads waiting to be sent", 3*time.Second)
		b.do(chromedp.Reload()) // the server fails the page too: it comes from the device
		b.waitText("#sync-text", "3 leads waiting to be sent", 5*time.Second)
		// The page retries by itself, backing off.
		tries := live.refused.Load()
		time.Sleep(2500 * time.Millisecond)
		if live.refused.Load() == tries {
			t.Fatal("no retry in 2.5 seconds")
		}
		if n := len(leadsOf(t, live.store, confs["busy-expo"])); n != 0 {
			t.Fatalf("%d leads stored while the server failed", n)
		}
		live.down.Store(false)
		b.do(chromedp.Click(chromedp.ID("send-now")))
		b.waitText("#sync-text", "Ready to work offline.", 5*time.Second)
		checkThree(t, leadsOf(t, live.store, confs["busy-expo"]), "ana", "ben", "cai")
	})

	t.Run("kiosk: empty after each visitor and after inactivity", func(t *testing.T) {
		out := live.leadcap(t, "kiosk", "link", "--conference", "kiosk-expo", "--label", "Tablet 3")
		link := regexp.MustCompile(`http://\S+`).FindString(out)
		if !strings.HasPrefix(link, live.URL+"/c/kiosk-expo?device=") {
			t.Fatalf("kiosk link: %s", out)
		}
		b := newTab(t, browser)
		b.do(chromedp.Navigate(link))
		b.waitText(".device", "Kiosk: Tablet 3", 5*time.Second)
		if got := b.eval(`document.getElementById("lead").getAttribute("autocomplete")`); got != "off" {
			t.Errorf("form autocomplete %q", got)
		}
		empty := `[...document.querySelectorAll("#lead input:not([type=hidden]), #lead select")].every(i => !i.checked && (i.type === "checkbox" || i.type === "radio" || i.value === ""))`
		b.fill(visitor("Kim", "kim@example.com"), map[string]string{"f-country": "BZ"}, "f-answers-size-0", "f-interests-0", "f-consent_contact")
		b.submit()
		b.do(chromedp.WaitVisible(chromedp.ID("done")))
		b.waitText("#done", "The form will be ready for the next visitor", 2*time.Second)
		b.screenshot("kiosk-thanks", false)
		b.wait("the empty form after the thank-you screen", `!document.getElementById("lead").hidden && `+empty, 5*time.Second)

		b.fill(map[string]string{"f-first_name": "Lee", "f-email": "lee@"}, nil, "f-interests-1")
		if b.eval(`String(`+empty+`)`) != "false" {
			t.Fatal("typing left the form empty")
		}
		b.wait("the form to empty after inactivity", empty, 6*time.Second)

		l := leadsOf(t, live.store, confs["kiosk-expo"])
		if len(l) != 1 || l[0].Source != leadcap.SourceKiosk || l[0].DeviceID != "tablet-3" || l[0].Email != "kim@example.com" {
			t.Fatalf("kiosk leads: %+v", l)
		}

		forged := strings.Replace(link, "device=v1.", "device=v1.x", 1)
		b.do(chromedp.Navigate(forged))
		b.waitText("h2", "This kiosk link is not valid", 5*time.Second)
	})

	t.Run("Spanish: form and errors, and a refusal shown to staff", func(t *testing.T) {
		b := newTab(t, browser)
		b.acceptLanguage("es")
		b.do(chromedp.Navigate(live.URL + "/c/es-expo"))
		b.waitText("h1", "Feria de Aventura de Belice", 5*time.Second)
		if lang := b.eval(`document.documentElement.lang`); lang != "es" {
			t.Errorf("lang %q", lang)
		}
		b.fill(map[string]string{"f-email": "ana@"}, nil)
		b.do(chromedp.Focus(chromedp.ID("f-phone")))
		b.waitText("#e-f-email", "Escriba un correo electrónico como nombre@ejemplo.com.", 3*time.Second)
		b.screenshot("form-es", false)

		// A phone number the browser's check lets through and the server
		// refuses: the error comes back beside the field, in Spanish, and
		// the lead waits on the device for staff until it is corrected.
		b.fill(map[string]string{"f-email": "example.com", "f-phone": "1234"}, nil, "f-answers-size-0", "f-consent_contact")
		b.submit()
		b.waitText("#e-f-phone", "Escriba un número de teléfono", 5*time.Second)
		b.waitText("#attention summary", "Requieren atención (1)", 3*time.Second)
		b.clear("f-phone")
		b.fill(map[string]string{"f-phone": "+501 622 3456"}, nil)
		b.submit()
		b.do(chromedp.WaitVisible(chromedp.ID("done")))
		b.waitText("#done h2", "¡Gracias!", 2*time.Second)
		b.wait("the refusal to leave the list", `document.getElementById("attention").hidden`, 3*time.Second)
		l := leadsOf(t, live.store, confs["es-expo"])
		if len(l) != 1 || l[0].Phone != "+5016223456" || l[0].Email != "ana@example.com" {
			t.Fatalf("leads: %+v", l)
		}
	})
}

// targetHeights lists the form's controls lower than 44 CSS pixels.
const targetHeights = `[...document.querySelectorAll("#lead input:not([type=hidden]):not([type=checkbox]):not([type=radio]), #lead select, #lead button, #lead .choice, .langs a")]
	.filter(e => e.getBoundingClientRect().height < 44).map(e => (e.id || e.className || e.tagName) + " " + e.getBoundingClientRect().height).join(", ")`

// lowContrast lists visible text whose contrast with its background is
// below WCAG AA: 4.5:1, or 3:1 for large text.
const lowContrast = `(() => {
	const rgb = s => (s.match(/[\d.]+/g) || []).map(Number);
	const lum = c => { const [r, g, b] = c.slice(0, 3).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; }); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
	const bg = e => { for (; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor); if (c.length === 3 || c[3] > 0) return c; } return [255, 255, 255]; };
	const bad = [];
	for (const e of document.querySelectorAll("body *")) {
		if (![...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()) || !e.getClientRects().length) continue;
		const st = getComputedStyle(e), a = lum(rgb(st.color)), b = lum(bg(e));
		const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
		const size = parseFloat(st.fontSize), large = size >= 24 || size >= 18.66 && +st.fontWeight >= 700;
		if (ratio < (large ? 3 : 4.5)) bad.push(e.tagName + " " + e.textContent.trim().slice(0, 30) + " " + ratio.toFixed(2));
	}
	return bad.join("; ");
})()`

// checkThree checks that exactly the three visitors were stored, each once.
func checkThree(t *testing.T, leads []*leadcap.Lead, names ...string) {
	t.Helper()
	if len(leads) != len(names) {
		t.Fatalf("%d leads stored, want %d", len(leads), len(names))
	}
	for i, l := range leads {
		if l.Email != names[i]+"@example.com" || len(l.History) != 1 || !uuidRE.MatchString(l.SubmissionID) {
			t.Errorf("lead %d: %s, %d submissions, id %q", i, l.Email, len(l.History), l.SubmissionID)
		}
	}
}
