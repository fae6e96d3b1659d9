package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/identity"
	"github.com/leadcap/leadcap/internal/store"
	"github.com/leadcap/leadcap/internal/store/storetest"
)

func TestTemporaryPassword(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ts := newTestServer(t, dsn)
		admin := ts.mustLogin(t, ts.mustAccount(t, leadcap.RoleAdmin), "10.1.0.1")
		r := admin.do(t, "POST", "/api/v1/users", map[string]any{"email": "Bo@Example.com", "name": "Bo", "role": "staff"})
		temp := r.str("temporary_password")
		if r.status != 201 || len(temp) < 12 {
			t.Fatalf("create user: %d %s", r.status, r.raw)
		}
		bo := ts.newClient("10.1.0.2")
		r = bo.login(t, "bo@example.com", temp)
		if r.status != 200 || r.body["password_change_required"] != true {
			t.Fatalf("login with temporary password: %d %s", r.status, r.raw)
		}
		// The temporary password is good only for choosing a new one.
		if r = bo.do(t, "GET", "/api/v1/me/tokens", nil); r.status != 403 || !strings.Contains(r.errMessage(), "temporary password") {
			t.Fatalf("restricted session reached a route: %d %s", r.status, r.raw)
		}
		if r = bo.do(t, "GET", "/api/v1/me", nil); r.status != 200 || r.str("restriction") != "password_change_required" {
			t.Fatalf("me: %d %s", r.status, r.raw)
		}
		if r = bo.do(t, "POST", "/api/v1/auth/password", map[string]string{"current_password": temp, "new_password": "short"}); r.status != 422 || r.field("new_password") == "" {
			t.Fatalf("weak password accepted: %d %s", r.status, r.raw)
		}
		if r = bo.do(t, "POST", "/api/v1/auth/password", map[string]string{"current_password": temp, "new_password": "password1234"}); r.status != 422 || !strings.Contains(r.field("new_password"), "common") {
			t.Fatalf("common password accepted: %d %s", r.status, r.raw)
		}
		old := bo.csrf
		if r = bo.do(t, "POST", "/api/v1/auth/password", map[string]string{"current_password": temp, "new_password": "mangrove kayak at dawn"}); r.status != 200 || r.body["password_change_required"] == true {
			t.Fatalf("change password: %d %s", r.status, r.raw)
		}
		if bo.csrf == old {
			t.Fatal("the session was not replaced after the password change")
		}
		if r = bo.do(t, "GET", "/api/v1/me/tokens", nil); r.status != 200 {
			t.Fatalf("after the change: %d %s", r.status, r.raw)
		}
		// The temporary password no longer works.
		if r = ts.newClient("10.1.0.3").login(t, "bo@example.com", temp); r.status != 401 {
			t.Fatalf("old temporary password: %d %s", r.status, r.raw)
		}

		// A temporary password expires (7 days by default).
		r = admin.do(t, "POST", "/api/v1/users", map[string]any{"email": "late@example.com", "role": "viewer"})
		late := r.str("temporary_password")
		ts.clock.add(7*24*time.Hour + time.Second)
		admin = ts.mustLogin(t, ts.mustAccount(t, leadcap.RoleAdmin), "10.1.0.1") // the old session idled out
		if r = ts.newClient("10.1.0.4").login(t, "late@example.com", late); r.status != 401 || !strings.Contains(r.errMessage(), "expired") {
			t.Fatalf("expired temporary password: %d %s", r.status, r.raw)
		}
		// A reset gives a working one again.
		lateUser, _ := ts.ident.User(context.Background(), "late@example.com")
		r = admin.do(t, "POST", "/api/v1/users/"+lateUser.ID+"/reset-password", nil)
		if r.status != 200 {
			t.Fatalf("reset: %d %s", r.status, r.raw)
		}
		if r = ts.newClient("10.1.0.4").login(t, "late@example.com", r.str("temporary_password")); r.status != 200 || r.body["password_change_required"] != true {
			t.Fatalf("after reset: %d %s", r.status, r.raw)
		}
	})
}

func TestChangesEndSessionsAndTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ts := newTestServer(t, dsn)
		admin := ts.mustLogin(t, ts.mustAccount(t, leadcap.RoleAdmin), "10.2.0.1")
		staff := ts.mustAccount(t, leadcap.RoleStaff)
		sess := ts.mustLogin(t, staff, "10.2.0.2")
		tok := ts.mustToken(t, staff, "10.2.0.3")
		for _, c := range []*client{sess, tok} {
			if r := c.do(t, "GET", "/api/v1/me", nil); r.status != 200 {
				t.Fatalf("before: %d %s", r.status, r.raw)
			}
		}
		path := "/api/v1/users/" + staff.user.ID
		if r := admin.do(t, "PATCH", path, map[string]any{"status": "disabled"}); r.status != 200 || r.str("status") != "disabled" {
			t.Fatalf("disable: %d %s", r.status, r.raw)
		}
		for name, c := range map[string]*client{"session": sess, "token": tok} {
			if r := c.do(t, "GET", "/api/v1/me", nil); r.status != 401 {
				t.Fatalf("%s of a disabled user: %d %s", name, r.status, r.raw)
			}
		}
		if r := ts.newClient("10.2.0.4").login(t, staff.email, staff.password); r.status != 401 || !strings.Contains(r.errMessage(), "disabled") {
			t.Fatalf("login while disabled: %d %s", r.status, r.raw)
		}
		// Enabling again does not bring the token back.
		admin.do(t, "PATCH", path, map[string]any{"status": "active"})
		if r := tok.do(t, "GET", "/api/v1/me", nil); r.status != 401 || !strings.Contains(r.errMessage(), "revoked") {
			t.Fatalf("token after enable: %d %s", r.status, r.raw)
		}
		// A role change ends sessions; tokens act with the new role at once.
		sess = ts.mustLogin(t, staff, "10.2.0.2")
		tok = ts.mustToken(t, staff, "10.2.0.3")
		if r := admin.do(t, "PATCH", path, map[string]any{"role": "viewer"}); r.status != 200 {
			t.Fatalf("role change: %d %s", r.status, r.raw)
		}
		if r := sess.do(t, "GET", "/api/v1/me", nil); r.status != 401 {
			t.Fatalf("session after role change: %d", r.status)
		}
		if r := tok.do(t, "GET", "/api/v1/me", nil); r.status != 200 || r.body["user"].(map[string]any)["role"] != "viewer" {
			t.Fatalf("token after role change: %d %s", r.status, r.raw)
		}
		// A password reset ends sessions.
		sess = ts.mustLogin(t, staff, "10.2.0.2")
		admin.do(t, "POST", path+"/reset-password", nil)
		if r := sess.do(t, "GET", "/api/v1/me", nil); r.status != 401 {
			t.Fatalf("session after reset: %d", r.status)
		}
		// The last admin cannot be disabled, demoted or deleted.
		ctx := context.Background()
		for _, u := range mustUsers(t, ts) {
			if u.Role == leadcap.RoleAdmin {
				continue
			}
			ts.ident.DeleteUser(ctx, identity.CLI(), u.ID)
		}
		me := admin.do(t, "GET", "/api/v1/me", nil).body["user"].(map[string]any)["id"].(string)
		admins := 0
		for _, u := range mustUsers(t, ts) {
			if u.Role == leadcap.RoleAdmin && u.ID != me {
				ts.ident.DeleteUser(ctx, identity.CLI(), u.ID)
			}
			admins++
		}
		for _, change := range []map[string]any{{"status": "disabled"}, {"role": "staff"}} {
			if r := admin.do(t, "PATCH", "/api/v1/users/"+me, change); r.status != 409 {
				t.Fatalf("last admin %v: %d %s", change, r.status, r.raw)
			}
		}
		if r := admin.do(t, "DELETE", "/api/v1/users/"+me, nil); r.status != 409 {
			t.Fatalf("delete last admin: %d %s", r.status, r.raw)
		}
	})
}

func mustUsers(t *testing.T, ts *testServer) []*leadcap.User {
	t.Helper()
	list, err := ts.ident.Users(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func TestTOTP(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ts := newTestServer(t, dsn)
		acct := ts.mustAccount(t, leadcap.RoleStaff)
		c := ts.mustLogin(t, acct, "10.3.0.1")
		r := c.do(t, "POST", "/api/v1/me/mfa/enrol", nil)
		secret := r.str("secret")
		if r.status != 200 || secret == "" || !strings.HasPrefix(r.str("uri"), "otpauth://totp/") || !strings.Contains(r.str("uri"), "secret="+secret) {
			t.Fatalf("enrol: %d %s", r.status, r.raw)
		}
		if png := r.str("qr_png"); !strings.HasPrefix(png, "iVBORw0KGgo") { // base64 of the PNG signature
			t.Fatalf("QR code is not a PNG: %.40s", png)
		}
		if r = c.do(t, "POST", "/api/v1/me/mfa/confirm", map[string]string{"code": "000000"}); r.status != 422 {
			t.Fatalf("confirm with a wrong code: %d %s", r.status, r.raw)
		}
		confirmCode := ts.code(t, secret, 0)
		r = c.do(t, "POST", "/api/v1/me/mfa/confirm", map[string]string{"code": confirmCode})
		codes, _ := r.body["recovery_codes"].([]any)
		if r.status != 200 || len(codes) != 10 {
			t.Fatalf("confirm: %d %s", r.status, r.raw)
		}
		seen := map[any]bool{}
		for _, code := range codes {
			seen[code] = true
		}
		if len(seen) != 10 {
			t.Fatalf("recovery codes repeat: %v", codes)
		}

		step := func(code string, recovery string) reply {
			t.Helper()
			r := ts.newClient("10.3.0.2").login(t, acct.email, acct.password)
			if r.status != 200 || r.body["mfa_required"] != true || r.str("ticket") == "" || r.body["user"] != nil {
				t.Fatalf("password step: %d %s", r.status, r.raw)
			}
			return ts.newClient("10.3.0.2").do(t, "POST", "/api/v1/auth/mfa",
				map[string]string{"ticket": r.str("ticket"), "code": code, "recovery_code": recovery})
		}
		// The code used to confirm is spent.
		if r = step(confirmCode, ""); r.status != 422 || !strings.Contains(r.field("code"), "used") {
			t.Fatalf("reused confirm code: %d %s", r.status, r.raw)
		}
		ts.clock.add(30 * time.Second)
		// A stale code (two steps ago) is refused.
		if r = step(ts.code(t, secret, -90*time.Second), ""); r.status != 422 {
			t.Fatalf("stale code: %d %s", r.status, r.raw)
		}
		valid := ts.code(t, secret, 0)
		if r = step(valid, ""); r.status != 200 || r.str("csrf_token") == "" {
			t.Fatalf("valid code: %d %s", r.status, r.raw)
		}
		if r = step(valid, ""); r.status != 422 || !strings.Contains(r.field("code"), "used") {
			t.Fatalf("the same code again: %d %s", r.status, r.raw)
		}
		// The previous step's code is within the skew, but older than the one used.
		if r = step(ts.code(t, secret, -30*time.Second), ""); r.status != 422 {
			t.Fatalf("an older step after a newer one: %d %s", r.status, r.raw)
		}
		rc := codes[3].(string)
		if r = step("", strings.ToUpper(strings.ReplaceAll(rc, "-", " "))); r.status != 200 {
			t.Fatalf("recovery code: %d %s", r.status, r.raw)
		}
		if r = step("", rc); r.status != 422 {
			t.Fatalf("recovery code twice: %d %s", r.status, r.raw)
		}
		me := step("", codes[4].(string))
		if me.status != 200 {
			t.Fatalf("another recovery code: %d", me.status)
		}
		if left := c.do(t, "GET", "/api/v1/me", nil).body["recovery_codes_left"]; left != 8.0 {
			t.Fatalf("recovery codes left: %v, want 8", left)
		}
		// A ticket takes at most five codes.
		r = ts.newClient("10.3.0.3").login(t, acct.email, acct.password)
		for i := range 6 {
			res := ts.newClient("10.3.0.3").do(t, "POST", "/api/v1/auth/mfa", map[string]string{"ticket": r.str("ticket"), "code": "999999"})
			if i == 5 && (res.status != 401 || !strings.Contains(res.errMessage(), "sign in again")) {
				t.Fatalf("sixth code on one ticket: %d %s", res.status, res.raw)
			}
		}
		// Disable with a fresh code.
		ts.clock.add(2 * time.Minute) // also lets the guesses above cool down
		if r = c.do(t, "POST", "/api/v1/me/mfa/disable", map[string]string{"code": ts.code(t, secret, 0)}); r.status != 200 {
			t.Fatalf("disable: %d %s", r.status, r.raw)
		}
		if r = ts.newClient("10.3.0.4").login(t, acct.email, acct.password); r.status != 200 || r.body["mfa_required"] == true {
			t.Fatalf("login after disable: %d %s", r.status, r.raw)
		}
		// Every MFA change is in the user's auth events.
		events, _, err := ts.ident.AuthEvents(context.Background(), acct.user.ID, 100, 0)
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, ev := range events {
			actions = append(actions, ev.Action+"/"+ev.Result)
		}
		for _, want := range []string{"auth.mfa.enable/success", "auth.mfa.disable/success", "auth.login.mfa/failure", "auth.login/success"} {
			if !slices.Contains(actions, want) {
				t.Errorf("auth events lack %s: %v", want, actions)
			}
		}
	})
}

func TestAdminMFARequired(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ts := newTestServer(t, dsn, func(o *identity.Options) { o.RequireAdminMFA = true })
		admin := ts.mustAccount(t, leadcap.RoleAdmin)
		c := ts.mustLogin(t, admin, "10.4.0.1")
		if r := c.do(t, "GET", "/api/v1/users", nil); r.status != 403 || !strings.Contains(r.errMessage(), "MFA") {
			t.Fatalf("admin without MFA: %d %s", r.status, r.raw)
		}
		r := c.do(t, "POST", "/api/v1/me/mfa/enrol", nil)
		if r.status != 200 {
			t.Fatalf("enrol: %d %s", r.status, r.raw)
		}
		if r = c.do(t, "POST", "/api/v1/me/mfa/confirm", map[string]string{"code": ts.code(t, r.str("secret"), 0)}); r.status != 200 {
			t.Fatalf("confirm: %d %s", r.status, r.raw)
		}
		if r = c.do(t, "GET", "/api/v1/users", nil); r.status != 200 {
			t.Fatalf("admin with MFA: %d %s", r.status, r.raw)
		}
		// Staff are not held to it.
		if r = ts.mustLogin(t, ts.mustAccount(t, leadcap.RoleStaff), "10.4.0.2").do(t, "GET", "/api/v1/me/tokens", nil); r.status != 200 {
			t.Fatalf("staff: %d %s", r.status, r.raw)
		}
	})
}

func TestThrottle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ts := newTestServer(t, dsn)
		victim := ts.mustAccount(t, leadcap.RoleStaff)
		// The owner signed in from their laptop before: it has a device cookie.
		laptop := ts.mustLogin(t, victim, "10.5.0.1")

		// A stranger guesses from many IPs (so only the account limit bites).
		guess := func(i int, pw string) reply {
			return ts.newClient(fmt.Sprintf("203.0.113.%d", i)).login(t, victim.email, pw)
		}
		for i := range 10 {
			if r := guess(i, "wrong guess number "+strconv.Itoa(i)); r.status != 401 {
				t.Fatalf("guess %d: %d %s", i, r.status, r.raw)
			}
		}
		r := guess(11, "another wrong guess")
		if r.status != 429 || r.errCode() != leadcap.ETOOMANY {
			t.Fatalf("11th guess: %d %s", r.status, r.raw)
		}
		if ra, _ := strconv.Atoi(r.header.Get("Retry-After")); ra < 1 || ra > 60 {
			t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
		}
		// While throttled even the right password from a stranger's browser waits...
		if r = guess(12, victim.password); r.status != 429 {
			t.Fatalf("right password while throttled: %d", r.status)
		}
		// ...but the owner's own browser is not locked out.
		if r = laptop.login(t, victim.email, victim.password); r.status != 200 {
			t.Fatalf("owner's device while throttled: %d %s", r.status, r.raw)
		}
		// After the cool-down a guess is allowed again, and a success
		// does not count.
		ts.clock.add(61 * time.Second)
		if r = guess(13, victim.password); r.status != 200 {
			t.Fatalf("after the cool-down: %d %s", r.status, r.raw)
		}
		if r = guess(14, "wrong again"); r.status != 401 {
			t.Fatalf("a guess after the cool-down: %d %s", r.status, r.raw)
		}
		if r = guess(15, "wrong again"); r.status != 429 {
			t.Fatalf("the bucket refills one guess a minute: %d %s", r.status, r.raw)
		}

		// One IP guessing many accounts is throttled by IP, for any email.
		attacker := ts.newClient("198.51.100.7")
		for i := range 20 {
			if r = attacker.login(t, fmt.Sprintf("who%d@example.com", i), "not the password"); r.status != 401 {
				t.Fatalf("spray %d: %d %s", i, r.status, r.raw)
			}
		}
		if r = attacker.login(t, "fresh@example.com", "not the password"); r.status != 429 {
			t.Fatalf("21st failure from one IP: %d %s", r.status, r.raw)
		}
		if r = ts.newClient("198.51.100.8").login(t, "fresh@example.com", "not the password"); r.status != 401 {
			t.Fatalf("another IP: %d %s", r.status, r.raw)
		}
		ts.clock.add(31 * time.Second)
		if r = attacker.login(t, "fresh2@example.com", "not the password"); r.status != 401 {
			t.Fatalf("IP after the cool-down: %d %s", r.status, r.raw)
		}
		// Lockouts are audited.
		evs, _, err := ts.store.AuditEvents(context.Background(), store.AuditFilter{Action: leadcap.AuditLockout})
		if err != nil || len(evs) < 2 {
			t.Fatalf("lockout records: %d %v", len(evs), err)
		}
	})
}

func TestLoginDoesNotRevealEmail(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ts := newTestServer(t, dsn)
		known := ts.mustAccount(t, leadcap.RoleViewer)
		var unknownTimes, knownTimes []time.Duration
		var bodies []string
		for i := range 5 {
			for _, email := range []string{known.email, fmt.Sprintf("nobody%d@example.com", i)} {
				start := time.Now()
				r := ts.newClient(fmt.Sprintf("192.0.2.%d", i)).login(t, email, "not the right password")
				d := time.Since(start)
				if r.status != 401 {
					t.Fatalf("%s: %d %s", email, r.status, r.raw)
				}
				bodies = append(bodies, r.raw)
				if email == known.email {
					knownTimes = append(knownTimes, d)
				} else {
					unknownTimes = append(unknownTimes, d)
				}
			}
		}
		for _, b := range bodies {
			if b != bodies[0] {
				t.Fatalf("answers differ:\n%s\n%s", bodies[0], b)
			}
		}
		median := func(ds []time.Duration) time.Duration {
			sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
			return ds[len(ds)/2]
		}
		k, u := median(knownTimes), median(unknownTimes)
		ratio := float64(k) / float64(u)
		t.Logf("median time: known email %v, unknown email %v", k, u)
		// A skipped password hash for unknown emails would show as a ratio
		// of 50 or more; the wide band keeps a loaded machine from failing
		// the test while still catching that.
		if ratio < 0.25 || ratio > 4 {
			t.Fatalf("known email takes %v, unknown %v: the timing tells them apart", k, u)
		}
	})
}

func TestCSRFAndCredentials(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ts := newTestServer(t, dsn)
		acct := ts.mustAccount(t, leadcap.RoleStaff)
		c := ts.mustLogin(t, acct, "10.6.0.1")
		// The cookie is HttpOnly and SameSite=Lax (Secure only under TLS).
		u, _ := url.Parse(ts.URL)
		if len(c.http.Jar.Cookies(u)) == 0 {
			t.Fatal("no session cookie")
		}
		res := loginRaw(t, ts, acct)
		var sc *http.Cookie
		for _, ck := range res.Cookies() {
			if ck.Name == "leadcap_session" {
				sc = ck
			}
		}
		if sc == nil || !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode || sc.Secure {
			t.Fatalf("session cookie: %+v", sc)
		}
		body := map[string]string{"name": "x"}
		if r := c.do(t, "POST", "/api/v1/me/tokens", body, true); r.status != 403 || !strings.Contains(r.errMessage(), "CSRF") {
			t.Fatalf("POST without CSRF token: %d %s", r.status, r.raw)
		}
		good := c.csrf
		c.csrf = "wrong" + good[5:]
		if r := c.do(t, "POST", "/api/v1/me/tokens", body); r.status != 403 {
			t.Fatalf("POST with a wrong CSRF token: %d %s", r.status, r.raw)
		}
		c.csrf = good
		if r := c.do(t, "POST", "/api/v1/me/tokens", body); r.status != 201 {
			t.Fatalf("POST with the CSRF token: %d %s", r.status, r.raw)
		}
		// A GET needs none.
		if r := c.do(t, "GET", "/api/v1/me", nil, true); r.status != 200 {
			t.Fatalf("GET: %d", r.status)
		}
		// An HTML form sends it as a field.
		req, _ := http.NewRequest("POST", ts.URL+"/api/v1/auth/logout", strings.NewReader("csrf_token="+url.QueryEscape(good)))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res2, err := c.http.Do(req)
		if err != nil || res2.StatusCode != 204 {
			t.Fatalf("form logout: %v %v", res2.StatusCode, err)
		}
		res2.Body.Close()
		if r := c.do(t, "GET", "/api/v1/me", nil); r.status != 401 {
			t.Fatalf("after logout: %d", r.status)
		}

		// A bearer token never falls back to the cookie.
		c = ts.mustLogin(t, acct, "10.6.0.1")
		c.bearer = "lct_not-a-real-token"
		if r := c.do(t, "GET", "/api/v1/me", nil); r.status != 401 {
			t.Fatalf("bad bearer with a good cookie: %d %s", r.status, r.raw)
		}
		c.bearer = ""
		// Other Authorization schemes are refused, not ignored.
		req, _ = http.NewRequest("GET", ts.URL+"/api/v1/me", nil)
		req.SetBasicAuth(acct.email, acct.password)
		res3, _ := c.http.Do(req)
		if res3.StatusCode != 401 {
			t.Fatalf("basic auth with a cookie: %d", res3.StatusCode)
		}
		res3.Body.Close()
		// A token is not subject to CSRF: browsers do not send it by themselves.
		tok := ts.mustToken(t, acct, "10.6.0.2")
		if r := tok.do(t, "POST", "/api/v1/me/tokens", map[string]string{"name": "y"}); r.status != 201 {
			t.Fatalf("token POST: %d %s", r.status, r.raw)
		}
	})
}

func loginRaw(t *testing.T, ts *testServer, a *account) *http.Response {
	t.Helper()
	res, err := http.Post(ts.URL+"/api/v1/auth/login", "application/json",
		strings.NewReader(fmt.Sprintf(`{"email":%q,"password":%q}`, a.email, a.password)))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res
}

func TestTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ts := newTestServer(t, dsn)
		acct := ts.mustAccount(t, leadcap.RoleStaff)
		c := ts.mustLogin(t, acct, "10.7.0.1")
		r := c.do(t, "POST", "/api/v1/me/tokens", map[string]string{"name": "crm sync", "expires": "2h"})
		secret := r.str("token")
		if r.status != 201 || !strings.HasPrefix(secret, "lct_") {
			t.Fatalf("create: %d %s", r.status, r.raw)
		}
		id := r.body["info"].(map[string]any)["id"].(string)
		api := ts.newClient("10.7.0.2")
		api.bearer = secret
		if r = api.do(t, "GET", "/api/v1/me", nil); r.status != 200 || r.str("via") != "token" {
			t.Fatalf("use: %d %s", r.status, r.raw)
		}
		list := c.do(t, "GET", "/api/v1/me/tokens", nil)
		if !strings.Contains(list.raw, `"last_used_at"`) || strings.Contains(list.raw, secret) {
			t.Fatalf("list: %s", list.raw)
		}
		// Another user cannot revoke it.
		other := ts.mustLogin(t, ts.mustAccount(t, leadcap.RoleStaff), "10.7.0.3")
		if r = other.do(t, "DELETE", "/api/v1/me/tokens/"+id, nil); r.status != 404 {
			t.Fatalf("revoke someone else's token: %d", r.status)
		}
		if r = c.do(t, "DELETE", "/api/v1/me/tokens/"+id, nil); r.status != 204 {
			t.Fatalf("revoke: %d %s", r.status, r.raw)
		}
		if r = api.do(t, "GET", "/api/v1/me", nil); r.status != 401 || !strings.Contains(r.errMessage(), "revoked") {
			t.Fatalf("revoked token: %d %s", r.status, r.raw)
		}
		// Expiry.
		r = c.do(t, "POST", "/api/v1/me/tokens", map[string]string{"name": "short", "expires": "1h"})
		api.bearer = r.str("token")
		ts.clock.add(59 * time.Minute)
		if r = api.do(t, "GET", "/api/v1/me", nil); r.status != 200 {
			t.Fatalf("before expiry: %d", r.status)
		}
		ts.clock.add(2 * time.Minute)
		if r = api.do(t, "GET", "/api/v1/me", nil); r.status != 401 || !strings.Contains(r.errMessage(), "expired") {
			t.Fatalf("expired token: %d %s", r.status, r.raw)
		}
		for _, bad := range []map[string]any{{"name": ""}, {"name": "x", "expires": "400d"}, {"name": "x", "expires": "soon"}} {
			c = ts.mustLogin(t, acct, "10.7.0.1")
			if r = c.do(t, "POST", "/api/v1/me/tokens", bad); r.status != 422 {
				t.Fatalf("token %v: %d %s", bad, r.status, r.raw)
			}
		}
	})
}

func TestTrustedLeadSource(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ts := newTestServer(t, dsn)
		ts.mustConference(t, "expo", leadcap.StatusOpen)
		staff := ts.mustToken(t, ts.mustAccount(t, leadcap.RoleStaff), "10.8.0.1")
		viewer := ts.mustToken(t, ts.mustAccount(t, leadcap.RoleViewer), "10.8.0.2")
		anon := ts.newClient("10.8.0.3")
		for i, tt := range []struct {
			c    *client
			want int
		}{{staff, 201}, {viewer, 422}, {anon, 422}} {
			body := lead(map[string]any{"submission_id": fmt.Sprint("src-", i), "email": fmt.Sprintf("s%d@example.com", i), "source": "staff"})
			if r := tt.c.do(t, "POST", "/api/v1/leads", body); r.status != tt.want {
				t.Errorf("caller %d: %d, want %d: %s", i, r.status, tt.want, r.raw)
			}
		}
		// A session cookie does not make a lead trusted: only tokens do.
		sess := ts.mustLogin(t, ts.mustAccount(t, leadcap.RoleStaff), "10.8.0.4")
		if r := sess.do(t, "POST", "/api/v1/leads", lead(map[string]any{"submission_id": "src-9", "email": "s9@example.com", "source": "staff"})); r.status != 422 {
			t.Errorf("session: %d %s", r.status, r.raw)
		}
	})
}

func TestAuditAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ts := newTestServer(t, dsn)
		admin := ts.mustLogin(t, ts.mustAccount(t, leadcap.RoleAdmin), "10.9.0.1")
		for i := range 3 {
			ts.newClient("10.9.0.2").login(t, fmt.Sprintf("x%d@example.com", i), "wrong password!")
		}
		r := admin.do(t, "GET", "/api/v1/audit?action=auth.login&result=failure&limit=2", nil)
		events, _ := r.body["events"].([]any)
		if r.status != 200 || len(events) != 2 || r.str("next") == "" {
			t.Fatalf("page 1: %d %s", r.status, r.raw)
		}
		first := events[0].(map[string]any)
		if first["client_ip"] != "10.9.0.2" || first["actor"] != "anonymous" || first["hash"] == "" {
			t.Fatalf("record: %v", first)
		}
		r = admin.do(t, "GET", "/api/v1/audit?action=auth.login&result=failure&limit=2&cursor="+r.str("next"), nil)
		if events, _ = r.body["events"].([]any); r.status != 200 || len(events) != 1 || r.str("next") != "" {
			t.Fatalf("page 2: %d %s", r.status, r.raw)
		}
		since := url.QueryEscape(ts.clock.now().Add(time.Hour).Format(time.RFC3339))
		if r = admin.do(t, "GET", "/api/v1/audit?since="+since, nil); r.status != 200 || len(r.body["events"].([]any)) != 0 {
			t.Fatalf("since the future: %d %s", r.status, r.raw)
		}
		for _, q := range []string{"?bogus=1", "?limit=0", "?limit=x", "?since=yesterday", "?result=maybe", "?cursor=-1", "?limit=1&limit=2"} {
			if r = admin.do(t, "GET", "/api/v1/audit"+q, nil); r.status != 400 {
				t.Errorf("audit%s: %d %s", q, r.status, r.raw)
			}
		}
		// Strict JSON in: unknown fields, wrong types, oversize, wrong type.
		for _, tt := range []struct {
			body string
			want int
		}{
			{`{"email":"a@example.com","role":"viewer","admin":true}`, 400},
			{`{"email":5,"role":"viewer"}`, 400},
			{`{"email":"a@example.com","role":"viewer"} {}`, 400},
			{`{"email":"` + strings.Repeat("a", 20000) + `"}`, 413},
			{`not json`, 400},
			{``, 400},
			{`{"email":"not an email","role":"boss","permissions":["users:manage"]}`, 422},
		} {
			if r = admin.do(t, "POST", "/api/v1/users", tt.body); r.status != tt.want {
				t.Errorf("create user with %.60s: %d, want %d: %s", tt.body, r.status, tt.want, r.raw)
			}
		}
		if r.field("email") == "" || r.field("role") == "" || r.field("permissions") == "" {
			t.Errorf("422 does not name every bad field: %s", r.raw)
		}
	})
}
