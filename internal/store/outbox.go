package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// OutboxItem is a raw submission waiting to be copied to the object store.
type OutboxItem struct {
	ID           int64
	ConferenceID string
	SubmissionID string
	LeadID       string
	ObjectKey    string
	Attempts     int
	ReceivedAt   time.Time
	Sealed       []byte // the submission, sealed; opens with SubmissionAD
	CreatedAt    time.Time
}

// SubmissionAD is the associated data a sealed submission opens with.
func SubmissionAD(conferenceID, submissionID string) []byte {
	return submissionAD(conferenceID, submissionID)
}

// ClaimOutbox leases up to limit due items for lease, so that another worker
// (on another server) does not take them meanwhile, and returns them oldest
// first. Items whose submission has been erased are dropped.
func (s *Store) ClaimOutbox(ctx context.Context, limit int, lease time.Duration) ([]OutboxItem, error) {
	now := s.now()
	var items []OutboxItem
	err := s.write(ctx, func(tx *Tx) error {
		items = items[:0]
		lock := ""
		if s.dialect == Postgres {
			lock = " FOR UPDATE OF o SKIP LOCKED"
		}
		rows, err := tx.query(`SELECT o.id, o.conference_id, o.submission_id, o.object_key, o.attempts,
			o.created_at, coalesce(s.lead_id, ''), coalesce(s.received_at, 0), s.data
			FROM outbox o LEFT JOIN submissions s ON s.conference_id = o.conference_id AND s.id = o.submission_id
			WHERE o.next_attempt_at <= $1 ORDER BY o.id LIMIT $2`+lock, micros(now), limit)
		if err != nil {
			return err
		}
		var orphans []int64
		for rows.Next() {
			var it OutboxItem
			var created, received int64
			if err := rows.Scan(&it.ID, &it.ConferenceID, &it.SubmissionID, &it.ObjectKey, &it.Attempts,
				&created, &it.LeadID, &received, &it.Sealed); err != nil {
				rows.Close()
				return err
			}
			it.CreatedAt, it.ReceivedAt = fromMicros(created), fromMicros(received)
			if it.Sealed == nil {
				orphans = append(orphans, it.ID)
				continue
			}
			items = append(items, it)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, id := range orphans {
			if _, err := tx.exec(`DELETE FROM outbox WHERE id = $1`, id); err != nil {
				return err
			}
		}
		for _, it := range items {
			if _, err := tx.exec(`UPDATE outbox SET next_attempt_at = $1 WHERE id = $2`,
				micros(now.Add(lease)), it.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: claim outbox: %w", err)
	}
	return items, nil
}

// CompleteOutbox removes items that were copied.
func (s *Store) CompleteOutbox(ctx context.Context, ids ...int64) error {
	err := s.write(ctx, func(tx *Tx) error {
		for _, id := range ids {
			if _, err := tx.exec(`DELETE FROM outbox WHERE id = $1`, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: complete outbox: %w", err)
	}
	return nil
}

// RetryOutbox records a failed copy and when to try again.
func (s *Store) RetryOutbox(ctx context.Context, id int64, next time.Time, cause string) error {
	if len(cause) > 500 {
		cause = cause[:500]
	}
	err := s.write(ctx, func(tx *Tx) error {
		_, err := tx.exec(`UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $1, last_error = $2
			WHERE id = $3`, micros(next), cause, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: retry outbox: %w", err)
	}
	return nil
}

// OutboxStats reports how many raw copies wait and when the oldest was
// queued (zero when none wait).
func (s *Store) OutboxStats(ctx context.Context) (pending int64, oldest time.Time, err error) {
	var min sql.NullInt64
	err = s.db.QueryRowContext(ctx, `SELECT count(*), min(created_at) FROM outbox`).Scan(&pending, &min)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("store: outbox stats: %w", err)
	}
	if min.Valid {
		oldest = fromMicros(min.Int64)
	}
	return pending, oldest, nil
}
