package identity

import (
	"context"
	"strings"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/access"
	"github.com/leadcap/leadcap/internal/crypto"
)

// touchEvery bounds how often a session's or token's last use is written:
// reads should not each cost a write.
const touchEvery = time.Minute

// Authenticate finds the principal of a request from its bearer token or,
// only when there is no bearer token, its session cookie. With neither it
// returns nil and no error. A token or session that is unknown, expired,
// revoked, or whose user is disabled is EUNAUTHORIZED.
func (s *Service) Authenticate(ctx context.Context, bearer, sessionCookie string) (*access.Principal, error) {
	switch {
	case bearer != "":
		return s.authToken(ctx, bearer)
	case sessionCookie != "":
		return s.authSession(ctx, sessionCookie)
	}
	return nil, nil
}

func (s *Service) authToken(ctx context.Context, bearer string) (*access.Principal, error) {
	bad := func(why string) error { return leadcap.Errorf(leadcap.EUNAUTHORIZED, "%s", why) }
	if !strings.HasPrefix(bearer, TokenPrefix) || len(bearer) > 200 {
		return nil, bad("the bearer token is not a leadcap token")
	}
	tok, u, err := s.st.TokenByHash(ctx, crypto.HashToken(bearer))
	if isNotFound(err) {
		return nil, bad("the bearer token is not valid")
	} else if err != nil {
		return nil, err
	}
	now := s.now()
	switch {
	case !tok.RevokedAt.IsZero():
		return nil, bad("the bearer token has been revoked")
	case !now.Before(tok.ExpiresAt):
		return nil, bad("the bearer token has expired")
	case u.Status != leadcap.UserActive:
		return nil, bad("the account is disabled")
	}
	if now.Sub(tok.LastUsedAt) >= touchEvery {
		if err := s.st.TouchToken(ctx, tok.ID, now); err != nil {
			s.log.WarnContext(ctx, "record token use", "component", "identity", "err", err)
		}
	}
	p := access.NewPrincipal(u, access.ViaToken, s.restriction(u))
	p.TokenID = tok.ID
	return p, nil
}

func (s *Service) authSession(ctx context.Context, cookie string) (*access.Principal, error) {
	ended := leadcap.Errorf(leadcap.EUNAUTHORIZED, "the session has ended: sign in again")
	if !strings.HasPrefix(cookie, SessionPrefix) || len(cookie) > 200 {
		return nil, ended
	}
	sess, u, err := s.st.SessionByHash(ctx, crypto.HashToken(cookie))
	if isNotFound(err) {
		return nil, ended
	} else if err != nil {
		return nil, err
	}
	now := s.now()
	if !now.Before(sess.ExpiresAt) || now.Sub(sess.LastSeenAt) >= s.opts.SessionIdle || u.Status != leadcap.UserActive {
		if err := s.st.DeleteSession(ctx, sess.ID); err != nil {
			s.log.WarnContext(ctx, "delete ended session", "component", "identity", "err", err)
		}
		return nil, ended
	}
	if now.Sub(sess.LastSeenAt) >= touchEvery {
		if err := s.st.TouchSession(ctx, sess.ID, now); err != nil {
			s.log.WarnContext(ctx, "record session use", "component", "identity", "err", err)
		}
	}
	p := access.NewPrincipal(u, access.ViaSession, s.restriction(u))
	p.SessionID, p.CSRFToken = sess.ID, csrfFor(cookie)
	return p, nil
}
