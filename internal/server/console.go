package server

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/access"
)

// page registers a console page: a route like any other, whose errors are
// answered as HTML pages instead of JSON.
func (s *Server) page(pattern string, perm access.Permission, h http.HandlerFunc) {
	if s.pages == nil {
		s.pages = map[string]bool{}
	}
	s.pages[pattern] = true
	s.route(pattern, perm, h)
}

// page is what every console page shows: who is signed in, what they may
// do, the session's CSRF field, and the outcome of the last action.
type page struct {
	Title, Nav string
	User       *leadcap.User
	Restricted bool
	CSRF       template.HTML
	Flash      *flash
	Message    string            // an error for the whole page
	Summary    []string          // each field's problem, for the summary
	Errors     map[string]string // problems by field name
	p          *access.Principal
}

// flash is a message after an action: Kind is ok, warn or error.
type flash struct{ Kind, Text string }

// fieldError is a field's problem as the templates show it.
type fieldError struct{ ID, Text string }

// Can reports whether the signed-in user has the permission.
func (p page) Can(perm string) bool { return p.p.Can(access.Permission(perm)) }

// Err returns the problem of a field, if any.
func (p page) Err(field string) string { return p.Errors[field] }

// FieldError returns the problem of a field for the c-field-error template.
func (p page) FieldError(field string) *fieldError {
	if p.Errors[field] == "" {
		return nil
	}
	return &fieldError{ID: strings.ReplaceAll(field, ".", "-"), Text: p.Errors[field]}
}

// newPage starts the page of r.
func (s *Server) newPage(r *http.Request, title, nav string) page {
	p := access.FromContext(r.Context())
	pg := page{Title: title, Nav: nav, p: p, CSRF: access.CSRFInput(r.Context())}
	if p != nil {
		pg.User, pg.Restricted = p.User, p.Restriction != ""
	}
	if msg, ok := doneMessages[r.URL.Query().Get("done")]; ok {
		pg.Flash = &flash{"ok", msg}
	}
	return pg
}

// doneMessages are the flashes a redirect after an action may ask for
// with ?done=: fixed texts, so that no request can put words on a page.
var doneMessages = map[string]string{
	"created":    "Created.",
	"saved":      "Saved.",
	"opened":     "Opened: the form takes leads.",
	"closed":     "Closed: the form takes no more leads.",
	"deleted":    "Deleted.",
	"password":   "Your password is changed.",
	"mfa-off":    "MFA is off.",
	"revoked":    "The token is revoked.",
	"disabled":   "The user is disabled: their sessions and tokens stopped working.",
	"enabled":    "The user is enabled.",
	"role":       "The role is changed; their sessions ended.",
	"mfa-reset":  "MFA is off for this user.",
	"rectified":  "The correction is saved and audited.",
	"signed-out": "You are signed out.",
}

// withError fills the page's messages from err: a message and each
// field's problem.
func (p *page) withError(err error) {
	p.Message = leadcap.ErrorMessage(err)
	p.Errors = leadcap.ErrorFields(err)
	var keys []string
	for k := range p.Errors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p.Summary = append(p.Summary, fieldLabel(k)+": "+p.Errors[k])
	}
}

// fieldLabel names a field for people: "consent.text" is "Consent text".
func fieldLabel(k string) string {
	k = strings.NewReplacer("_", " ", ".", " ").Replace(k)
	if k == "" {
		return k
	}
	return strings.ToUpper(k[:1]) + k[1:]
}

// render answers a console page with the status.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	s.console.Render(w, r, status, name, data)
}

// errorPage is the page of an error.
type errorPage struct {
	page
	Heading, Text string
}

// pageError answers err on a console page: the sign-in form for a
// stranger, the step a restricted user must take first, or a page that
// says what went wrong (internal errors only as "internal error").
func (s *Server) pageError(w http.ResponseWriter, r *http.Request, err error) {
	status := ErrorStatus(err)
	p := access.FromContext(r.Context())
	switch {
	case status == http.StatusUnauthorized:
		lp := loginPage{page: s.newPage(r, "Sign in", ""), Next: safeNext(r.URL.RequestURI())}
		if sessionCookieValue(r) != "" {
			lp.Flash = &flash{"warn", "Your session has ended. Sign in again."}
		}
		s.render(w, r, status, "login", lp)
		return
	case status == http.StatusForbidden && p != nil && p.Restriction == access.MustChangePassword:
		http.Redirect(w, r, "/password", http.StatusSeeOther)
		return
	case status == http.StatusForbidden && p != nil && p.Restriction == access.MustEnrolMFA:
		http.Redirect(w, r, "/account", http.StatusSeeOther)
		return
	}
	ep := errorPage{page: s.newPage(r, "Error", ""), Heading: http.StatusText(status), Text: leadcap.ErrorMessage(err)}
	if status == http.StatusForbidden {
		ep.Heading = "Not allowed"
	}
	s.render(w, r, status, "c-error", ep)
}

// safeNext returns target when it is a path on this site, else "/": a
// sign-in never sends anyone elsewhere.
func safeNext(target string) string {
	u, err := url.Parse(target)
	if err != nil || target == "" || !strings.HasPrefix(target, "/") || strings.HasPrefix(target, "//") ||
		strings.HasPrefix(target, "/\\") || u.Host != "" || u.Scheme != "" || strings.HasPrefix(u.Path, "/api/") || u.Path == "/logout" {
		return "/"
	}
	return target
}

// parseForm reads a console form, at most maxFormBody bytes.
func parseForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	if err := r.ParseForm(); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return leadcap.Errorf(leadcap.ETOOLARGE, "the form is larger than %d bytes", maxFormBody)
		}
		return leadcap.Errorf(leadcap.EBADREQUEST, "the form could not be read")
	}
	return nil
}

// seeOther sends the browser on after a successful action.
func seeOther(w http.ResponseWriter, r *http.Request, target string) {
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// option is one choice of a select or radio group.
type option struct {
	Value, Label string
	Selected     bool
}

func options(current string, pairs ...string) []option {
	var out []option
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, option{pairs[i], pairs[i+1], pairs[i] == current})
	}
	return out
}

// handleStatic is GET /static/{file}: the content-hashed assets of the
// console and of the booth form.
func (s *Server) handleStatic(w http.ResponseWriter, r *http.Request) {
	if !s.console.ServeStatic(w, r) {
		s.booth.ServeStatic(w, r)
	}
}
