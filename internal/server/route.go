package server

import (
	"crypto/subtle"
	"fmt"
	"mime"
	"net/http"
	"strings"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/access"
)

// Route is one entry of the route table: a ServeMux pattern and the
// permission a caller needs to reach it.
type Route struct {
	Pattern    string
	Permission access.Permission
}

// RouteTable returns every route leadcap serves with its permission, in
// the order routes.go declares them. Tests walk it.
func RouteTable() []Route {
	s := &Server{mux: http.NewServeMux()}
	s.routes()
	return s.table
}

// route registers h for pattern behind the check of perm. It is the only
// way a handler reaches the mux, so no route goes without a permission.
func (s *Server) route(pattern string, perm access.Permission, h http.HandlerFunc) {
	if !access.Known(perm) {
		panic(fmt.Sprintf("server: route %s: unknown permission %q", pattern, perm))
	}
	s.table = append(s.table, Route{pattern, perm})
	s.mux.Handle(pattern, s.authorize(perm, h))
}

// authorize runs h for callers that hold perm. A bearer token, when sent,
// is the only credential looked at; otherwise the session cookie is,
// except on public routes, where cookies are ignored. A session's
// state-changing request must carry its CSRF token. No credentials on a
// protected route is 401; credentials without the permission, 403.
func (s *Server) authorize(perm access.Permission, h http.HandlerFunc) http.HandlerFunc {
	if perm == access.Monitoring {
		// Its bearer token, if any, is the metrics token, not a user's.
		return s.internalOnly(h)
	}
	return func(w http.ResponseWriter, r *http.Request) {
		bearer, hasAuth, err := bearerToken(r)
		if err != nil {
			s.writeError(w, r, "auth", err)
			return
		}
		if perm == access.Public && !hasAuth {
			h(w, r)
			return
		}
		if s.Identity == nil {
			s.writeError(w, r, "auth", leadcap.Errorf(leadcap.EUNAUTHORIZED, "sign-in is not available"))
			return
		}
		cookie := ""
		if !hasAuth {
			cookie = sessionCookieValue(r)
		}
		p, err := s.Identity.Authenticate(r.Context(), bearer, cookie)
		if err != nil {
			if leadcap.ErrorCode(err) == leadcap.EUNAUTHORIZED && cookie != "" {
				s.clearSessionCookie(w, r)
			}
			s.writeError(w, r, "auth", err)
			return
		}
		// The caller is known from here on, also to the error pages.
		r = r.WithContext(access.WithPrincipal(r.Context(), p))
		if perm != access.Public {
			// What a signed-in caller sees is theirs alone: no cache keeps it.
			w.Header().Set("Cache-Control", "no-store")
			if p == nil {
				s.writeError(w, r, "auth", leadcap.Errorf(leadcap.EUNAUTHORIZED, "sign in or send a bearer token"))
				return
			}
			if p.Via == access.ViaSession && !safeMethod(r.Method) && !csrfValid(r, p.CSRFToken) {
				s.writeError(w, r, "auth", leadcap.Errorf(leadcap.EFORBIDDEN,
					"the CSRF token is missing or wrong: send the session's token in the %s header", access.CSRFHeader))
				return
			}
			if !p.Can(perm) {
				s.writeError(w, r, "auth", forbidden(p, perm))
				return
			}
		}
		h(w, r)
	}
}

// forbidden explains why p may not have perm.
func forbidden(p *access.Principal, perm access.Permission) error {
	switch p.Restriction {
	case access.MustChangePassword:
		return leadcap.Errorf(leadcap.EFORBIDDEN, "change your temporary password first (POST /api/v1/auth/password)")
	case access.MustEnrolMFA:
		return leadcap.Errorf(leadcap.EFORBIDDEN, "admins must turn on MFA first (POST /api/v1/me/mfa/enrol)")
	}
	return leadcap.Errorf(leadcap.EFORBIDDEN, "your role does not allow this (needs %s)", perm)
}

// bearerToken returns the token of an "Authorization: Bearer" header, and
// whether the request had an Authorization header at all. Any other kind
// of Authorization is refused rather than ignored.
func bearerToken(r *http.Request) (string, bool, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", false, nil
	}
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return "", true, leadcap.Errorf(leadcap.EUNAUTHORIZED, "the Authorization header must be: Bearer lct_...")
	}
	return strings.TrimSpace(token), true, nil
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// csrfValid reports whether r carries want in the X-CSRF-Token header or,
// for an HTML form, in its csrf_token field.
func csrfValid(r *http.Request, want string) bool {
	got := r.Header.Get(access.CSRFHeader)
	if got == "" {
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/x-www-form-urlencoded" {
			r.Body = http.MaxBytesReader(nil, r.Body, maxFormBody)
			if r.ParseForm() == nil {
				got = r.PostForm.Get(access.CSRFField)
			}
		}
	}
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
