package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// OutboxItem is a raw submission waiting to be copied to the object store.
type OutboxItem struct {
	ConferenceID string
	SubmissionID string
	LeadID       string
	ObjectKey    string
	Attempts     int
	ReceivedAt   time.Time
	Sealed       []byte // the submission, sealed; opens with SubmissionAD
}

// SubmissionAD is the associated data a sealed submission opens with.
func SubmissionAD(conferenceID, submissionID string) []byte {
	return submissionAD(conferenceID, submissionID)
}

// ClaimOutbox leases up to limit due submissions for lease, so that another
// worker (on another server) does not take them meanwhile, and returns them
// oldest first.
func (s *Store) ClaimOutbox(ctx context.Context, limit int, lease time.Duration) ([]OutboxItem, error) {
	now := s.now()
	var items []OutboxItem
	err := s.write(ctx, func(tx *Tx) error {
		items = items[:0]
		lock := ""
		if s.dialect == Postgres {
			lock = " FOR UPDATE OF s SKIP LOCKED"
		}
		rows, err := tx.query(`SELECT s.conference_id, s.id, s.lead_id, l.created_at, s.attempts, s.received_at, s.data
			FROM submissions s JOIN leads l ON l.id = s.lead_id
			WHERE s.pending = $1 AND s.next_attempt_at <= $2 ORDER BY s.next_attempt_at LIMIT $3`+lock, true, micros(now), limit)
		if err != nil {
			return err
		}
		for rows.Next() {
			var it OutboxItem
			var created, received int64
			if err := rows.Scan(&it.ConferenceID, &it.SubmissionID, &it.LeadID, &created, &it.Attempts, &received, &it.Sealed); err != nil {
				rows.Close()
				return err
			}
			it.ReceivedAt = fromMicros(received)
			it.ObjectKey = RawObjectKey(it.ConferenceID, it.LeadID, fromMicros(created))
			items = append(items, it)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, it := range items {
			if _, err := tx.exec(`UPDATE submissions SET next_attempt_at = $1 WHERE conference_id = $2 AND id = $3`,
				micros(now.Add(lease)), it.ConferenceID, it.SubmissionID); err != nil {
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

// CompleteOutbox marks items as copied.
func (s *Store) CompleteOutbox(ctx context.Context, items ...OutboxItem) error {
	err := s.write(ctx, func(tx *Tx) error {
		for _, it := range items {
			if _, err := tx.exec(`UPDATE submissions SET pending = $1, last_error = '' WHERE conference_id = $2 AND id = $3`,
				false, it.ConferenceID, it.SubmissionID); err != nil {
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
func (s *Store) RetryOutbox(ctx context.Context, it OutboxItem, next time.Time, cause string) error {
	if len(cause) > 500 {
		cause = cause[:500]
	}
	err := s.write(ctx, func(tx *Tx) error {
		_, err := tx.exec(`UPDATE submissions SET attempts = attempts + 1, next_attempt_at = $1, last_error = $2
			WHERE conference_id = $3 AND id = $4`, micros(next), cause, it.ConferenceID, it.SubmissionID)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: retry outbox: %w", err)
	}
	return nil
}

// OutboxStats reports how many raw copies wait and when the oldest was
// received (zero when none wait).
func (s *Store) OutboxStats(ctx context.Context) (pending int64, oldest time.Time, err error) {
	var min sql.NullInt64
	err = s.db.QueryRowContext(ctx, `SELECT count(*), min(received_at) FROM submissions WHERE pending = $1`, true).Scan(&pending, &min)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("store: outbox stats: %w", err)
	}
	if min.Valid {
		oldest = fromMicros(min.Int64)
	}
	return pending, oldest, nil
}
