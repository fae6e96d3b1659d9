package web_test

import (
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/store/storetest"
)

// TestSubmitWithoutJavaScript drives the form as a browser without
// JavaScript does: GET the page, POST it back, read the answer.
func TestSubmitWithoutJavaScript(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ts := newTestServer(t, dsn)
		c := mustConference(t, ts.store, expo("belize-expo", leadcap.StatusOpen))
		form := ts.get(t, "/c/belize-expo").body

		t.Run("stored with every field", func(t *testing.T) {
			p := ts.postForm(t, "/c/belize-expo", validForm(form, nil))
			if p.status != 200 {
				t.Fatalf("status %d:\n%s", p.status, p.body)
			}
			p.has(t, "Thank you!", `href="/c/belize-expo?lang=en"`)
			p.lacks(t, "Ana", "ana@example.com", "http-equiv")
			if p.header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q", p.header.Get("Cache-Control"))
			}
			leads := leadsOf(t, ts.store, c)
			if len(leads) != 1 {
				t.Fatalf("%d leads", len(leads))
			}
			l := leads[0]
			if l.FirstName != "Ana" || l.LastName != "Díaz" || l.Email != "ana@example.com" || l.Phone != "+5016223456" ||
				l.Company != "Acme Tours" || l.JobTitle != "Buyer" || l.Country != "BZ" ||
				strings.Join(l.Interests, ",") != "diving,fishing" || l.Source != leadcap.SourceForm || l.DeviceID != "" ||
				!l.Consent.Contact || l.Consent.Marketing || l.Consent.Version != 1 || l.SubmissionID != formValues(form).Get("submission_id") {
				t.Fatalf("lead: %+v", l)
			}
			want := leadcap.Answers{"role": "CTO", "size": "family", "trips": []string{"reef", "jungle"}, "budget": 2500.5, "when": "2027-05-01"}
			if !reflect.DeepEqual(l.Answers, want) {
				t.Errorf("answers %#v, want %#v", l.Answers, want)
			}
		})

		t.Run("sending the page twice stores it once", func(t *testing.T) {
			p := ts.postForm(t, "/c/belize-expo", validForm(form, nil))
			if p.status != 200 || len(leadsOf(t, ts.store, c)) != 1 || len(leadsOf(t, ts.store, c)[0].History) != 1 {
				t.Fatalf("replay: %d, %d leads", p.status, len(leadsOf(t, ts.store, c)))
			}
		})

		t.Run("bad email: error beside the field, values kept", func(t *testing.T) {
			values := validForm(form, map[string][]string{"submission_id": {"nojs-2"}, "email": {"bob@"}, "first_name": {"Bob <b>"},
				"consent_marketing": {"on"}})
			p := ts.postForm(t, "/c/belize-expo", values)
			if p.status != 422 {
				t.Fatalf("status %d", p.status)
			}
			p.has(t, "<title>Error: ",
				`<div id="summary" class="summary" role="alert" tabindex="-1" autofocus>`,
				`<li><a href="#f-email">Email: Enter an email address like name@example.com.</a></li>`,
				`value="bob@" autocomplete="email" inputmode="email" required aria-required="true" aria-invalid="true" aria-describedby="e-f-email">`,
				`<p class="err" id="e-f-email">Enter an email address like name@example.com.</p>`,
				`value="Bob &lt;b&gt;"`, `value="Díaz"`, `value="622 3456"`, `value="Acme Tours"`, `value="Buyer"`,
				`<option value="BZ" selected>Belize</option>`, `value="diving" checked`, `value="fishing" checked`,
				`value="CTO"`, `value="family" checked`, `value="reef" checked`, `value="jungle" checked`,
				`value="2500.5"`, `value="2027-05-01"`, `name="consent_contact" value="on" checked`,
				`name="consent_marketing" value="on" checked`, `name="submission_id" value="nojs-2"`)
			// Only the email is marked.
			if n := strings.Count(p.body, `aria-invalid="true"`); n != 1 {
				t.Errorf("%d fields marked invalid", n)
			}
			if n := len(leadsOf(t, ts.store, c)); n != 1 {
				t.Errorf("%d leads stored", n)
			}
			// Counted with the API's refusals.
			if m := ts.get(t, "/metrics").body; !strings.Contains(m, `leadcap_validation_failures_total{field="email"} 1`) {
				t.Errorf("the refusal is not counted:\n%s", m)
			}
		})

		t.Run("Spanish errors", func(t *testing.T) {
			values := validForm(form, map[string][]string{"submission_id": {"nojs-3"}, "lang": {"es"}, "email": {"no-es-correo"},
				"answers.size": nil, "answers.budget": {"-5"}, "consent_contact": nil, "answers.when": {"2027-02-30"}})
			p := ts.postForm(t, "/c/belize-expo", values)
			if p.status != 422 {
				t.Fatalf("status %d", p.status)
			}
			p.has(t, `<html lang="es">`, "Revise estas respuestas",
				"Correo electrónico: Escriba un correo electrónico como nombre@ejemplo.com.",
				"Tamaño del grupo: Este campo es obligatorio.",
				"Presupuesto (USD): Escriba un número entre 0 y 100000.",
				"¿Cuándo viajaría?: Escriba una fecha.",
				`<p class="err" id="e-f-consent_contact">Acepte que le contactemos para poder darle seguimiento.</p>`)
			p.lacks(t, "is not a valid email", "is required", "must be")
		})

		t.Run("a changed consent text is caught", func(t *testing.T) {
			p := ts.postForm(t, "/c/belize-expo", validForm(form, map[string][]string{"submission_id": {"nojs-4"}, "consent_version": {"7"}}))
			if p.status != 422 {
				t.Fatalf("status %d", p.status)
			}
			p.has(t, `<a href="#lead">Form: The consent text has changed.`, `name="consent_version" value="1"`)
		})

		t.Run("kiosk device link stamps the leads", func(t *testing.T) {
			link := deviceLink(t, ts.keys, c, "Tablet 3", time.Now().Add(time.Hour))
			kform := ts.get(t, link).body
			p := ts.postForm(t, "/c/belize-expo", validForm(kform, map[string][]string{"email": {"kiosk@example.com"}}))
			if p.status != 200 {
				t.Fatalf("status %d", p.status)
			}
			if !regexp.MustCompile(`<meta http-equiv="refresh" content="6;url=/c/belize-expo\?device=v1\.[^"]+&amp;lang=en">`).MatchString(p.body) {
				t.Errorf("no refresh back to the empty form:\n%s", p.body)
			}
			l := findLead(t, leadsOf(t, ts.store, c), "kiosk@example.com")
			if l.Source != leadcap.SourceKiosk || l.DeviceID != "tablet-3" {
				t.Fatalf("source %q device %q", l.Source, l.DeviceID)
			}
			p = ts.postForm(t, "/c/belize-expo", validForm(ts.get(t, "/c/belize-expo?kiosk=1").body, map[string][]string{"email": {"kiosk2@example.com"}}))
			if l := findLead(t, leadsOf(t, ts.store, c), "kiosk2@example.com"); p.status != 200 || l.Source != leadcap.SourceKiosk || l.DeviceID != "" {
				t.Fatalf("?kiosk=1: %d %+v", p.status, l)
			}
		})

		t.Run("forged kiosk token is refused", func(t *testing.T) {
			link := deviceLink(t, ts.keys, c, "Tablet 3", time.Now().Add(time.Hour))
			values := validForm(ts.get(t, link).body, map[string][]string{"email": {"forger@example.com"}})
			values.Set("kiosk", strings.Replace(values.Get("kiosk"), "v1.", "v1.A", 1))
			p := ts.postForm(t, "/c/belize-expo", values)
			if p.status != 403 {
				t.Fatalf("status %d", p.status)
			}
			p.has(t, "This kiosk link is not valid")
			for _, l := range leadsOf(t, ts.store, c) {
				if l.Email == "forger@example.com" {
					t.Fatal("a lead with a forged device link was stored")
				}
			}
		})

		closed := mustConference(t, ts.store, expo("closed-expo", leadcap.StatusClosed))
		bad := []struct {
			name, path, contentType, body string
			status                        int
			want                          string
		}{
			{"closed conference", "/c/closed-expo", "application/x-www-form-urlencoded", validForm(form, nil).Encode(), 409, "This form is closed"},
			{"unknown conference", "/c/nope", "application/x-www-form-urlencoded", validForm(form, nil).Encode(), 404, "Form not found"},
			{"JSON body", "/c/belize-expo", "application/json", `{"email":"a@example.com"}`, 415, "Your form could not be read"},
			{"Latin-1 form", "/c/belize-expo", "application/x-www-form-urlencoded; charset=iso-8859-1", "email=a", 415, "Your form could not be read"},
			{"unknown field", "/c/belize-expo", "application/x-www-form-urlencoded", "is_admin=1&email=a%40example.com", 400, "Your form could not be read"},
			{"repeated field", "/c/belize-expo", "application/x-www-form-urlencoded", "email=a%40example.com&email=b%40example.com", 400, "Your form could not be read"},
			{"invalid UTF-8", "/c/belize-expo", "application/x-www-form-urlencoded", "first_name=%ff%fe", 400, "Your form could not be read"},
			{"oversize", "/c/belize-expo", "application/x-www-form-urlencoded", "notes=" + strings.Repeat("x", 70<<10), 413, "Your form could not be read"},
		}
		for _, tt := range bad {
			t.Run(tt.name, func(t *testing.T) {
				p := ts.do(t, mustRequest(t, "POST", ts.URL+tt.path, tt.contentType, tt.body))
				if p.status != tt.status {
					t.Fatalf("status %d, want %d", p.status, tt.status)
				}
				p.has(t, tt.want)
			})
		}
		if n := len(leadsOf(t, ts.store, closed)); n != 0 {
			t.Errorf("closed conference has %d leads", n)
		}
		if n := len(leadsOf(t, ts.store, c)); n != 3 {
			t.Errorf("%d leads, want 3 (ana and two kiosk leads)", n)
		}
	})
}

func findLead(t *testing.T, leads []*leadcap.Lead, email string) *leadcap.Lead {
	t.Helper()
	for _, l := range leads {
		if l.Email == email {
			return l
		}
	}
	t.Fatalf("no lead %s", email)
	return nil
}

func mustRequest(t *testing.T, method, u, contentType, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	return req
}
