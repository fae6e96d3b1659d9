package store

import (
	"context"
	"fmt"
)

// SealedCount is how many stored values start with one key prefix: with
// internal/crypto's key ring, how many one encryption key sealed.
type SealedCount struct {
	Leads       int64 `json:"leads"`       // leads' personal fields
	Submissions int64 `json:"submissions"` // raw copies of submissions as received
	Notes       int64 `json:"notes"`       // staff notes on leads
	MFASecrets  int64 `json:"mfa_secrets"` // users' TOTP secrets, active or pending
}

// Total is the number of sealed values counted.
func (c SealedCount) Total() int64 { return c.Leads + c.Submissions + c.Notes + c.MFASecrets }

// sealedColumns are the columns that hold sealed values.
var sealedColumns = []struct {
	table, column string
	count         func(*SealedCount) *int64
}{
	{"leads", "data", func(c *SealedCount) *int64 { return &c.Leads }},
	{"submissions", "data", func(c *SealedCount) *int64 { return &c.Submissions }},
	{"lead_notes", "data", func(c *SealedCount) *int64 { return &c.Notes }},
	{"users", "totp_secret", func(c *SealedCount) *int64 { return &c.MFASecrets }},
	{"users", "totp_pending", func(c *SealedCount) *int64 { return &c.MFASecrets }},
}

// CountSealedByPrefix counts the sealed values stored in the database by
// their first prefixLen bytes, which with a key ring that prefixes its
// ciphertexts (internal/crypto's) name the key that sealed them. It scans
// the sealed columns in one snapshot and decrypts nothing. Objects in the
// object store are not counted.
func (s *Store) CountSealedByPrefix(ctx context.Context, prefixLen int) (map[string]SealedCount, error) {
	if prefixLen < 1 {
		return nil, fmt.Errorf("store: count sealed: prefix length %d, want at least 1", prefixLen)
	}
	counts := map[string]SealedCount{}
	err := s.read(ctx, func(tx *Tx) error {
		for _, col := range sealedColumns {
			// substr works on BLOB (SQLite) and BYTEA (PostgreSQL) alike.
			q := fmt.Sprintf(`SELECT substr(%[2]s, 1, $1), count(*) FROM %[1]s WHERE %[2]s IS NOT NULL GROUP BY 1`,
				col.table, col.column)
			rows, err := tx.tx.QueryContext(ctx, q, prefixLen)
			if err != nil {
				return fmt.Errorf("%s.%s: %w", col.table, col.column, err)
			}
			for rows.Next() {
				var prefix []byte
				var n int64
				if err := rows.Scan(&prefix, &n); err != nil {
					rows.Close()
					return fmt.Errorf("%s.%s: %w", col.table, col.column, err)
				}
				c := counts[string(prefix)]
				*col.count(&c) += n
				counts[string(prefix)] = c
			}
			err = rows.Err()
			rows.Close()
			if err != nil {
				return fmt.Errorf("%s.%s: %w", col.table, col.column, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: count sealed: %w", err)
	}
	return counts, nil
}
