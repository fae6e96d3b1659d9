package access

import (
	"context"
	"html/template"
	"slices"

	"github.com/leadcap/leadcap"
)

// How a principal signed in.
const (
	ViaSession = "session" // console session cookie
	ViaToken   = "token"   // personal access token (bearer)
)

// Restrictions: a user who must do something first can reach only routes
// that need SignedIn.
const (
	MustChangePassword = "password_change_required"
	MustEnrolMFA       = "mfa_enrolment_required"
)

// CSRF token names: the header API and script clients send, and the hidden
// field HTML forms send.
const (
	CSRFHeader = "X-CSRF-Token"
	CSRFField  = "csrf_token"
)

// Principal is the signed-in caller of a request.
type Principal struct {
	User      *leadcap.User
	Via       string // ViaSession or ViaToken
	SessionID string // ViaSession
	TokenID   string // ViaToken
	// CSRFToken must accompany every state-changing request of a session
	// (empty for tokens, which are not sent by browsers on their own).
	CSRFToken string
	// Restriction is empty, MustChangePassword or MustEnrolMFA.
	Restriction string
	perms       []Permission
}

// NewPrincipal returns the principal of u. With a restriction it holds
// only SignedIn.
func NewPrincipal(u *leadcap.User, via, restriction string) *Principal {
	p := &Principal{User: u, Via: via, Restriction: restriction}
	if restriction != "" {
		p.perms = []Permission{SignedIn}
	} else {
		p.perms = Of(u)
	}
	return p
}

// Can reports whether p has perm. Public is allowed to anyone.
func (p *Principal) Can(perm Permission) bool {
	if perm == Public || perm == Monitoring {
		return true // no user is asked: the route checks the client
	}
	return p != nil && slices.Contains(p.perms, perm)
}

// Permissions returns what p may do now.
func (p *Principal) Permissions() []Permission { return slices.Clone(p.perms) }

type ctxKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the principal of a request, or nil for an anonymous one.
func FromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(ctxKey{}).(*Principal)
	return p
}

// CSRFToken returns the CSRF token of the request's session, or "".
func CSRFToken(ctx context.Context) string {
	if p := FromContext(ctx); p != nil {
		return p.CSRFToken
	}
	return ""
}

// CSRFInput returns the hidden form field that carries the session's CSRF
// token, for every HTML form that changes state.
func CSRFInput(ctx context.Context) template.HTML {
	return template.HTML(`<input type="hidden" name="` + CSRFField + `" value="` +
		template.HTMLEscapeString(CSRFToken(ctx)) + `">`)
}
