package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/crypto"
	"github.com/leadcap/leadcap/internal/identity"
	"github.com/pquerna/otp/totp"
)

// clock is a settable time for the server and identity service.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	return &clock{t: time.Now().UTC().Truncate(time.Minute)}
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// account is a test user with a known password.
type account struct {
	user     *leadcap.User
	email    string
	password string
}

var userSeq struct {
	sync.Mutex
	n int
}

// mustAccount creates a user of role with a chosen (not temporary)
// password.
func (ts *testServer) mustAccount(t testing.TB, role leadcap.Role, perms ...string) *account {
	t.Helper()
	userSeq.Lock()
	userSeq.n++
	n := userSeq.n
	userSeq.Unlock()
	email := fmt.Sprintf("%s%d@example.com", role, n)
	u, _, err := ts.ident.CreateUser(context.Background(), identity.CLI(), identity.NewUser{Email: email, Role: string(role), Permissions: perms})
	if err != nil {
		t.Fatal(err)
	}
	pw := fmt.Sprintf("river stone lantern %d", n)
	hash, err := crypto.HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.store.SetPassword(context.Background(), u.ID, hash, false, time.Time{}); err != nil {
		t.Fatal(err)
	}
	u.MustChangePassword = false
	return &account{user: u, email: email, password: pw}
}

// client is a browser: a cookie jar, its CSRF token, a client IP, and
// optionally a bearer token.
type client struct {
	ts     *testServer
	http   *http.Client
	csrf   string
	ip     string
	bearer string
}

func (ts *testServer) newClient(ip string) *client {
	jar, _ := cookiejar.New(nil)
	return &client{ts: ts, http: &http.Client{Jar: jar}, ip: ip}
}

// reply is an HTTP answer, decoded.
type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (r reply) errCode() string {
	e, _ := r.body["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

func (r reply) errMessage() string {
	e, _ := r.body["error"].(map[string]any)
	msg, _ := e["message"].(string)
	return msg
}

func (r reply) field(name string) string {
	e, _ := r.body["error"].(map[string]any)
	f, _ := e["fields"].(map[string]any)
	v, _ := f[name].(string)
	return v
}

func (r reply) str(key string) string {
	v, _ := r.body[key].(string)
	return v
}

// do sends a request; body is JSON-encoded unless it is a string (sent as
// JSON) or url.Values (sent as an HTML form). With
// noCSRF the session's CSRF token is left out.
func (c *client) do(t testing.TB, method, path string, body any, noCSRF ...bool) reply {
	t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd, ct = strings.NewReader(b), "application/json"
	case url.Values:
		rd, ct = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	default:
		j, _ := json.Marshal(b)
		rd, ct = bytes.NewReader(j), "application/json"
	}
	req, err := http.NewRequest(method, c.ts.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if c.ip != "" {
		req.Header.Set("X-Forwarded-For", c.ip)
	}
	if c.csrf != "" && len(noCSRF) == 0 {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	res, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	r := reply{status: res.StatusCode, header: res.Header, raw: string(b)}
	json.Unmarshal(b, &r.body)
	if tok := r.str("csrf_token"); tok != "" {
		c.csrf = tok
	}
	return r
}

// login signs in with a password and returns the answer.
func (c *client) login(t *testing.T, email, password string) reply {
	t.Helper()
	return c.do(t, "POST", "/api/v1/auth/login", map[string]string{"email": email, "password": password})
}

// mustLogin signs a into a new client from ip.
func (ts *testServer) mustLogin(t *testing.T, a *account, ip string) *client {
	t.Helper()
	c := ts.newClient(ip)
	if r := c.login(t, a.email, a.password); r.status != 200 || c.csrf == "" {
		t.Fatalf("login %s: %d %s", a.email, r.status, r.raw)
	}
	return c
}

// mustToken makes a personal access token for a and returns a client
// that sends it.
func (ts *testServer) mustToken(t *testing.T, a *account, ip string) *client {
	t.Helper()
	secret, _, err := ts.ident.CreateToken(context.Background(), identity.CLI(), a.user.ID, "test", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c := ts.newClient(ip)
	c.bearer = secret
	return c
}

// code returns the TOTP code of secret at the test clock plus offset.
func (ts *testServer) code(t *testing.T, secret string, offset time.Duration) string {
	t.Helper()
	code, err := totp.GenerateCode(secret, ts.clock.now().Add(offset))
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// mustMFA turns MFA on for a through the service and returns the secret
// and recovery codes.
func (ts *testServer) mustMFA(t *testing.T, a *account) (string, []string) {
	t.Helper()
	ctx := context.Background()
	e, err := ts.ident.EnrolMFA(ctx, a.user.ID)
	if err != nil {
		t.Fatal(err)
	}
	codes, err := ts.ident.ConfirmMFA(ctx, identity.CLI(), a.user.ID, ts.code(t, e.Secret, 0))
	if err != nil {
		t.Fatal(err)
	}
	return e.Secret, codes
}
