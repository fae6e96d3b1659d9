package server_test

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/access"
	"github.com/leadcap/leadcap/internal/export"
	"github.com/leadcap/leadcap/internal/identity"
	"github.com/leadcap/leadcap/internal/server"
	"github.com/leadcap/leadcap/internal/store/storetest"
)

// TestEveryRouteDeclaresAPermission walks the route table, and the
// server's source, so that no handler reaches the mux without one.
func TestEveryRouteDeclaresAPermission(t *testing.T) {
	table := server.RouteTable()
	if len(table) < 10 {
		t.Fatalf("route table has only %d routes", len(table))
	}
	seen := map[string]bool{}
	for _, r := range table {
		if !access.Known(r.Permission) {
			t.Errorf("route %q has no known permission (%q)", r.Pattern, r.Permission)
		}
		if seen[r.Pattern] {
			t.Errorf("route %q registered twice", r.Pattern)
		}
		seen[r.Pattern] = true
	}
	// Only route() may touch the mux: a s.mux.Handle elsewhere would be a
	// route without a permission.
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Name.Name == "route" {
				continue
			}
			ast.Inspect(fn, func(n ast.Node) bool {
				sel, ok := n.(*ast.SelectorExpr)
				if !ok || (sel.Sel.Name != "Handle" && sel.Sel.Name != "HandleFunc") {
					return true
				}
				if inner, ok := sel.X.(*ast.SelectorExpr); ok && inner.Sel.Name == "mux" {
					t.Errorf("%s: %s registers a handler on the mux directly; use s.route with a permission",
						fset.Position(sel.Pos()), fn.Name.Name)
				}
				return true
			})
		}
	}
}

// matrixEnv is what the route × role matrix runs in.
type matrixEnv struct {
	ts      *testServer
	roles   map[string]*account
	clients map[string]*client // cached sessions by role
	spare   *account           // target of admin actions
	mfaUser *account
	codes   []string // mfaUser's unused recovery codes
	n       int
}

func (e *matrixEnv) next() int { e.n++; return e.n }

// mustExport makes a stored export of every lead.
func (e *matrixEnv) mustExport(t *testing.T) *leadcap.Export {
	t.Helper()
	x, err := e.ts.exports.Create(context.Background(), export.Request{Format: leadcap.FormatCSV}, export.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// session returns a signed-in client of role ("" for none).
func (e *matrixEnv) session(t *testing.T, role string) *client {
	if role == "" {
		return e.ts.newClient("10.0.0.1")
	}
	if c := e.clients[role]; c != nil {
		return c
	}
	c := e.ts.mustLogin(t, e.roles[role], "10.0.0.2")
	e.clients[role] = c
	return c
}

// matrixCase is how the matrix calls one route: prep returns the request
// for the caller (who is nil without auth); allowed lists the roles that
// may call it (a = admin, s = staff, v = viewer, p = public: anyone);
// want is the status of an allowed call.
type matrixCase struct {
	allowed string
	want    int
	prep    func(t *testing.T, e *matrixEnv, who *account) (method, path string, body any)
	// endsSession: a successful call ends the caller's session.
	endsSession bool
}

func matrixCases() map[string]matrixCase {
	ctx := context.Background()
	static := func(method, path string, body any) func(*testing.T, *matrixEnv, *account) (string, string, any) {
		return func(*testing.T, *matrixEnv, *account) (string, string, any) { return method, path, body }
	}
	spare := func(method, suffix string, body any) func(*testing.T, *matrixEnv, *account) (string, string, any) {
		return func(_ *testing.T, e *matrixEnv, _ *account) (string, string, any) {
			return method, "/api/v1/users/" + e.spare.user.ID + suffix, body
		}
	}
	cases := map[string]matrixCase{
		"GET /healthz": {"p", 200, static("GET", "/healthz", nil), false},
		"GET /readyz":  {"p", 200, static("GET", "/readyz", nil), false},
		// Whatever the role: the client's network is in LEADCAP_METRICS_ALLOW
		// (TestMetricsAccess checks the refusals).
		"GET /metrics":       {"p", 200, static("GET", "/metrics", nil), false},
		"GET /api/v1/alarms": {"a", 200, static("GET", "/api/v1/alarms", nil), false},
		"POST /api/v1/leads": {"p", 201, func(_ *testing.T, e *matrixEnv, _ *account) (string, string, any) {
			n := e.next()
			return "POST", "/api/v1/leads", lead(map[string]any{"submission_id": fmt.Sprint("m-", n), "email": fmt.Sprintf("m%d@example.com", n)})
		}, false},
		"POST /api/v1/auth/login": {"p", 200, func(_ *testing.T, e *matrixEnv, _ *account) (string, string, any) {
			return "POST", "/api/v1/auth/login", map[string]string{"email": e.spare.email, "password": e.spare.password}
		}, false},
		"POST /api/v1/auth/mfa": {"p", 200, func(t *testing.T, e *matrixEnv, _ *account) (string, string, any) {
			r := e.ts.newClient("10.0.0.9").login(t, e.mfaUser.email, e.mfaUser.password)
			if r.str("ticket") == "" {
				t.Fatalf("no MFA ticket: %s", r.raw)
			}
			code := e.codes[0]
			e.codes = e.codes[1:]
			return "POST", "/api/v1/auth/mfa", map[string]string{"ticket": r.str("ticket"), "recovery_code": code}
		}, false},
		"POST /api/v1/auth/logout": {"asv", 204, static("POST", "/api/v1/auth/logout", nil), true},
		"POST /api/v1/auth/password": {"asv", 200, func(_ *testing.T, e *matrixEnv, who *account) (string, string, any) {
			if who == nil {
				return "POST", "/api/v1/auth/password", map[string]string{"current_password": "x", "new_password": "y"}
			}
			old := who.password
			who.password = "a brand new secret " + fmt.Sprint(e.next())
			return "POST", "/api/v1/auth/password", map[string]string{"current_password": old, "new_password": who.password}
		}, true},
		"GET /api/v1/me":            {"asv", 200, static("GET", "/api/v1/me", nil), false},
		"POST /api/v1/me/mfa/enrol": {"asv", 200, static("POST", "/api/v1/me/mfa/enrol", nil), false},
		"POST /api/v1/me/mfa/confirm": {"asv", 200, func(t *testing.T, e *matrixEnv, who *account) (string, string, any) {
			if who == nil {
				return "POST", "/api/v1/me/mfa/confirm", map[string]string{"code": "123456"}
			}
			en, err := e.ts.ident.EnrolMFA(ctx, who.user.ID)
			if err != nil {
				t.Fatal(err)
			}
			return "POST", "/api/v1/me/mfa/confirm", map[string]string{"code": e.ts.code(t, en.Secret, 0)}
		}, false},
		"POST /api/v1/me/mfa/disable": {"asv", 200, func(t *testing.T, e *matrixEnv, who *account) (string, string, any) {
			if who == nil {
				return "POST", "/api/v1/me/mfa/disable", map[string]string{"code": "123456"}
			}
			if _, err := e.ts.ident.ResetMFA(ctx, identity.CLI(), who.user.ID); err != nil {
				t.Fatal(err)
			}
			_, codes := e.ts.mustMFA(t, who)
			return "POST", "/api/v1/me/mfa/disable", map[string]string{"recovery_code": codes[0]}
		}, false},
		"GET /api/v1/me/tokens":  {"asv", 200, static("GET", "/api/v1/me/tokens", nil), false},
		"POST /api/v1/me/tokens": {"asv", 201, static("POST", "/api/v1/me/tokens", map[string]string{"name": "ci", "expires": "30d"}), false},
		"DELETE /api/v1/me/tokens/{id}": {"asv", 204, func(t *testing.T, e *matrixEnv, who *account) (string, string, any) {
			owner := who
			if owner == nil {
				owner = e.spare
			}
			_, tok, err := e.ts.ident.CreateToken(ctx, identity.CLI(), owner.user.ID, "to revoke", 0)
			if err != nil {
				t.Fatal(err)
			}
			return "DELETE", "/api/v1/me/tokens/" + tok.ID, nil
		}, false},
		"GET /api/v1/users": {"a", 200, static("GET", "/api/v1/users", nil), false},
		"POST /api/v1/users": {"a", 201, func(_ *testing.T, e *matrixEnv, _ *account) (string, string, any) {
			return "POST", "/api/v1/users", map[string]any{"email": fmt.Sprintf("new%d@example.com", e.next()), "role": "viewer"}
		}, false},
		"GET /api/v1/users/{id}":   {"a", 200, spare("GET", "", nil), false},
		"PATCH /api/v1/users/{id}": {"a", 200, spare("PATCH", "", map[string]any{"name": "Spare"}), false},
		"DELETE /api/v1/users/{id}": {"a", 204, func(t *testing.T, e *matrixEnv, _ *account) (string, string, any) {
			victim := e.ts.mustAccount(t, leadcap.RoleViewer)
			return "DELETE", "/api/v1/users/" + victim.user.ID, nil
		}, false},
		"POST /api/v1/users/{id}/reset-password": {"a", 200, func(t *testing.T, e *matrixEnv, _ *account) (string, string, any) {
			victim := e.ts.mustAccount(t, leadcap.RoleViewer)
			return "POST", "/api/v1/users/" + victim.user.ID + "/reset-password", nil
		}, false},
		"POST /api/v1/users/{id}/mfa-reset":  {"a", 200, spare("POST", "/mfa-reset", nil), false},
		"GET /api/v1/users/{id}/auth-events": {"a", 200, spare("GET", "/auth-events?limit=5", nil), false},
		"GET /api/v1/audit":                  {"a", 200, static("GET", "/api/v1/audit?action=auth&limit=10", nil), false},
		"/api/":                              {"p", 404, static("GET", "/api/v1/no-such-thing", nil), false},
		"GET /c/{slug}":                      {"p", 200, static("GET", "/c/expo", nil), false},
		"POST /c/{slug}": {"p", 200, func(_ *testing.T, e *matrixEnv, _ *account) (string, string, any) {
			n := e.next()
			return "POST", "/c/expo", url.Values{"submission_id": {fmt.Sprint("form-", n)}, "email": {fmt.Sprintf("f%d@example.com", n)},
				"answers.size": {"solo"}, "consent_contact": {"on"}}
		}, false},
		"GET /c/sw.js":         {"p", 200, static("GET", "/c/sw.js", nil), false},
		"POST /api/v1/exports": {"a", 201, static("POST", "/api/v1/exports", map[string]any{"format": "csv"}), false},
		"GET /api/v1/exports":  {"a", 200, static("GET", "/api/v1/exports", nil), false},
		"GET /api/v1/exports/{id}": {"a", 200, func(t *testing.T, e *matrixEnv, _ *account) (string, string, any) {
			return "GET", "/api/v1/exports/" + e.mustExport(t).ID, nil
		}, false},
		"DELETE /api/v1/exports/{id}": {"a", 204, func(t *testing.T, e *matrixEnv, _ *account) (string, string, any) {
			return "DELETE", "/api/v1/exports/" + e.mustExport(t).ID, nil
		}, false},
		// The signed link is its own permission.
		"GET /api/v1/exports/{id}/download": {"p", 200, func(t *testing.T, e *matrixEnv, _ *account) (string, string, any) {
			return "GET", e.ts.exports.View(e.mustExport(t), 0).URL, nil
		}, false},
		"GET /static/{file}": {"p", 200, func(t *testing.T, e *matrixEnv, _ *account) (string, string, any) {
			page := e.ts.newClient("10.0.0.3").do(t, "GET", "/c/expo", nil).raw
			css := regexp.MustCompile(`/static/booth\.[0-9a-f]+\.css`).FindString(page)
			if css == "" {
				t.Fatal("the form page names no stylesheet")
			}
			return "GET", css, nil
		}, false},

		"GET /api/v1/conferences/{slug}/form-token": {"p", 200, static("GET", "/api/v1/conferences/expo/form-token", nil), false},
		"GET /api/v1/shield/rules":                  {"a", 200, static("GET", "/api/v1/shield/rules?all=true", nil), false},
		"POST /api/v1/shield/rules": {"a", 201, func(_ *testing.T, e *matrixEnv, _ *account) (string, string, any) {
			return "POST", "/api/v1/shield/rules", map[string]any{"action": "block", "network": fmt.Sprintf("192.0.2.%d", e.next()), "note": "matrix"}
		}, false},
		"DELETE /api/v1/shield/rules/{id}": {"a", 200, func(t *testing.T, e *matrixEnv, _ *account) (string, string, any) {
			r := &leadcap.ShieldRule{Action: "block", Network: fmt.Sprintf("198.51.100.%d/32", e.next()), CreatedBy: "test"}
			if _, err := e.ts.store.PutShieldRule(ctx, r); err != nil {
				t.Fatal(err)
			}
			return "DELETE", fmt.Sprint("/api/v1/shield/rules/", r.ID), nil
		}, false},
		"GET /api/v1/shield/blocks":     {"a", 200, static("GET", "/api/v1/shield/blocks?limit=10", nil), false},
		"GET /api/v1/shield/quarantine": {"a", 200, static("GET", "/api/v1/shield/quarantine?conference=expo", nil), false},
		"GET /api/v1/conferences":       {"asv", 200, static("GET", "/api/v1/conferences", nil), false},
		"POST /api/v1/conferences": {"as", 201, func(_ *testing.T, e *matrixEnv, _ *account) (string, string, any) {
			return "POST", "/api/v1/conferences", map[string]any{"name": fmt.Sprintf("Matrix %d", e.next())}
		}, false},
		"GET /api/v1/conferences/{id}":   {"asv", 200, static("GET", "/api/v1/conferences/expo", nil), false},
		"PATCH /api/v1/conferences/{id}": {"as", 200, static("PATCH", "/api/v1/conferences/expo", map[string]any{"venue": "Hall 2"}), false},
		"POST /api/v1/conferences/{id}/open": {"as", 200, func(t *testing.T, e *matrixEnv, _ *account) (string, string, any) {
			c := e.ts.mustConference(t, fmt.Sprint("draft-", e.next()), leadcap.StatusDraft)
			return "POST", "/api/v1/conferences/" + c.ID + "/open", nil
		}, false},
		"POST /api/v1/conferences/{id}/close": {"as", 200, func(t *testing.T, e *matrixEnv, _ *account) (string, string, any) {
			c := e.ts.mustConference(t, fmt.Sprint("open-", e.next()), leadcap.StatusOpen)
			return "POST", "/api/v1/conferences/" + c.ID + "/close", nil
		}, false},
		"DELETE /api/v1/conferences/{id}": {"as", 204, func(t *testing.T, e *matrixEnv, _ *account) (string, string, any) {
			c := e.ts.mustConference(t, fmt.Sprint("gone-", e.next()), leadcap.StatusDraft)
			return "DELETE", "/api/v1/conferences/" + c.ID, nil
		}, false},
		"GET /api/v1/conferences/{id}/qr.png": {"asv", 200, static("GET", "/api/v1/conferences/expo/qr.png", nil), false},
		"GET /api/v1/conferences/{id}/qr.svg": {"asv", 200, static("GET", "/api/v1/conferences/expo/qr.svg?download=1", nil), false},
		"GET /api/v1/leads":                   {"asv", 200, static("GET", "/api/v1/leads?q=ana&sort=rating", nil), false},
		"GET /api/v1/leads/{id}": {"asv", 200, func(t *testing.T, e *matrixEnv, _ *account) (string, string, any) {
			return "GET", "/api/v1/leads/" + e.ts.mustLead(t, "expo", e.next()), nil
		}, false},
		"PATCH /api/v1/leads/{id}": {"as", 200, func(t *testing.T, e *matrixEnv, _ *account) (string, string, any) {
			return "PATCH", "/api/v1/leads/" + e.ts.mustLead(t, "expo", e.next()), map[string]any{"rating": "hot", "note": "Call back"}
		}, false},
		"PATCH /api/v1/leads/{id}/fields": {"a", 200, func(t *testing.T, e *matrixEnv, _ *account) (string, string, any) {
			return "PATCH", "/api/v1/leads/" + e.ts.mustLead(t, "expo", e.next()) + "/fields", map[string]any{"company": "Globex"}
		}, false},
		"DELETE /api/v1/leads/{id}": {"a", 204, func(t *testing.T, e *matrixEnv, _ *account) (string, string, any) {
			return "DELETE", "/api/v1/leads/" + e.ts.mustLead(t, "expo", e.next()), nil
		}, false},
		"GET /api/v1/openapi.json": {"p", 200, static("GET", "/api/v1/openapi.json", nil), false},
	}
	for pattern, c := range pageCases() {
		cases[pattern] = c
	}
	return cases
}

// pageCases are the matrix cases of the console's pages. A form that
// succeeds redirects, and the client follows to a page: 200.
func pageCases() map[string]matrixCase {
	ctx := context.Background()
	static := func(method, path string, body any) func(*testing.T, *matrixEnv, *account) (string, string, any) {
		return func(*testing.T, *matrixEnv, *account) (string, string, any) { return method, path, body }
	}
	form := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v
	}
	fresh := func(status string, path string, body url.Values) func(*testing.T, *matrixEnv, *account) (string, string, any) {
		return func(t *testing.T, e *matrixEnv, _ *account) (string, string, any) {
			c := e.ts.mustConference(t, fmt.Sprint("page-", e.next()), status)
			return "POST", "/conferences/" + c.ID + path, body
		}
	}
	lead := func(method, suffix string, body any) func(*testing.T, *matrixEnv, *account) (string, string, any) {
		return func(t *testing.T, e *matrixEnv, _ *account) (string, string, any) {
			return method, "/leads/" + e.ts.mustLead(t, "expo", e.next()) + suffix, body
		}
	}
	victim := func(suffix string, body any) func(*testing.T, *matrixEnv, *account) (string, string, any) {
		return func(t *testing.T, e *matrixEnv, _ *account) (string, string, any) {
			return "POST", "/users/" + e.ts.mustAccount(t, leadcap.RoleViewer).user.ID + suffix, body
		}
	}
	return map[string]matrixCase{
		"GET /login": {"p", 200, static("GET", "/login?next=/leads", nil), false},
		"POST /login": {"p", 401, func(_ *testing.T, e *matrixEnv, _ *account) (string, string, any) {
			return "POST", "/login", form("email", e.spare.email, "password", "not the password", "next", "/leads")
		}, false},
		"POST /login/mfa": {"p", 401, static("POST", "/login/mfa", form("ticket", "lcm_no-such-ticket", "code", "123456")), false},
		"POST /logout":    {"asv", 200, static("POST", "/logout", nil), true},
		"GET /password":   {"asv", 200, static("GET", "/password", nil), false},
		"POST /password": {"asv", 200, func(_ *testing.T, e *matrixEnv, who *account) (string, string, any) {
			if who == nil {
				return "POST", "/password", form("current_password", "x", "new_password", "y")
			}
			old := who.password
			who.password = "a new page secret " + fmt.Sprint(e.next())
			return "POST", "/password", form("current_password", old, "new_password", who.password)
		}, true},
		"GET /account": {"asv", 200, static("GET", "/account", nil), false},
		"POST /account/mfa/enrol": {"asv", 200, func(t *testing.T, e *matrixEnv, who *account) (string, string, any) {
			if who != nil {
				if _, err := e.ts.ident.ResetMFA(ctx, identity.CLI(), who.user.ID); err != nil {
					t.Fatal(err)
				}
			}
			return "POST", "/account/mfa/enrol", nil
		}, false},
		"POST /account/mfa/confirm": {"asv", 200, func(t *testing.T, e *matrixEnv, who *account) (string, string, any) {
			if who == nil {
				return "POST", "/account/mfa/confirm", form("code", "123456")
			}
			if _, err := e.ts.ident.ResetMFA(ctx, identity.CLI(), who.user.ID); err != nil {
				t.Fatal(err)
			}
			en, err := e.ts.ident.EnrolMFA(ctx, who.user.ID)
			if err != nil {
				t.Fatal(err)
			}
			return "POST", "/account/mfa/confirm", form("code", e.ts.code(t, en.Secret, 0))
		}, false},
		"POST /account/mfa/disable": {"asv", 200, func(t *testing.T, e *matrixEnv, who *account) (string, string, any) {
			if who == nil {
				return "POST", "/account/mfa/disable", form("code", "123456")
			}
			if _, err := e.ts.ident.ResetMFA(ctx, identity.CLI(), who.user.ID); err != nil {
				t.Fatal(err)
			}
			_, codes := e.ts.mustMFA(t, who)
			return "POST", "/account/mfa/disable", form("code", codes[0])
		}, false},
		"POST /account/tokens": {"asv", 200, static("POST", "/account/tokens", form("name", "page token", "expires", "30d")), false},
		"POST /account/tokens/{id}/revoke": {"asv", 200, func(t *testing.T, e *matrixEnv, who *account) (string, string, any) {
			owner := who
			if owner == nil {
				owner = e.spare
			}
			_, tok, err := e.ts.ident.CreateToken(ctx, identity.CLI(), owner.user.ID, "to revoke", 0)
			if err != nil {
				t.Fatal(err)
			}
			return "POST", "/account/tokens/" + tok.ID + "/revoke", nil
		}, false},
		"GET /{$}":             {"asv", 200, static("GET", "/", nil), false},
		"GET /conferences":     {"asv", 200, static("GET", "/conferences", nil), false},
		"GET /conferences/new": {"as", 200, static("GET", "/conferences/new", nil), false},
		"POST /conferences": {"as", 200, func(_ *testing.T, e *matrixEnv, _ *account) (string, string, any) {
			return "POST", "/conferences", form("name", fmt.Sprint("Page expo ", e.next()), "consent.text", "We may call.", "op", "save")
		}, false},
		"GET /conferences/{id}":      {"asv", 200, static("GET", "/conferences/expo", nil), false},
		"GET /conferences/{id}/edit": {"as", 200, static("GET", "/conferences/expo/edit", nil), false},
		"POST /conferences/{id}/edit": {"as", 200, func(t *testing.T, e *matrixEnv, _ *account) (string, string, any) {
			c := e.ts.mustConference(t, fmt.Sprint("page-", e.next()), leadcap.StatusDraft)
			return "POST", "/conferences/" + c.ID + "/edit", form("name", "Edited "+c.Slug, "consent.text", "Ok.", "op", "save")
		}, false},
		"POST /conferences/{id}/open":   {"as", 200, fresh(leadcap.StatusDraft, "/open", nil), false},
		"POST /conferences/{id}/close":  {"as", 200, fresh(leadcap.StatusOpen, "/close", nil), false},
		"POST /conferences/{id}/delete": {"as", 200, fresh(leadcap.StatusDraft, "/delete", nil), false},
		"GET /conferences/{id}/sign":    {"asv", 200, static("GET", "/conferences/expo/sign?paper=letter", nil), false},
		"GET /leads":                    {"asv", 200, static("GET", "/leads?q=ana&rating=none", nil), false},
		"GET /leads/{id}":               {"asv", 200, lead("GET", "", nil), false},
		"POST /leads/{id}":              {"as", 200, lead("POST", "", form("rating", "warm", "tags", "demo", "note", "Hello")), false},
		"GET /leads/{id}/edit":          {"a", 200, lead("GET", "/edit", nil), false},
		"POST /leads/{id}/fields":       {"a", 200, lead("POST", "/fields", form("company", "Globex")), false},
		"POST /leads/{id}/delete":       {"a", 200, lead("POST", "/delete", form("confirm", "yes")), false},
		"POST /leads/export":            {"a", 200, static("POST", "/leads/export", form("format", "csv", "conference", "expo")), false},
		"GET /exports/{id}": {"a", 200, func(t *testing.T, e *matrixEnv, _ *account) (string, string, any) {
			x, err := e.ts.exports.Create(ctx, export.Request{Format: "csv"}, export.Meta{Actor: export.Actor{Name: "test"}})
			if err != nil {
				t.Fatal(err)
			}
			return "GET", "/exports/" + x.ID, nil
		}, false},
		"GET /users": {"a", 200, static("GET", "/users", nil), false},
		"POST /users": {"a", 200, func(_ *testing.T, e *matrixEnv, _ *account) (string, string, any) {
			return "POST", "/users", form("email", fmt.Sprintf("page%d@example.com", e.next()), "role", "viewer")
		}, false},
		"GET /users/{id}": {"a", 200, func(_ *testing.T, e *matrixEnv, _ *account) (string, string, any) {
			return "GET", "/users/" + e.spare.user.ID, nil
		}, false},
		"POST /users/{id}/status":         {"a", 200, victim("/status", form("status", "disabled")), false},
		"POST /users/{id}/role":           {"a", 200, victim("/role", form("role", "staff")), false},
		"POST /users/{id}/reset-password": {"a", 200, victim("/reset-password", nil), false},
		"POST /users/{id}/mfa-reset":      {"a", 200, victim("/mfa-reset", nil), false},
		"GET /audit":                      {"a", 200, static("GET", "/audit?action=auth&since=2000-01-01", nil), false},
	}
}

// TestRouteRoleMatrix calls every route as each role and with no
// credentials, and checks 2xx where the role may, 403 where it may not,
// and 401 without credentials.
func TestRouteRoleMatrix(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ts := newTestServer(t, dsn)
		ts.mustConference(t, "expo", leadcap.StatusOpen)
		e := &matrixEnv{ts: ts, roles: map[string]*account{}, clients: map[string]*client{}}
		for _, role := range []leadcap.Role{leadcap.RoleAdmin, leadcap.RoleStaff, leadcap.RoleViewer} {
			e.roles[string(role)] = ts.mustAccount(t, role)
		}
		e.spare = ts.mustAccount(t, leadcap.RoleStaff)
		e.mfaUser = ts.mustAccount(t, leadcap.RoleViewer)
		_, e.codes = ts.mustMFA(t, e.mfaUser)

		cases := matrixCases()
		for _, r := range server.RouteTable() {
			c, ok := cases[r.Pattern]
			if !ok {
				t.Errorf("route %q has no case in the role matrix: add one", r.Pattern)
				continue
			}
			delete(cases, r.Pattern)
			for _, role := range []string{"", "admin", "staff", "viewer"} {
				want := c.want
				switch {
				case c.allowed == "p":
				case role == "":
					want = 401
				case !strings.Contains(c.allowed, role[:1]):
					want = 403
				}
				var who *account
				if role != "" {
					who = e.roles[role]
				}
				cl := e.session(t, role)
				method, path, body := c.prep(t, e, who)
				got := cl.do(t, method, path, body)
				name := role
				if name == "" {
					name = "no auth"
				}
				if got.status != want {
					t.Errorf("%s as %s: %d, want %d: %.300s", r.Pattern, name, got.status, want, got.raw)
				}
				// A role the table denies must be denied by the permission
				// the route declares, and vice versa.
				if role != "" && c.allowed != "p" {
					declared := access.NewPrincipal(who.user, access.ViaSession, "").Can(r.Permission)
					if declared != strings.Contains(c.allowed, role[:1]) {
						t.Errorf("%s declares %s, which %s allow %s", r.Pattern, r.Permission, map[bool]string{true: "does", false: "does not"}[declared], role)
					}
				}
				if c.endsSession && got.status/100 == 2 {
					delete(e.clients, role)
				}
			}
		}
		for pattern := range cases {
			t.Errorf("the matrix has a case for %q, which is not a route", pattern)
		}
	})
}
