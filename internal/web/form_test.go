package web_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/store/storetest"
)

func TestFormPage(t *testing.T) {
	ts := newTestServer(t, storetest.SQLite(t))
	mustConference(t, ts.store, expo("belize-expo", leadcap.StatusOpen))

	p := ts.get(t, "/c/belize-expo", "Accept-Language", "en-GB,en;q=0.9")
	if p.status != 200 || !strings.HasPrefix(p.header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET form: %d %s", p.status, p.header.Get("Content-Type"))
	}
	if p.header.Get("Content-Security-Policy") == "" || p.header.Get("Cache-Control") != "no-cache" {
		t.Errorf("headers: %v", p.header)
	}
	p.has(t, `<html lang="en">`, "<h1>Belize Adventure Expo</h1>", "1–3 March 2027", "Biltmore Hotel, Belize City",
		`action="/c/belize-expo"`, `method="post"`, "I agree that Belize Adventure Expo exhibitors",
		`<a href="/c/belize-expo?lang=es" lang="es" hreflang="es">Español</a>`)
	// Every input has a label, and the fields the issue names are there.
	for _, name := range []string{"first_name", "last_name", "email", "phone", "company", "job_title", "country",
		"answers-role", "answers-budget", "answers-when", "consent_contact", "consent_marketing"} {
		p.has(t, `for="f-`+name+`"`)
	}
	inputs := regexp.MustCompile(`<(?:input|select)[^>]* id="([^"]+)"`).FindAllStringSubmatch(p.body, -1)
	if len(inputs) != 19 {
		t.Fatalf("only %d inputs", len(inputs))
	}
	for _, m := range inputs {
		if !strings.Contains(p.body, `for="`+m[1]+`"`) {
			t.Errorf("input %s has no label", m[1])
		}
	}
	// A question of each type, in order, with its own input.
	p.has(t, `name="answers.role" type="text"`, `role="radiogroup" aria-required="true"`, `type="radio" id="f-answers-size-0" name="answers.size" value="solo"`,
		`type="checkbox" id="f-answers-trips-1" name="answers.trips" value="jungle"`, `name="answers.budget" type="number"`,
		`min="0" max="100000"`, `name="answers.when" type="date"`, `name="interests" value="diving"`)
	order := []string{"answers.role", "answers.size", "answers.trips", "answers.budget", "answers.when"}
	for i := 1; i < len(order); i++ {
		if strings.Index(p.body, `name="`+order[i-1]+`"`) > strings.Index(p.body, `name="`+order[i]+`"`) {
			t.Errorf("%s comes after %s", order[i-1], order[i])
		}
	}
	// Consent is never pre-ticked, and nothing else is either.
	p.lacks(t, "checked", "selected", "autofocus", "Error:")
	p.has(t, `<option value="BZ">Belize</option>`, `<option value="ES">Spain</option>`)
	if v := formValues(p.body); v.Get("consent_version") != "1" || v.Get("lang") != "en" || len(v.Get("submission_id")) != 36 {
		t.Errorf("hidden fields: %v", v)
	}

	t.Run("Spanish from Accept-Language", func(t *testing.T) {
		p := ts.get(t, "/c/belize-expo", "Accept-Language", "es-MX,es;q=0.9,en;q=0.5")
		p.has(t, `<html lang="es">`, "<h1>Feria de Aventura de Belice</h1>", "1–3 de marzo de 2027", "Correo electrónico",
			"Su función", "Tamaño del grupo", "Solo yo", "Arrecife", "Buceo", "Acepto que los expositores",
			"Enviar mis datos", `<option value="BZ">Belice</option>`, `<option value="ES">España</option>`, `"queue.send":"Enviar ahora"`)
		p.lacks(t, "Group size", "Send my details")
		if p.header.Get("Vary") == "" {
			t.Error("no Vary header")
		}
	})
	t.Run("switch overrides the header", func(t *testing.T) {
		ts.get(t, "/c/belize-expo?lang=en", "Accept-Language", "es").has(t, `<html lang="en">`, "Group size")
		ts.get(t, "/c/belize-expo?lang=es", "Accept-Language", "en").has(t, `<html lang="es">`, "Tamaño del grupo")
	})
	t.Run("unknown language falls back to English", func(t *testing.T) {
		ts.get(t, "/c/belize-expo?lang=xx", "Accept-Language", "de-DE,fr;q=0.8").has(t, `<html lang="en">`)
		ts.get(t, "/c/belize-expo", "Accept-Language", strings.Repeat("x", 5000)).has(t, `<html lang="en">`)
	})
	t.Run("untranslated texts fall back to the default", func(t *testing.T) {
		c := expo("plain-expo", leadcap.StatusOpen)
		c.Names, c.Consent.Texts, c.Questions[1].Labels = nil, nil, nil
		mustConference(t, ts.store, c)
		ts.get(t, "/c/plain-expo?lang=es").has(t, "<h1>Belize Adventure Expo</h1>", "Group size", "I agree that", "Solo yo")
	})
}

func TestFormNotices(t *testing.T) {
	ts := newTestServer(t, storetest.SQLite(t))
	open := mustConference(t, ts.store, expo("open-expo", leadcap.StatusOpen))
	mustConference(t, ts.store, expo("draft-expo", leadcap.StatusDraft))
	mustConference(t, ts.store, expo("closed-expo", leadcap.StatusClosed))
	other := mustConference(t, ts.store, expo("other-expo", leadcap.StatusOpen))
	now := time.Now()

	tests := []struct {
		name, path string
		status     int
		want       string
	}{
		{"unknown conference", "/c/no-such-expo", 404, "Form not found"},
		{"over-long slug", "/c/" + strings.Repeat("a", 200), 404, "Form not found"},
		{"draft", "/c/draft-expo", 409, "This form is not open yet"},
		{"closed", "/c/closed-expo", 409, "This form is closed"},
		{"closed in Spanish", "/c/closed-expo?lang=es", 409, "Este formulario está cerrado"},
		{"forged device link", "/c/open-expo?device=v1.eyJjIjoieCJ9.AAAA", 403, "This kiosk link is not valid"},
		{"device link of another conference", deviceLink(t, ts.keys, other, "Tablet 1", now.Add(time.Hour)), 200, ""},
		{"device link used on another conference", strings.Replace(deviceLink(t, ts.keys, other, "Tablet 1", now.Add(time.Hour)), "other-expo", "open-expo", 1), 403, "This kiosk link is not valid"},
		{"expired device link", deviceLink(t, ts.keys, open, "Tablet 1", now.Add(-time.Minute)), 410, "This kiosk link is not valid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ts.get(t, tt.path)
			if p.status != tt.status {
				t.Fatalf("status %d, want %d", p.status, tt.status)
			}
			p.has(t, tt.want)
			if tt.status != 200 {
				p.lacks(t, "<form", "submission_id")
			}
		})
	}
}

func TestKioskPage(t *testing.T) {
	ts := newTestServer(t, storetest.SQLite(t))
	c := mustConference(t, ts.store, expo("belize-expo", leadcap.StatusOpen))

	p := ts.get(t, deviceLink(t, ts.keys, c, "Tablet 3", time.Now().Add(time.Hour)))
	if p.status != 200 {
		t.Fatalf("status %d", p.status)
	}
	p.has(t, `<body class="kiosk">`, `novalidate autocomplete="off"`, `data-kiosk="v1.`, `data-device="tablet-3"`,
		`data-thanks-ms="6000" data-idle-ms="90000"`, "Kiosk: Tablet 3", `<input type="hidden" name="kiosk" value="v1.`)
	p.lacks(t, `autocomplete="email"`, `autocomplete="given-name"`)
	// The language switch keeps the kiosk mode.
	if !regexp.MustCompile(`href="/c/belize-expo\?device=v1\.[^"&]+&amp;lang=es"`).MatchString(p.body) {
		t.Error("the language switch loses the device link")
	}
	ts.get(t, "/c/belize-expo?kiosk=1").has(t, `data-kiosk="1"`, `data-device=""`, `autocomplete="off"`, `href="/c/belize-expo?kiosk=1&amp;lang=es"`)
}

// validForm is a complete submission of the expo form without JavaScript.
func validForm(page string, edits map[string][]string) url.Values {
	v := formValues(page)
	for k, vals := range map[string][]string{
		"first_name": {"Ana"}, "last_name": {"Díaz"}, "email": {"ana@example.com"}, "phone": {"622 3456"},
		"company": {"Acme Tours"}, "job_title": {"Buyer"}, "country": {"BZ"}, "interests": {"diving", "fishing"},
		"answers.role": {"CTO"}, "answers.size": {"family"}, "answers.trips": {"reef", "jungle"},
		"answers.budget": {"2500.5"}, "answers.when": {"2027-05-01"}, "consent_contact": {"on"},
	} {
		v[k] = vals
	}
	for k, vals := range edits {
		if vals == nil {
			delete(v, k)
		} else {
			v[k] = vals
		}
	}
	return v
}
