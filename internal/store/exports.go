package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/leadcap/leadcap"
)

const exportColumns = `id, format, preset, bom, filter, status, row_count, row_total, byte_count, sha256,
	object_key, created_by, created_at, finished_at, expires_at, error`

func scanExport(row scanner) (*leadcap.Export, error) {
	var e leadcap.Export
	var filter string
	var createdBy sql.NullString
	var created, expires int64
	var finished sql.NullInt64
	if err := row.Scan(&e.ID, &e.Format, &e.Columns, &e.BOM, &filter, &e.Status, &e.Rows, &e.Total, &e.Bytes,
		&e.SHA256, &e.ObjectKey, &createdBy, &created, &finished, &expires, &e.Error); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(filter), &e.Filter); err != nil {
		return nil, fmt.Errorf("export %s filter: %w", e.ID, err)
	}
	e.CreatedBy = createdBy.String
	e.CreatedAt, e.ExpiresAt = fromMicros(created), fromMicros(expires)
	if finished.Valid {
		e.FinishedAt = fromMicros(finished.Int64)
	}
	return &e, nil
}

// NewExportID returns a new export id: a UUIDv7, so that ids sort by creation.
func NewExportID() (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("store: new export id: %w", err)
	}
	return id.String(), nil
}

// CreateExport records a running export. e.ID, ObjectKey, CreatedAt and
// ExpiresAt must be set; its status becomes running.
func (s *Store) CreateExport(ctx context.Context, e *leadcap.Export) error {
	filter, err := json.Marshal(e.Filter)
	if err != nil {
		return fmt.Errorf("store: create export: %w", err)
	}
	e.Status = leadcap.ExportRunning
	var createdBy sql.NullString
	if e.CreatedBy != "" {
		createdBy = sql.NullString{String: e.CreatedBy, Valid: true}
	}
	err = s.write(ctx, func(tx *Tx) error {
		_, err := tx.exec(`INSERT INTO exports (id, format, preset, bom, filter, status, row_total, object_key,
			created_by, created_at, heartbeat_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			e.ID, e.Format, e.Columns, e.BOM, string(filter), e.Status, e.Total, e.ObjectKey, createdBy,
			micros(e.CreatedAt), micros(s.now()), micros(e.ExpiresAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: create export: %w", err)
	}
	return nil
}

// ExportProgress records how many rows a running export has written and
// that its server is still at it.
func (s *Store) ExportProgress(ctx context.Context, id string, rows, total int64) error {
	err := s.write(ctx, func(tx *Tx) error {
		_, err := tx.exec(`UPDATE exports SET row_count = $1, row_total = $2, heartbeat_at = $3
			WHERE id = $4 AND status = $5`, rows, total, micros(s.now()), id, leadcap.ExportRunning)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: export progress: %w", err)
	}
	return nil
}

// FinishExport records a running export as done with its Rows, Bytes and
// SHA256, and sets FinishedAt. It is ENOTFOUND when the export is gone or no
// longer running (deleted, or failed as stale meanwhile).
func (s *Store) FinishExport(ctx context.Context, e *leadcap.Export) error {
	e.FinishedAt = s.now().UTC()
	err := s.write(ctx, func(tx *Tx) error {
		n, err := execCount(ctx, tx, `UPDATE exports SET status = $1, row_count = $2, row_total = $2,
			byte_count = $3, sha256 = $4, finished_at = $5, heartbeat_at = $5 WHERE id = $6 AND status = $7`,
			leadcap.ExportDone, e.Rows, e.Bytes, e.SHA256, micros(e.FinishedAt), e.ID, leadcap.ExportRunning)
		if err == nil && n == 0 {
			return leadcap.Errorf(leadcap.ENOTFOUND, "export %s is no longer running", e.ID)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("store: finish export: %w", err)
	}
	e.Status = leadcap.ExportDone
	return nil
}

// FailExport records why a running export failed. cause is shown to users.
func (s *Store) FailExport(ctx context.Context, id, cause string) error {
	if len(cause) > 500 {
		cause = cause[:500]
	}
	err := s.write(ctx, func(tx *Tx) error {
		_, err := tx.exec(`UPDATE exports SET status = $1, error = $2, finished_at = $3 WHERE id = $4 AND status = $5`,
			leadcap.ExportFailed, cause, micros(s.now()), id, leadcap.ExportRunning)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: fail export: %w", err)
	}
	return nil
}

// FailStaleExports fails the running exports whose last heartbeat is
// before cutoff: the server running them stopped. It returns their ids.
func (s *Store) FailStaleExports(ctx context.Context, cutoff time.Time) ([]string, error) {
	var ids []string
	err := s.write(ctx, func(tx *Tx) error {
		var err error
		if ids, err = tx.queryIDs(`SELECT id FROM exports WHERE status = $1 AND heartbeat_at < $2`,
			leadcap.ExportRunning, micros(cutoff)); err != nil {
			return err
		}
		for _, id := range ids {
			if _, err := tx.exec(`UPDATE exports SET status = $1, error = $2, finished_at = $3 WHERE id = $4`,
				leadcap.ExportFailed, "interrupted: the server running it stopped", micros(s.now()), id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: fail stale exports: %w", err)
	}
	return ids, nil
}

// Export returns one export, or ENOTFOUND.
func (s *Store) Export(ctx context.Context, id string) (*leadcap.Export, error) {
	e, err := scanExport(s.db.QueryRowContext(ctx, `SELECT `+exportColumns+` FROM exports WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, leadcap.Errorf(leadcap.ENOTFOUND, "export %q not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("store: export: %w", err)
	}
	return e, nil
}

// Exports returns up to limit exports (default 50, at most 1000), newest
// first, starting after the export with id before ("" for the newest).
func (s *Store) Exports(ctx context.Context, before string, limit int) ([]*leadcap.Export, error) {
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 1000)
	return s.queryExports(ctx, `SELECT `+exportColumns+` FROM exports WHERE $1 = '' OR id < $1
		ORDER BY id DESC LIMIT $2`, before, limit)
}

// ExpiredExports returns up to limit exports whose ExpiresAt is not after now.
func (s *Store) ExpiredExports(ctx context.Context, now time.Time, limit int) ([]*leadcap.Export, error) {
	return s.queryExports(ctx, `SELECT `+exportColumns+` FROM exports WHERE expires_at <= $1
		ORDER BY expires_at, id LIMIT $2`, micros(now), limit)
}

func (s *Store) queryExports(ctx context.Context, query string, args ...any) ([]*leadcap.Export, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: exports: %w", err)
	}
	defer rows.Close()
	var out []*leadcap.Export
	for rows.Next() {
		e, err := scanExport(rows)
		if err != nil {
			return nil, fmt.Errorf("store: exports: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: exports: %w", err)
	}
	return out, nil
}

// DeleteExport removes the record of an export; its object must be purged
// from the object store first. Deleting an unknown export is ENOTFOUND.
func (s *Store) DeleteExport(ctx context.Context, id string) error {
	err := s.write(ctx, func(tx *Tx) error {
		n, err := execCount(ctx, tx, `DELETE FROM exports WHERE id = $1`, id)
		if err == nil && n == 0 {
			return leadcap.Errorf(leadcap.ENOTFOUND, "export %q not found", id)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("store: delete export: %w", err)
	}
	return nil
}
