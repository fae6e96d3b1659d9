package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/leadcap/leadcap"
)

const tokenColumns = `id, user_id, name, created_at, expires_at, last_used_at, revoked_at`

func scanToken(row scanner) (*leadcap.Token, error) {
	var t leadcap.Token
	var created, expires, used, revoked int64
	if err := row.Scan(&t.ID, &t.UserID, &t.Name, &created, &expires, &used, &revoked); err != nil {
		return nil, err
	}
	t.CreatedAt, t.ExpiresAt = fromMicros(created), fromMicros(expires)
	t.LastUsedAt, t.RevokedAt = optionalTime(used), optionalTime(revoked)
	return &t, nil
}

// CreateToken stores a personal access token by the hash of its secret. It
// sets the token's ID.
func (s *Store) CreateToken(ctx context.Context, t *leadcap.Token, tokenHash []byte) error {
	id, err := uuid.NewV7()
	if err != nil {
		return fmt.Errorf("store: create token: %w", err)
	}
	t.ID = id.String()
	err = s.write(ctx, func(tx *Tx) error {
		_, err := tx.exec(`INSERT INTO api_tokens (id, user_id, name, token_hash, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, t.ID, t.UserID, t.Name, tokenHash, micros(t.CreatedAt), micros(t.ExpiresAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: create token: %w", err)
	}
	return nil
}

// TokenByHash returns the token whose secret has the hash, with its user,
// or ENOTFOUND. It does not judge expiry or revocation.
func (s *Store) TokenByHash(ctx context.Context, tokenHash []byte) (*leadcap.Token, *leadcap.User, error) {
	var t *leadcap.Token
	var u *leadcap.User
	err := s.read(ctx, func(tx *Tx) error {
		var err error
		if t, err = scanToken(tx.queryRow(`SELECT `+tokenColumns+` FROM api_tokens WHERE token_hash = $1`, tokenHash)); err != nil {
			return err
		}
		u, err = scanUser(tx.queryRow(`SELECT `+userColumns+` FROM users WHERE id = $1`, t.UserID))
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, leadcap.Errorf(leadcap.ENOTFOUND, "token not found")
	} else if err != nil {
		return nil, nil, fmt.Errorf("store: token: %w", err)
	}
	return t, u, nil
}

// Tokens returns the tokens of a user ("" for every user's), newest first,
// revoked and expired ones included.
func (s *Store) Tokens(ctx context.Context, userID string) ([]*leadcap.Token, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE $1 = '' OR user_id = $1
		ORDER BY created_at DESC, id DESC`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: tokens: %w", err)
	}
	defer rows.Close()
	out := []*leadcap.Token{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("store: tokens: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: tokens: %w", err)
	}
	return out, nil
}

// Token returns one token, or ENOTFOUND.
func (s *Store) Token(ctx context.Context, id string) (*leadcap.Token, error) {
	t, err := scanToken(s.db.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, leadcap.Errorf(leadcap.ENOTFOUND, "token %q not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("store: token: %w", err)
	}
	return t, nil
}

// RevokeToken revokes the token with the id at t. With a userID, only that
// user's token is found. A token already revoked stays revoked at its
// first time.
func (s *Store) RevokeToken(ctx context.Context, userID, id string, t time.Time) (*leadcap.Token, error) {
	var out *leadcap.Token
	err := s.write(ctx, func(tx *Tx) error {
		tok, err := scanToken(tx.queryRow(`SELECT `+tokenColumns+` FROM api_tokens WHERE id = $1 AND ($2 = '' OR user_id = $2)`, id, userID))
		if errors.Is(err, sql.ErrNoRows) {
			return leadcap.Errorf(leadcap.ENOTFOUND, "token %q not found", id)
		} else if err != nil {
			return err
		}
		if tok.RevokedAt.IsZero() {
			tok.RevokedAt = t.UTC()
			if _, err := tx.exec(`UPDATE api_tokens SET revoked_at = $1 WHERE id = $2`, micros(t), id); err != nil {
				return err
			}
		}
		out = tok
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: revoke token: %w", err)
	}
	return out, nil
}

// TouchToken records a use of the token at t.
func (s *Store) TouchToken(ctx context.Context, id string, t time.Time) error {
	err := s.write(ctx, func(tx *Tx) error {
		_, err := tx.exec(`UPDATE api_tokens SET last_used_at = $1 WHERE id = $2 AND last_used_at < $1`, micros(t), id)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: touch token: %w", err)
	}
	return nil
}
