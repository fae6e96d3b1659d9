package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/leadcap/leadcap"
)

const shieldRuleColumns = `id, action, network, country, note, created_by, created_at, expires_at`

func scanShieldRule(row scanner) (*leadcap.ShieldRule, error) {
	var r leadcap.ShieldRule
	var created, expires int64
	if err := row.Scan(&r.ID, &r.Action, &r.Network, &r.Country, &r.Note, &r.CreatedBy, &created, &expires); err != nil {
		return nil, err
	}
	r.CreatedAt, r.ExpiresAt = fromMicros(created), optionalTime(expires)
	return &r, nil
}

// bumpShieldVersion moves the marker servers poll, in the transaction of a
// rule change.
func bumpShieldVersion(tx *Tx) error {
	_, err := tx.exec(`UPDATE shield_state SET version = version + 1 WHERE id = 1`)
	return err
}

// PutShieldRule stores a block or allow rule, already validated (Network
// canonical, or Country upper-case). A rule with the same action and target
// is replaced: its note, expiry and author change and it keeps its id. It
// sets r.ID and r.CreatedAt and returns whether the rule is new.
func (s *Store) PutShieldRule(ctx context.Context, r *leadcap.ShieldRule) (created bool, err error) {
	n, err := s.PutShieldRules(ctx, []*leadcap.ShieldRule{r})
	return n == 1, err
}

// PutShieldRules stores many rules as PutShieldRule does, in one
// transaction, and returns how many are new.
func (s *Store) PutShieldRules(ctx context.Context, rules []*leadcap.ShieldRule) (created int, err error) {
	now := s.now().UTC()
	for _, r := range rules {
		if r.CreatedAt.IsZero() {
			r.CreatedAt = now
		}
	}
	err = s.write(ctx, func(tx *Tx) error {
		created = 0
		for _, r := range rules {
			var before int
			if err := tx.queryRow(`SELECT count(*) FROM shield_rules WHERE action = $1 AND network = $2 AND country = $3`,
				r.Action, r.Network, r.Country).Scan(&before); err != nil {
				return err
			}
			if before == 0 {
				created++
			}
			if err := tx.queryRow(`INSERT INTO shield_rules (action, network, country, note, created_by, created_at, expires_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7)
				ON CONFLICT (action, network, country) DO UPDATE SET note = excluded.note,
					created_by = excluded.created_by, created_at = excluded.created_at, expires_at = excluded.expires_at
				RETURNING id`,
				r.Action, r.Network, r.Country, r.Note, r.CreatedBy, micros(r.CreatedAt), optionalMicros(r.ExpiresAt)).Scan(&r.ID); err != nil {
				return err
			}
		}
		return bumpShieldVersion(tx)
	})
	if err != nil {
		return 0, fmt.Errorf("store: put shield rules: %w", err)
	}
	return created, nil
}

// DeleteShieldRule removes the rule with the id and returns it, or
// ENOTFOUND.
func (s *Store) DeleteShieldRule(ctx context.Context, id int64) (*leadcap.ShieldRule, error) {
	var r *leadcap.ShieldRule
	err := s.write(ctx, func(tx *Tx) error {
		var err error
		r, err = scanShieldRule(tx.queryRow(`SELECT `+shieldRuleColumns+` FROM shield_rules WHERE id = $1`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return leadcap.Errorf(leadcap.ENOTFOUND, "shield rule %d not found", id)
		} else if err != nil {
			return err
		}
		if _, err := tx.exec(`DELETE FROM shield_rules WHERE id = $1`, id); err != nil {
			return err
		}
		return bumpShieldVersion(tx)
	})
	if err != nil {
		return nil, fmt.Errorf("store: delete shield rule: %w", err)
	}
	return r, nil
}

// ShieldRules returns every rule, expired ones included, in id order.
func (s *Store) ShieldRules(ctx context.Context) ([]*leadcap.ShieldRule, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+shieldRuleColumns+` FROM shield_rules ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("store: shield rules: %w", err)
	}
	defer rows.Close()
	out := []*leadcap.ShieldRule{}
	for rows.Next() {
		r, err := scanShieldRule(rows)
		if err != nil {
			return nil, fmt.Errorf("store: shield rules: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: shield rules: %w", err)
	}
	return out, nil
}

// ShieldRulesVersion returns the marker that moves with every rule change:
// one small read, cheap enough to poll a few times a second.
func (s *Store) ShieldRulesVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := s.db.QueryRowContext(ctx, `SELECT version FROM shield_state WHERE id = 1`).Scan(&v); err != nil {
		return 0, fmt.Errorf("store: shield rules version: %w", err)
	}
	return v, nil
}

// AddShieldBlocks appends rows to the block record, in one transaction.
func (s *Store) AddShieldBlocks(ctx context.Context, recs []leadcap.ShieldBlockRecord) error {
	if len(recs) == 0 {
		return nil
	}
	err := s.write(ctx, func(tx *Tx) error {
		for _, r := range recs {
			if _, err := tx.exec(`INSERT INTO shield_blocks (at, rule, client_ip, country, route, count)
				VALUES ($1, $2, $3, $4, $5, $6)`, micros(r.At), r.Rule, r.ClientIP, r.Country, r.Route, r.Count); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: add shield blocks: %w", err)
	}
	return nil
}

// ShieldBlocks returns the rows of the block record at or after since, the
// newest limit of them, oldest first.
func (s *Store) ShieldBlocks(ctx context.Context, since time.Time, limit int) ([]leadcap.ShieldBlockRecord, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, at, rule, client_ip, country, route, count FROM shield_blocks
		WHERE at >= $1 ORDER BY at DESC, id DESC LIMIT $2`, micros(since), min(limit, 10000))
	if err != nil {
		return nil, fmt.Errorf("store: shield blocks: %w", err)
	}
	defer rows.Close()
	var out []leadcap.ShieldBlockRecord
	for rows.Next() {
		var r leadcap.ShieldBlockRecord
		var at int64
		if err := rows.Scan(&r.ID, &at, &r.Rule, &r.ClientIP, &r.Country, &r.Route, &r.Count); err != nil {
			return nil, fmt.Errorf("store: shield blocks: %w", err)
		}
		r.At = fromMicros(at)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: shield blocks: %w", err)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// UsePowSolution records a proof-of-work solution by its digest for the
// submission that brought it. It reports false when the digest was already
// used by another submission; the same submission again (an offline client
// retrying) is not a replay.
func (s *Store) UsePowSolution(ctx context.Context, digest []byte, submissionID string, expires time.Time) (bool, error) {
	fresh := false
	err := s.write(ctx, func(tx *Tx) error {
		n, err := execCount(ctx, tx, `INSERT INTO shield_pow_used (digest, submission_id, expires_at) VALUES ($1, $2, $3)
			ON CONFLICT (digest) DO NOTHING`, digest, submissionID, micros(expires))
		if err != nil {
			return err
		}
		if n == 1 {
			fresh = true
			return nil
		}
		var by string
		if err := tx.queryRow(`SELECT submission_id FROM shield_pow_used WHERE digest = $1`, digest).Scan(&by); err != nil {
			return err
		}
		fresh = by == submissionID
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("store: use pow solution: %w", err)
	}
	return fresh, nil
}

// PruneShield deletes proof-of-work solutions whose tokens expired before
// now, block records older than keepBlocks, and rules that expired more
// than keepRules ago. It returns how many rows went.
func (s *Store) PruneShield(ctx context.Context, now time.Time, keepBlocks, keepRules time.Duration) (int64, error) {
	var total int64
	err := s.write(ctx, func(tx *Tx) error {
		total = 0
		for _, q := range []struct {
			sql string
			arg int64
		}{
			{`DELETE FROM shield_pow_used WHERE expires_at < $1`, micros(now)},
			{`DELETE FROM shield_blocks WHERE at < $1`, micros(now.Add(-keepBlocks))},
			{`DELETE FROM shield_rules WHERE expires_at > 0 AND expires_at < $1`, micros(now.Add(-keepRules))},
		} {
			n, err := execCount(ctx, tx, q.sql, q.arg)
			if err != nil {
				return err
			}
			total += n
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: prune shield: %w", err)
	}
	return total, nil
}
