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

// CreateSession stores a new console session of s.UserID, found again by
// the hash of its cookie secret. It sets the session's ID.
func (s *Store) CreateSession(ctx context.Context, sess *leadcap.Session, tokenHash []byte) error {
	id, err := uuid.NewV7()
	if err != nil {
		return fmt.Errorf("store: create session: %w", err)
	}
	sess.ID = id.String()
	err = s.write(ctx, func(tx *Tx) error {
		_, err := tx.exec(`INSERT INTO sessions (id, token_hash, user_id, client_ip, user_agent, created_at, last_seen_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, sess.ID, tokenHash, sess.UserID, sess.ClientIP, sess.UserAgent,
			micros(sess.CreatedAt), micros(sess.LastSeenAt), micros(sess.ExpiresAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: create session: %w", err)
	}
	return nil
}

// SessionByHash returns the session whose cookie secret has the hash, with
// its user, or ENOTFOUND. It does not judge expiry.
func (s *Store) SessionByHash(ctx context.Context, tokenHash []byte) (*leadcap.Session, *leadcap.User, error) {
	var sess leadcap.Session
	var created, seen, expires int64
	var u *leadcap.User
	err := s.read(ctx, func(tx *Tx) error {
		err := tx.queryRow(`SELECT id, user_id, client_ip, user_agent, created_at, last_seen_at, expires_at
			FROM sessions WHERE token_hash = $1`, tokenHash).
			Scan(&sess.ID, &sess.UserID, &sess.ClientIP, &sess.UserAgent, &created, &seen, &expires)
		if err != nil {
			return err
		}
		u, err = scanUser(tx.queryRow(`SELECT `+userColumns+` FROM users WHERE id = $1`, sess.UserID))
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, leadcap.Errorf(leadcap.ENOTFOUND, "session not found")
	} else if err != nil {
		return nil, nil, fmt.Errorf("store: session: %w", err)
	}
	sess.CreatedAt, sess.LastSeenAt, sess.ExpiresAt = fromMicros(created), fromMicros(seen), fromMicros(expires)
	return &sess, u, nil
}

// TouchSession records activity on a session at t.
func (s *Store) TouchSession(ctx context.Context, id string, t time.Time) error {
	err := s.write(ctx, func(tx *Tx) error {
		_, err := tx.exec(`UPDATE sessions SET last_seen_at = $1 WHERE id = $2 AND last_seen_at < $1`, micros(t), id)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: touch session: %w", err)
	}
	return nil
}

// DeleteSession ends one session.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	err := s.write(ctx, func(tx *Tx) error {
		_, err := tx.exec(`DELETE FROM sessions WHERE id = $1`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	return nil
}

// Sessions returns the sessions of a user, newest first.
func (s *Store) Sessions(ctx context.Context, userID string) ([]*leadcap.Session, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, user_id, client_ip, user_agent, created_at, last_seen_at, expires_at
		FROM sessions WHERE user_id = $1 ORDER BY created_at DESC, id DESC`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: sessions: %w", err)
	}
	defer rows.Close()
	out := []*leadcap.Session{}
	for rows.Next() {
		var sess leadcap.Session
		var created, seen, expires int64
		if err := rows.Scan(&sess.ID, &sess.UserID, &sess.ClientIP, &sess.UserAgent, &created, &seen, &expires); err != nil {
			return nil, fmt.Errorf("store: sessions: %w", err)
		}
		sess.CreatedAt, sess.LastSeenAt, sess.ExpiresAt = fromMicros(created), fromMicros(seen), fromMicros(expires)
		out = append(out, &sess)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: sessions: %w", err)
	}
	return out, nil
}

// DeleteExpiredSessions removes sessions past their absolute expiry or idle
// since before idleBefore, and sign-in tickets past theirs. It returns how
// many sessions it removed.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now, idleBefore time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, func(tx *Tx) error {
		var err error
		n, err = execCount(ctx, tx, `DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at < $2`,
			micros(now), micros(idleBefore))
		if err != nil {
			return err
		}
		_, err = tx.exec(`DELETE FROM login_tickets WHERE expires_at <= $1`, micros(now))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: delete expired sessions: %w", err)
	}
	return n, nil
}

// CreateLoginTicket stores the hash of a short-lived ticket that lets the
// user with the id finish signing in with a second factor.
func (s *Store) CreateLoginTicket(ctx context.Context, tokenHash []byte, userID string, expires time.Time) error {
	err := s.write(ctx, func(tx *Tx) error {
		_, err := tx.exec(`INSERT INTO login_tickets (token_hash, user_id, expires_at) VALUES ($1, $2, $3)`,
			tokenHash, userID, micros(expires))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: create login ticket: %w", err)
	}
	return nil
}

// UseLoginTicket counts an attempt on the ticket with the hash and returns
// its user's id. A ticket that is unknown, expired at now, or has had
// maxAttempts attempts is EUNAUTHORIZED, and is deleted.
func (s *Store) UseLoginTicket(ctx context.Context, tokenHash []byte, now time.Time, maxAttempts int) (string, error) {
	var userID string
	var expired bool
	err := s.write(ctx, func(tx *Tx) error {
		userID, expired = "", false // the writer may run this again
		var attempts int
		var expires int64
		err := tx.queryRow(`SELECT user_id, attempts, expires_at FROM login_tickets WHERE token_hash = $1`, tokenHash).
			Scan(&userID, &attempts, &expires)
		if errors.Is(err, sql.ErrNoRows) {
			expired = true
			return nil
		} else if err != nil {
			return err
		}
		if attempts >= maxAttempts || expires <= micros(now) {
			expired = true
			_, err := tx.exec(`DELETE FROM login_tickets WHERE token_hash = $1`, tokenHash)
			return err
		}
		_, err = tx.exec(`UPDATE login_tickets SET attempts = attempts + 1 WHERE token_hash = $1`, tokenHash)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("store: use login ticket: %w", err)
	}
	if expired {
		return "", leadcap.Errorf(leadcap.EUNAUTHORIZED, "the sign-in has expired: sign in again")
	}
	return userID, nil
}

// DeleteLoginTicket removes a ticket once it has served.
func (s *Store) DeleteLoginTicket(ctx context.Context, tokenHash []byte) error {
	err := s.write(ctx, func(tx *Tx) error {
		_, err := tx.exec(`DELETE FROM login_tickets WHERE token_hash = $1`, tokenHash)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: delete login ticket: %w", err)
	}
	return nil
}
