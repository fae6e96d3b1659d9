package cli_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"

	"github.com/leadcap/leadcap/internal/store/storetest"
)

// TestAdminsNeedMFAByDefault runs `leadcap serve` with no MFA setting and
// checks the shipped default: an admin who has set a password but not
// enrolled MFA can only enrol, while staff are not held up. Setting
// LEADCAP_REQUIRE_ADMIN_MFA=false lifts it.
func TestAdminsNeedMFAByDefault(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		for _, c := range []struct {
			setting     string
			restriction string
			usersStatus int
		}{
			{"", "mfa_enrolment_required", http.StatusForbidden},
			{"false", "", http.StatusOK},
		} {
			extra := map[string]string{}
			if c.setting != "" {
				extra["LEADCAP_REQUIRE_ADMIN_MFA"] = c.setting
			}
			in := newInstance(t, dsn, extra)
			email := "boss" + c.setting + "@example.com" // one database on PostgreSQL
			var admin created
			if err := json.Unmarshal([]byte(in.must("users", "create", "--email", email, "--role", "admin", "--json")), &admin); err != nil {
				t.Fatal(err)
			}
			srv := in.serve()
			s := newSession(t, srv.url)
			s.call("POST", "/api/v1/auth/login", map[string]string{"email": email, "password": admin.Password}, http.StatusOK)
			s.call("POST", "/api/v1/auth/password", map[string]string{"current_password": admin.Password,
				"new_password": "mangrove kayak at dawn"}, http.StatusOK)
			var me struct {
				Restriction string `json:"restriction"`
			}
			json.Unmarshal(s.call("GET", "/api/v1/me", nil, http.StatusOK), &me)
			if me.Restriction != c.restriction {
				t.Errorf("REQUIRE_ADMIN_MFA=%q: restriction %q, want %q", c.setting, me.Restriction, c.restriction)
			}
			s.call("GET", "/api/v1/users", nil, c.usersStatus)
			if c.restriction != "" {
				// Enrolment itself stays open.
				s.call("POST", "/api/v1/me/mfa/enrol", map[string]string{}, http.StatusOK)
			}
			srv.stop()
		}
	})
}

// session is a console client: a cookie jar and the CSRF token of the
// last sign-in or password change.
type session struct {
	t    *testing.T
	url  string
	c    *http.Client
	csrf string
}

func newSession(t *testing.T, url string) *session {
	jar, _ := cookiejar.New(nil)
	return &session{t: t, url: url, c: &http.Client{Jar: jar}}
}

// call sends body as JSON, checks the status and returns the answer.
func (s *session) call(method, path string, body any, want int) []byte {
	s.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.url+path, r)
	req.Header.Set("Content-Type", "application/json")
	if s.csrf != "" {
		req.Header.Set("X-CSRF-Token", s.csrf)
	}
	res, err := s.c.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		s.t.Fatalf("%s %s: %d %s, want %d", method, path, res.StatusCode, b, want)
	}
	var tok struct {
		CSRF string `json:"csrf_token"`
	}
	if json.Unmarshal(b, &tok) == nil && tok.CSRF != "" {
		s.csrf = tok.CSRF
	}
	return b
}

// TestFirstAdminIsToldAboutMFA: the first start's message with the first
// admin's password names the MFA step when admins need it, and only then.
func TestFirstAdminIsToldAboutMFA(t *testing.T) {
	for _, c := range []struct {
		setting string
		told    bool
	}{{"", true}, {"false", false}} {
		in := newInstance(t, storetest.SQLite(t), map[string]string{})
		if c.setting != "" {
			in.env["LEADCAP_REQUIRE_ADMIN_MFA"] = c.setting
		}
		srv := in.serve()
		msg := srv.stderr.String()
		if !strings.Contains(msg, "temporary password: ") {
			t.Fatalf("no first admin message:\n%s", msg)
		}
		if got := strings.Contains(msg, "Then turn on MFA"); got != c.told {
			t.Errorf("REQUIRE_ADMIN_MFA=%q: MFA step in the message: %v, want %v\n%s", c.setting, got, c.told, msg)
		}
		srv.stop()
	}
}
