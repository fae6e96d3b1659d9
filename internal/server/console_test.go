package server_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/store/storetest"
)

// page fetches a console page and checks its status and that it holds
// each of want.
func (c *client) page(t *testing.T, path string, status int, want ...string) string {
	t.Helper()
	r := c.do(t, "GET", path, nil)
	if r.status != status {
		t.Fatalf("GET %s: %d, want %d: %.500s", path, r.status, status, r.raw)
	}
	if !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("GET %s: %s, Cache-Control %q", path, r.header.Get("Content-Type"), r.header.Get("Cache-Control"))
	}
	for _, w := range want {
		if !strings.Contains(r.raw, w) {
			t.Errorf("GET %s lacks %q", path, w)
		}
	}
	return r.raw
}

func TestConsolePagesRender(t *testing.T) {
	ts := newClockServer(t, storetest.SQLite(t), time.Now().UTC())
	ts.mustConference(t, "expo", leadcap.StatusOpen)
	id := ts.mustLead(t, "expo", 1)
	admin := ts.mustLogin(t, ts.mustAccount(t, leadcap.RoleAdmin), "10.3.0.1")
	admin.page(t, "/", 200, "Dashboard", "Leads per day", "Expo expo")
	admin.page(t, "/conferences", 200, "Expo expo")
	c := admin.page(t, "/conferences/expo", 200, "qr.svg", "/c/expo")
	_ = c
	admin.page(t, "/conferences/new", 200, "New conference")
	admin.page(t, "/conferences/expo/edit", 200, "Questions", "Your role")
	admin.page(t, "/conferences/expo/sign?paper=letter", 200, "sheet letter", "Scan to leave your details")
	admin.page(t, "/leads", 200, "Ana")
	admin.page(t, "/leads/"+id, 200, "Ana", "We may contact you.")
	admin.page(t, "/leads/"+id+"/edit", 200, "Correct")
	admin.page(t, "/users", 200, "Add a user")
	admin.page(t, "/users/"+admin.ts.mustAccount(t, leadcap.RoleStaff).user.ID, 200, "Reset password")
	admin.page(t, "/audit", 200, "Audit trail")
	admin.page(t, "/account", 200, "Personal access tokens")
	stranger := ts.newClient("10.3.0.9")
	stranger.page(t, "/leads", 401, "Sign in", `name="next" value="/leads"`)
	stranger.page(t, "/login", 200, "Sign in")
	// Export what the table shows, and download it by its signed link.
	page := admin.page(t, "/leads?conference=expo", 200, `action="/leads/export"`, `name="conference" value="expo"`)
	_ = page
	ts.clock.add(time.Second) // an export takes the leads stored before it
	r := admin.do(t, "POST", "/leads/export", url.Values{"format": {"csv"}, "conference": {"expo"}})
	link := regexp.MustCompile(`href="(/api/v1/exports/[^"]+/download[^"]*)"`).FindStringSubmatch(r.raw)
	if r.status != 200 || link == nil {
		t.Fatalf("export: %d %.500s", r.status, r.raw)
	}
	dl := ts.newClient("10.3.0.8").do(t, "GET", html.UnescapeString(link[1]), nil)
	if dl.status != 200 || !strings.Contains(dl.raw, "lead1@example.com") {
		t.Fatalf("download: %d %.300s", dl.status, dl.raw)
	}
	staff := ts.mustLogin(t, ts.mustAccount(t, leadcap.RoleStaff), "10.3.0.7")
	if p := staff.page(t, "/leads", 200); strings.Contains(p, "/leads/export") {
		t.Fatal("staff see the export control")
	}
	r = admin.do(t, "POST", "/leads/"+id, url.Values{"rating": {"hot"}, "tags": {"vip, demo"}, "note": {"Call on Monday"}})
	if r.status != 200 || !strings.Contains(r.raw, "Call on Monday") || !strings.Contains(r.raw, "Saved.") {
		t.Fatalf("rate: %d %.300s", r.status, r.raw)
	}
}

// TestConsoleSignInGuards: the sign-in form refuses posts from other
// sites and never sends a browser elsewhere after signing in.
func TestConsoleSignInGuards(t *testing.T) {
	ts := newTestServer(t, storetest.SQLite(t))
	acct := ts.mustAccount(t, leadcap.RoleStaff)
	noRedirect := func(c *client) {
		c.http.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	post := func(c *client, origin, next string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("POST", ts.URL+"/login", strings.NewReader(url.Values{"email": {acct.email},
			"password": {acct.password}, "next": {next}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		res, err := c.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	c := ts.newClient("")
	noRedirect(c)
	if res := post(c, "https://evil.example", "/leads"); res.StatusCode != 403 || len(res.Cookies()) != 0 {
		t.Fatalf("a sign-in posted from another site: %d %v", res.StatusCode, res.Cookies())
	}
	for next, want := range map[string]string{
		"/leads?rating=hot": "/leads?rating=hot", "//evil.example/x": "/", "https://evil.example": "/",
		`/\evil.example`: "/", "/api/v1/leads": "/", "": "/", "leads": "/",
	} {
		c := ts.newClient("")
		noRedirect(c)
		res := post(c, ts.URL, next)
		if res.StatusCode != 303 || res.Header.Get("Location") != want {
			t.Errorf("next=%q: %d to %q, want %q", next, res.StatusCode, res.Header.Get("Location"), want)
		}
	}
}
