package server

import (
	"net/http"
	"time"
)

// Cookie names. Under TLS the __Host- prefix makes browsers insist on
// Secure, Path=/ and no Domain, so a sibling subdomain cannot plant one.
const (
	sessionCookie       = "leadcap_session"
	secureSessionCookie = "__Host-leadcap_session"
	deviceCookie        = "leadcap_device"
	secureDeviceCookie  = "__Host-leadcap_device"
	deviceCookieMaxAge  = 365 * 24 * time.Hour
)

// secure reports whether cookies must be Secure: the request came over TLS,
// or the public URL is https (TLS ends at a proxy in front).
func (s *Server) secure(r *http.Request) bool { return r.TLS != nil || s.SecureCookies }

func cookieName(secure bool, plain, prefixed string) string {
	if secure {
		return prefixed
	}
	return plain
}

// sessionCookieValue returns the session secret the request carries.
func sessionCookieValue(r *http.Request) string {
	for _, name := range []string{secureSessionCookie, sessionCookie} {
		if c, err := r.Cookie(name); err == nil && c.Value != "" {
			return c.Value
		}
	}
	return ""
}

func deviceCookieValue(r *http.Request) string {
	for _, name := range []string{secureDeviceCookie, deviceCookie} {
		if c, err := r.Cookie(name); err == nil && c.Value != "" {
			return c.Value
		}
	}
	return ""
}

// setSessionCookie hands the browser its session: HttpOnly, so scripts
// cannot read it; SameSite=Lax, so other sites cannot post with it; Secure
// under TLS.
func (s *Server) setSessionCookie(w http.ResponseWriter, r *http.Request, token string, expires time.Time) {
	sec := s.secure(r)
	http.SetCookie(w, &http.Cookie{Name: cookieName(sec, sessionCookie, secureSessionCookie), Value: token, Path: "/",
		Expires: expires, HttpOnly: true, Secure: sec, SameSite: http.SameSiteLaxMode})
}

func (s *Server) clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	sec := s.secure(r)
	http.SetCookie(w, &http.Cookie{Name: cookieName(sec, sessionCookie, secureSessionCookie), Value: "", Path: "/",
		MaxAge: -1, HttpOnly: true, Secure: sec, SameSite: http.SameSiteLaxMode})
}

// setDeviceCookie remembers that this browser signed in to the account, so
// a stranger's failed guesses do not throttle it.
func (s *Server) setDeviceCookie(w http.ResponseWriter, r *http.Request, value string) {
	if value == "" {
		return
	}
	sec := s.secure(r)
	http.SetCookie(w, &http.Cookie{Name: cookieName(sec, deviceCookie, secureDeviceCookie), Value: value, Path: "/",
		MaxAge: int(deviceCookieMaxAge / time.Second), HttpOnly: true, Secure: sec, SameSite: http.SameSiteStrictMode})
}
