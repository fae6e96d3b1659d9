package identity

import (
	"context"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/access"
	"github.com/leadcap/leadcap/internal/crypto"
	"github.com/leadcap/leadcap/internal/store"
)

// tempPasswordLen is the length of generated temporary passwords: about
// 116 bits, and well past the 12-character policy.
const tempPasswordLen = 20

// NewUser is what an admin gives to create a user.
type NewUser struct {
	Email       string   `json:"email"`
	Name        string   `json:"name"`
	Role        string   `json:"role"`
	Permissions []string `json:"permissions"`
}

// NormalizeEmail trims and lower-cases an email address.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// checkEmail returns a field error unless email (normalised) is a plain
// address of at most 254 bytes.
func checkEmail(email string) error {
	bad := func(msg string) error { return leadcap.FieldErrors(map[string]string{"email": msg}) }
	switch {
	case email == "":
		return bad("is required")
	case len(email) > 254 || !utf8.ValidString(email):
		return bad("is not a valid email address")
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" || !strings.Contains(email, "@") {
		return bad("is not a valid email address")
	}
	return nil
}

// checkName returns a field error for a display name that is too long or
// holds control characters.
func checkName(name string) error {
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > 100 || strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return leadcap.FieldErrors(map[string]string{"name": "must be at most 100 characters of text"})
	}
	return nil
}

func checkRole(role string) error {
	if !leadcap.Role(role).Valid() {
		return leadcap.FieldErrors(map[string]string{"role": "must be admin, staff or viewer"})
	}
	return nil
}

// normalizePermissions sorts and de-duplicates grants.
func normalizePermissions(perms []string) []string {
	out := slices.Clone(perms)
	slices.Sort(out)
	return slices.Compact(out)
}

// CreateUser creates an active user with a temporary password, which it
// returns to be shown once. The user must change it at first sign-in,
// within TempPasswordTTL.
func (s *Service) CreateUser(ctx context.Context, a Actor, in NewUser) (*leadcap.User, string, error) {
	u := &leadcap.User{Email: NormalizeEmail(in.Email), Name: strings.TrimSpace(in.Name), Role: leadcap.Role(in.Role),
		Status: leadcap.UserActive, Permissions: normalizePermissions(in.Permissions)}
	if err := firstError(checkEmail(u.Email), checkName(u.Name), checkRole(in.Role), access.CheckGrants("permissions", u.Permissions)); err != nil {
		return nil, "", err
	}
	temp := crypto.RandomString(tempPasswordLen)
	hash, err := s.hashPassword(ctx, temp)
	if err != nil {
		return nil, "", err
	}
	u.MustChangePassword, u.PasswordExpiresAt = true, s.now().Add(s.opts.TempPasswordTTL).UTC()
	if err := s.st.CreateUser(ctx, u, hash); err != nil {
		return nil, "", err
	}
	detail := map[string]string{"email": u.Email, "role": string(u.Role)}
	if len(u.Permissions) > 0 {
		detail["permissions"] = strings.Join(u.Permissions, ",")
	}
	if err := s.audit(ctx, a, leadcap.AuditUserCreate, userTarget(u.ID), leadcap.AuditSuccess, detail); err != nil {
		return nil, "", err
	}
	return u, temp, nil
}

// EnsureFirstAdmin creates an admin with email and a temporary password
// when there is no admin at all (a fresh install, or one where the
// operator made only staff with the CLI). It returns the password to be
// shown once and whether it created the user. An email taken by a
// non-admin is ECONFLICT.
func (s *Service) EnsureFirstAdmin(ctx context.Context, email string) (*leadcap.User, string, bool, error) {
	if n, err := s.st.CountAdmins(ctx); err != nil || n > 0 {
		return nil, "", false, err
	}
	u := &leadcap.User{Email: NormalizeEmail(email), Name: "Administrator", Role: leadcap.RoleAdmin,
		Status: leadcap.UserActive, MustChangePassword: true, PasswordExpiresAt: s.now().Add(s.opts.TempPasswordTTL).UTC()}
	if err := checkEmail(u.Email); err != nil {
		return nil, "", false, fmt.Errorf("identity: first admin: %w", err)
	}
	temp := crypto.RandomString(tempPasswordLen)
	hash, err := s.hashPassword(ctx, temp)
	if err != nil {
		return nil, "", false, err
	}
	created, err := s.st.CreateFirstAdmin(ctx, u, hash)
	if err != nil || !created {
		return nil, "", false, err
	}
	if err := s.audit(ctx, CLI(), leadcap.AuditUserCreate, userTarget(u.ID), leadcap.AuditSuccess,
		map[string]string{"email": u.Email, "role": string(u.Role), "first_admin": "true"}); err != nil {
		return nil, "", false, err
	}
	return u, temp, true, nil
}

// User returns the user with the id or email.
func (s *Service) User(ctx context.Context, idOrEmail string) (*leadcap.User, error) {
	return s.st.User(ctx, idOrEmail)
}

// Users returns every user.
func (s *Service) Users(ctx context.Context) ([]*leadcap.User, error) { return s.st.Users(ctx) }

// UserChange is a partial update of a user: nil fields stay as they are.
type UserChange struct {
	Name        *string   `json:"name"`
	Role        *string   `json:"role"`
	Status      *string   `json:"status"`
	Permissions *[]string `json:"permissions"`
}

// UpdateUser changes a user's name, role, status or granted permissions.
// Disabling ends the user's sessions and revokes their tokens at once; a
// role change ends their sessions. No change may leave no active admin.
func (s *Service) UpdateUser(ctx context.Context, a Actor, id string, c UserChange) (*leadcap.User, error) {
	var errs []error
	if c.Name != nil {
		errs = append(errs, checkName(strings.TrimSpace(*c.Name)))
	}
	if c.Role != nil {
		errs = append(errs, checkRole(*c.Role))
	}
	if c.Status != nil && *c.Status != leadcap.UserActive && *c.Status != leadcap.UserDisabled {
		errs = append(errs, leadcap.FieldErrors(map[string]string{"status": "must be active or disabled"}))
	}
	if c.Permissions != nil {
		errs = append(errs, access.CheckGrants("permissions", *c.Permissions))
	}
	if err := firstError(errs...); err != nil {
		return nil, err
	}
	detail := map[string]string{}
	u, err := s.st.UpdateUser(ctx, id, func(u *leadcap.User) error {
		if c.Name != nil && strings.TrimSpace(*c.Name) != u.Name {
			u.Name, detail["name"] = strings.TrimSpace(*c.Name), strings.TrimSpace(*c.Name)
		}
		if c.Role != nil && leadcap.Role(*c.Role) != u.Role {
			detail["role"] = string(u.Role) + " -> " + *c.Role
			u.Role = leadcap.Role(*c.Role)
		}
		if c.Status != nil && *c.Status != u.Status {
			detail["status"] = u.Status + " -> " + *c.Status
			u.Status = *c.Status
		}
		if c.Permissions != nil {
			if p := normalizePermissions(*c.Permissions); !slices.Equal(p, u.Permissions) {
				detail["permissions"] = strings.Join(u.Permissions, ",") + " -> " + strings.Join(p, ",")
				u.Permissions = p
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(detail) > 0 {
		if err := s.audit(ctx, a, leadcap.AuditUserUpdate, userTarget(u.ID), leadcap.AuditSuccess, detail); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// ResetPassword gives the user a new temporary password, which it returns
// to be shown once, and ends their sessions. The user must choose a new
// password at the next sign-in.
func (s *Service) ResetPassword(ctx context.Context, a Actor, id string) (string, time.Time, error) {
	u, err := s.st.User(ctx, id)
	if err != nil {
		return "", time.Time{}, err
	}
	temp := crypto.RandomString(tempPasswordLen)
	hash, err := s.hashPassword(ctx, temp)
	if err != nil {
		return "", time.Time{}, err
	}
	expires := s.now().Add(s.opts.TempPasswordTTL).UTC()
	if err := s.st.SetPassword(ctx, u.ID, hash, true, expires); err != nil {
		return "", time.Time{}, err
	}
	if err := s.audit(ctx, a, leadcap.AuditPasswordReset, userTarget(u.ID), leadcap.AuditSuccess, nil); err != nil {
		return "", time.Time{}, err
	}
	return temp, expires, nil
}

// DeleteUser deletes a user with their sessions and tokens. Audit records
// about them stay.
func (s *Service) DeleteUser(ctx context.Context, a Actor, id string) error {
	u, err := s.st.User(ctx, id)
	if err != nil {
		return err
	}
	if err := s.st.DeleteUser(ctx, u.ID); err != nil {
		return err
	}
	return s.audit(ctx, a, leadcap.AuditUserDelete, userTarget(u.ID), leadcap.AuditSuccess, map[string]string{"email": u.Email})
}

// AuthEvents returns a user's auth events (sign-ins, MFA and password
// changes, tokens), newest first, at most limit.
func (s *Service) AuthEvents(ctx context.Context, id string, limit int, before int64) ([]*leadcap.AuditEvent, string, error) {
	u, err := s.st.User(ctx, id)
	if err != nil {
		return nil, "", err
	}
	return s.st.AuditEvents(ctx, storeAuthFilter(u.ID, limit, before))
}

// firstError returns the first non-nil error, merging field errors of
// EINVALID errors so that every bad field is named at once.
func firstError(errs ...error) error {
	fields := map[string]string{}
	for _, err := range errs {
		if err == nil {
			continue
		}
		f := leadcap.ErrorFields(err)
		if leadcap.ErrorCode(err) != leadcap.EINVALID || f == nil {
			return err
		}
		for k, v := range f {
			fields[k] = v
		}
	}
	return leadcap.FieldErrors(fields)
}

// storeAuthFilter selects a user's auth events: every "auth.*" record
// about them.
func storeAuthFilter(userID string, limit int, before int64) store.AuditFilter {
	return store.AuditFilter{Target: userTarget(userID), Action: "auth", Limit: limit, Before: before}
}
