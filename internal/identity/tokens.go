package identity

import (
	"context"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/crypto"
)

// Token lifetimes.
const (
	DefaultTokenTTL = 90 * 24 * time.Hour
	MaxTokenTTL     = 366 * 24 * time.Hour
	maxActiveTokens = 50 // per user
)

// ParseTTL reads a token lifetime such as "30d", "12h" or "90m". Empty
// means DefaultTokenTTL.
func ParseTTL(s string) (time.Duration, error) {
	bad := leadcap.FieldErrors(map[string]string{"expires": "want a lifetime like 30d or 12h, up to 366d"})
	if s == "" {
		return DefaultTokenTTL, nil
	}
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 || n > 366 {
			return 0, bad
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, bad
		}
	}
	if d < time.Minute || d > MaxTokenTTL {
		return 0, bad
	}
	return d, nil
}

// CreateToken makes a personal access token for the user, valid for ttl
// (0 for DefaultTokenTTL). It returns the token, to be shown once; only
// its hash is stored.
func (s *Service) CreateToken(ctx context.Context, a Actor, userID, name string, ttl time.Duration) (string, *leadcap.Token, error) {
	name = strings.TrimSpace(name)
	fields := map[string]string{}
	if name == "" || utf8.RuneCountInString(name) > 100 || !utf8.ValidString(name) || strings.IndexFunc(name, unicode.IsControl) >= 0 {
		fields["name"] = "is required: at most 100 characters of text, to tell the token apart"
	}
	if ttl == 0 {
		ttl = DefaultTokenTTL
	}
	if ttl < time.Minute || ttl > MaxTokenTTL {
		fields["expires"] = "must be between 1 minute and 366 days"
	}
	if err := leadcap.FieldErrors(fields); err != nil {
		return "", nil, err
	}
	u, err := s.st.User(ctx, userID)
	if err != nil {
		return "", nil, err
	}
	if u.Status != leadcap.UserActive {
		return "", nil, leadcap.Errorf(leadcap.ECONFLICT, "user %s is disabled", u.Email)
	}
	now := s.now().UTC()
	existing, err := s.st.Tokens(ctx, u.ID)
	if err != nil {
		return "", nil, err
	}
	active := 0
	for _, t := range existing {
		if t.Active(now) {
			active++
		}
	}
	if active >= maxActiveTokens {
		return "", nil, leadcap.Errorf(leadcap.ECONFLICT, "%d tokens are active: revoke one first", active)
	}
	secret, hash, err := crypto.NewToken(TokenPrefix)
	if err != nil {
		return "", nil, err
	}
	t := &leadcap.Token{UserID: u.ID, Name: name, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if err := s.st.CreateToken(ctx, t, hash); err != nil {
		return "", nil, err
	}
	if err := s.audit(ctx, a, leadcap.AuditTokenCreate, userTarget(u.ID), leadcap.AuditSuccess,
		map[string]string{"token_id": t.ID, "name": name, "expires_at": t.ExpiresAt.Format(time.RFC3339)}); err != nil {
		return "", nil, err
	}
	return secret, t, nil
}

// Tokens lists a user's tokens ("" for everyone's).
func (s *Service) Tokens(ctx context.Context, userID string) ([]*leadcap.Token, error) {
	return s.st.Tokens(ctx, userID)
}

// RevokeToken revokes a token at once. With ownerID, only that user's
// token is found (users revoke their own); the CLI passes "".
func (s *Service) RevokeToken(ctx context.Context, a Actor, ownerID, tokenID string) (*leadcap.Token, error) {
	t, err := s.st.RevokeToken(ctx, ownerID, tokenID, s.now())
	if err != nil {
		return nil, err
	}
	if err := s.audit(ctx, a, leadcap.AuditTokenRevoke, userTarget(t.UserID), leadcap.AuditSuccess,
		map[string]string{"token_id": t.ID, "name": t.Name}); err != nil {
		return nil, err
	}
	return t, nil
}
