package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/leadcap/leadcap"
)

const userColumns = `id, email, name, role, status, permissions, must_change_password, password_expires_at,
	password_changed_at, mfa_enabled, last_login_at, created_at, updated_at`

func scanUser(row scanner) (*leadcap.User, error) {
	var u leadcap.User
	var role, perms string
	var expires, changed, lastLogin, created, updated int64
	if err := row.Scan(&u.ID, &u.Email, &u.Name, &role, &u.Status, &perms, &u.MustChangePassword, &expires,
		&changed, &u.MFAEnabled, &lastLogin, &created, &updated); err != nil {
		return nil, err
	}
	u.Role = leadcap.Role(role)
	if perms != "" {
		u.Permissions = strings.Split(perms, ",")
	}
	u.PasswordExpiresAt, u.LastLoginAt = optionalTime(expires), optionalTime(lastLogin)
	u.PasswordChangedAt, u.CreatedAt, u.UpdatedAt = fromMicros(changed), fromMicros(created), fromMicros(updated)
	return &u, nil
}

// optionalTime reads a stored time where 0 means none.
func optionalTime(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return fromMicros(v)
}

// optionalMicros stores a time where the zero time means none.
func optionalMicros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return micros(t)
}

// CreateUser stores a new user with its password hash. It sets ID and
// times. A taken email is ECONFLICT.
func (s *Store) CreateUser(ctx context.Context, u *leadcap.User, passwordHash string) error {
	err := s.write(ctx, func(tx *Tx) error { return s.insertUser(tx, u, passwordHash) })
	if err != nil {
		return fmt.Errorf("store: create user: %w", err)
	}
	return nil
}

// CreateFirstAdmin stores u only when there is no admin at all, and
// reports whether it did. Several servers starting together on one
// database create one first admin between them.
func (s *Store) CreateFirstAdmin(ctx context.Context, u *leadcap.User, passwordHash string) (bool, error) {
	created := false
	err := s.write(ctx, func(tx *Tx) error {
		created = false // the writer may run this again
		if s.dialect == Postgres {
			// Taken by whichever server gets here first; the others then see its user.
			if _, err := tx.exec(`LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE`); err != nil {
				return err
			}
		}
		var n int
		if err := tx.queryRow(`SELECT count(*) FROM users WHERE role = 'admin'`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		created = true
		return s.insertUser(tx, u, passwordHash)
	})
	if err != nil {
		return false, fmt.Errorf("store: create first admin: %w", err)
	}
	return created, nil
}

func (s *Store) insertUser(tx *Tx, u *leadcap.User, passwordHash string) error {
	id, err := uuid.NewV7()
	if err != nil {
		return err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	u.ID, u.CreatedAt, u.UpdatedAt, u.PasswordChangedAt = id.String(), now, now, now
	var n int
	if err := tx.queryRow(`SELECT count(*) FROM users WHERE email = $1`, u.Email).Scan(&n); err != nil {
		return err
	} else if n > 0 {
		return leadcap.Errorf(leadcap.ECONFLICT, "a user with email %q exists", u.Email)
	}
	_, err = tx.exec(`INSERT INTO users (id, email, name, role, status, permissions, password_hash,
		must_change_password, password_expires_at, password_changed_at, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		u.ID, u.Email, u.Name, string(u.Role), u.Status, strings.Join(u.Permissions, ","), passwordHash,
		u.MustChangePassword, optionalMicros(u.PasswordExpiresAt), micros(now), micros(now), micros(now))
	return err
}

// User returns the user with the given id or email, or ENOTFOUND.
func (s *Store) User(ctx context.Context, idOrEmail string) (*leadcap.User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1 OR email = $2`,
		idOrEmail, strings.ToLower(idOrEmail)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, leadcap.Errorf(leadcap.ENOTFOUND, "user %q not found", idOrEmail)
	} else if err != nil {
		return nil, fmt.Errorf("store: user: %w", err)
	}
	return u, nil
}

// UserPassword returns the user with the email and its password hash, or
// ENOTFOUND. Sign-in uses it.
func (s *Store) UserPassword(ctx context.Context, email string) (*leadcap.User, string, error) {
	var hash string
	var u *leadcap.User
	err := s.read(ctx, func(tx *Tx) error {
		var err error
		u, err = scanUser(tx.queryRow(`SELECT `+userColumns+` FROM users WHERE email = $1`, email))
		if err != nil {
			return err
		}
		return tx.queryRow(`SELECT password_hash FROM users WHERE id = $1`, u.ID).Scan(&hash)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", leadcap.Errorf(leadcap.ENOTFOUND, "user not found")
	} else if err != nil {
		return nil, "", fmt.Errorf("store: user password: %w", err)
	}
	return u, hash, nil
}

// PasswordHash returns the password hash of the user with the id.
func (s *Store) PasswordHash(ctx context.Context, userID string) (string, error) {
	var hash string
	err := s.db.QueryRowContext(ctx, `SELECT password_hash FROM users WHERE id = $1`, userID).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		return "", leadcap.Errorf(leadcap.ENOTFOUND, "user not found")
	} else if err != nil {
		return "", fmt.Errorf("store: password hash: %w", err)
	}
	return hash, nil
}

// Users returns every user, ordered by email.
func (s *Store) Users(ctx context.Context) ([]*leadcap.User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY email`)
	if err != nil {
		return nil, fmt.Errorf("store: users: %w", err)
	}
	defer rows.Close()
	out := []*leadcap.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("store: users: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: users: %w", err)
	}
	return out, nil
}

// CountAdmins returns how many admins exist, active or not.
func (s *Store) CountAdmins(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE role = 'admin'`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count admins: %w", err)
	}
	return n, nil
}

// errLastAdmin refuses a change that would leave no active admin.
func errLastAdmin() error {
	return leadcap.Errorf(leadcap.ECONFLICT, "this is the last active admin: make another admin first")
}

func activeAdmins(tx *Tx) (int, error) {
	var n int
	err := tx.queryRow(`SELECT count(*) FROM users WHERE role = 'admin' AND status = 'active'`).Scan(&n)
	return n, err
}

// lockUsers serialises changes that must keep an active admin, across
// servers on PostgreSQL. (SQLite has one writer.)
func (s *Store) lockUsers(tx *Tx) error {
	if s.dialect != Postgres {
		return nil
	}
	_, err := tx.exec(`LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE`)
	return err
}

// UpdateUser applies change to the stored user in one transaction and
// returns the result. It refuses a change that leaves no active admin.
// When the role changes or the user is disabled, their sessions end in the
// same transaction; disabling also revokes their tokens.
func (s *Store) UpdateUser(ctx context.Context, id string, change func(u *leadcap.User) error) (*leadcap.User, error) {
	var out *leadcap.User
	err := s.write(ctx, func(tx *Tx) error {
		if err := s.lockUsers(tx); err != nil {
			return err
		}
		u, err := scanUser(tx.queryRow(`SELECT `+userColumns+` FROM users WHERE id = $1`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return leadcap.Errorf(leadcap.ENOTFOUND, "user %q not found", id)
		} else if err != nil {
			return err
		}
		before := *u
		if err := change(u); err != nil {
			return err
		}
		now := s.now().UTC()
		u.UpdatedAt = now
		if _, err := tx.exec(`UPDATE users SET name = $1, role = $2, status = $3, permissions = $4, updated_at = $5
			WHERE id = $6`, u.Name, string(u.Role), u.Status, strings.Join(u.Permissions, ","), micros(now), id); err != nil {
			return err
		}
		if before.Role == leadcap.RoleAdmin && before.Status == leadcap.UserActive &&
			(u.Role != leadcap.RoleAdmin || u.Status != leadcap.UserActive) {
			if n, err := activeAdmins(tx); err != nil {
				return err
			} else if n == 0 {
				return errLastAdmin()
			}
		}
		if u.Role != before.Role || u.Status == leadcap.UserDisabled {
			if err := endSessions(tx, id); err != nil {
				return err
			}
		}
		if u.Status == leadcap.UserDisabled && before.Status != leadcap.UserDisabled {
			if _, err := tx.exec(`UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at = 0`,
				micros(now), id); err != nil {
				return err
			}
		}
		out = u
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: update user: %w", err)
	}
	return out, nil
}

// endSessions deletes a user's sessions and pending sign-in tickets.
func endSessions(tx *Tx, userID string) error {
	if _, err := tx.exec(`DELETE FROM sessions WHERE user_id = $1`, userID); err != nil {
		return err
	}
	_, err := tx.exec(`DELETE FROM login_tickets WHERE user_id = $1`, userID)
	return err
}

// SetPassword stores a new password hash for the user and ends all their
// sessions. A temporary password must be changed at the next sign-in and
// stops working at expires; a chosen one has no expiry.
func (s *Store) SetPassword(ctx context.Context, userID, hash string, temporary bool, expires time.Time) error {
	if !temporary {
		expires = time.Time{}
	}
	err := s.write(ctx, func(tx *Tx) error {
		now := s.now().UTC()
		n, err := execCount(ctx, tx, `UPDATE users SET password_hash = $1, must_change_password = $2,
			password_expires_at = $3, password_changed_at = $4, updated_at = $4 WHERE id = $5`,
			hash, temporary, optionalMicros(expires), micros(now), userID)
		if err != nil {
			return err
		} else if n == 0 {
			return leadcap.Errorf(leadcap.ENOTFOUND, "user %q not found", userID)
		}
		return endSessions(tx, userID)
	})
	if err != nil {
		return fmt.Errorf("store: set password: %w", err)
	}
	return nil
}

// RecordLogin notes a successful sign-in of the user at t.
func (s *Store) RecordLogin(ctx context.Context, userID string, t time.Time) error {
	err := s.write(ctx, func(tx *Tx) error {
		_, err := tx.exec(`UPDATE users SET last_login_at = $1 WHERE id = $2`, micros(t), userID)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: record login: %w", err)
	}
	return nil
}

// DeleteUser deletes the user with their sessions, tokens and recovery
// codes. Audit records about them stay. It refuses to delete the last
// active admin.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	err := s.write(ctx, func(tx *Tx) error {
		if err := s.lockUsers(tx); err != nil {
			return err
		}
		var role, status string
		err := tx.queryRow(`SELECT role, status FROM users WHERE id = $1`, id).Scan(&role, &status)
		if errors.Is(err, sql.ErrNoRows) {
			return leadcap.Errorf(leadcap.ENOTFOUND, "user %q not found", id)
		} else if err != nil {
			return err
		}
		if _, err := tx.exec(`DELETE FROM users WHERE id = $1`, id); err != nil {
			return err
		}
		if role == string(leadcap.RoleAdmin) && status == leadcap.UserActive {
			if admins, err := activeAdmins(tx); err != nil {
				return err
			} else if admins == 0 {
				return errLastAdmin()
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: delete user: %w", err)
	}
	return nil
}
