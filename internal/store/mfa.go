package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/leadcap/leadcap"
)

// totpAD binds a sealed TOTP secret to its user, so a secret copied into
// another user's row does not open.
func totpAD(userID string) []byte { return []byte("totp:" + userID) }

// SetPendingTOTP stores a TOTP secret the user is enrolling with, sealed,
// until ConfirmTOTP makes it active. It replaces any earlier pending one.
func (s *Store) SetPendingTOTP(ctx context.Context, userID, secret string) error {
	sealed, err := s.sealer.Seal([]byte(secret), totpAD(userID))
	if err != nil {
		return fmt.Errorf("store: pending totp: %w", err)
	}
	err = s.write(ctx, func(tx *Tx) error {
		n, err := execCount(ctx, tx, `UPDATE users SET totp_pending = $1 WHERE id = $2`, sealed, userID)
		if err == nil && n == 0 {
			return leadcap.Errorf(leadcap.ENOTFOUND, "user %q not found", userID)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("store: pending totp: %w", err)
	}
	return nil
}

// TOTPSecrets returns the user's active and pending TOTP secrets ("" for
// none).
func (s *Store) TOTPSecrets(ctx context.Context, userID string) (active, pending string, err error) {
	var a, p []byte
	err = s.db.QueryRowContext(ctx, `SELECT totp_secret, totp_pending FROM users WHERE id = $1`, userID).Scan(&a, &p)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", leadcap.Errorf(leadcap.ENOTFOUND, "user %q not found", userID)
	} else if err != nil {
		return "", "", fmt.Errorf("store: totp secrets: %w", err)
	}
	open := func(sealed []byte) (string, error) {
		if len(sealed) == 0 {
			return "", nil
		}
		b, err := s.sealer.Open(sealed, totpAD(userID))
		return string(b), err
	}
	if active, err = open(a); err != nil {
		return "", "", fmt.Errorf("store: totp secret: %w", err)
	}
	if pending, err = open(p); err != nil {
		return "", "", fmt.Errorf("store: pending totp secret: %w", err)
	}
	return active, pending, nil
}

// ConfirmTOTP makes the pending secret active, marks step as used, and
// replaces the user's recovery codes with the hashes given. It fails with
// ECONFLICT when nothing is pending.
func (s *Store) ConfirmTOTP(ctx context.Context, userID string, step int64, recoveryHashes [][]byte) error {
	err := s.write(ctx, func(tx *Tx) error {
		n, err := execCount(ctx, tx, `UPDATE users SET totp_secret = totp_pending, totp_pending = NULL, mfa_enabled = $1,
			totp_last_step = $2, updated_at = $3 WHERE id = $4 AND totp_pending IS NOT NULL`,
			true, step, micros(s.now()), userID)
		if err != nil {
			return err
		} else if n == 0 {
			return leadcap.Errorf(leadcap.ECONFLICT, "no MFA enrolment is pending: start one first")
		}
		return replaceRecoveryCodes(tx, userID, recoveryHashes)
	})
	if err != nil {
		return fmt.Errorf("store: confirm totp: %w", err)
	}
	return nil
}

func replaceRecoveryCodes(tx *Tx, userID string, hashes [][]byte) error {
	if _, err := tx.exec(`DELETE FROM recovery_codes WHERE user_id = $1`, userID); err != nil {
		return err
	}
	for _, h := range hashes {
		if _, err := tx.exec(`INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)`, userID, h); err != nil {
			return err
		}
	}
	return nil
}

// UseTOTPStep marks a TOTP time step as used by the user and reports
// whether it was still unused: a step at or before the last one used is
// refused, so a code is never accepted twice, even by two servers at once.
func (s *Store) UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error) {
	var n int64
	err := s.write(ctx, func(tx *Tx) error {
		var err error
		n, err = execCount(ctx, tx, `UPDATE users SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1`, step, userID)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: use totp step: %w", err)
	}
	return n == 1, nil
}

// UseRecoveryCode marks the user's unused recovery code with the hash as
// used at t and reports whether there was one.
func (s *Store) UseRecoveryCode(ctx context.Context, userID string, hash []byte, t time.Time) (bool, error) {
	var n int64
	err := s.write(ctx, func(tx *Tx) error {
		var err error
		n, err = execCount(ctx, tx, `UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at = 0`,
			micros(t), userID, hash)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: use recovery code: %w", err)
	}
	return n == 1, nil
}

// RecoveryCodesLeft counts the user's unused recovery codes.
func (s *Store) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND used_at = 0`, userID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: recovery codes: %w", err)
	}
	return n, nil
}

// DisableMFA removes the user's TOTP secrets and recovery codes.
func (s *Store) DisableMFA(ctx context.Context, userID string) error {
	err := s.write(ctx, func(tx *Tx) error {
		n, err := execCount(ctx, tx, `UPDATE users SET totp_secret = NULL, totp_pending = NULL, mfa_enabled = $1,
			updated_at = $2 WHERE id = $3`, false, micros(s.now()), userID)
		if err != nil {
			return err
		} else if n == 0 {
			return leadcap.Errorf(leadcap.ENOTFOUND, "user %q not found", userID)
		}
		_, err = tx.exec(`DELETE FROM recovery_codes WHERE user_id = $1`, userID)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: disable mfa: %w", err)
	}
	return nil
}
