package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// OutboxItem is a raw submission waiting to be copied to the object store.
type OutboxItem struct {
	Seq          int64 // the submission row
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
// oldest first. Only submissions that have been due for at least waited
// are claimed: a worker that defers the newest copies during a burst of
// captures (see Burst) passes how long it lets them wait. It is one
// statement, however many it claims.
func (s *Store) ClaimOutbox(ctx context.Context, limit int, lease, waited time.Duration) ([]OutboxItem, error) {
	now := s.now()
	var items []OutboxItem
	err := s.write(ctx, func(tx *Tx) error {
		items = items[:0]
		lock := ""
		if s.dialect == Postgres {
			lock = " FOR UPDATE SKIP LOCKED"
		}
		rows, err := tx.query(`UPDATE submissions SET next_attempt_at = $1 WHERE seq IN (
				SELECT seq FROM submissions WHERE pending = $2 AND next_attempt_at <= $3
				ORDER BY next_attempt_at LIMIT $4`+lock+`)
			RETURNING seq, conference_id, id, lead_id, attempts, received_at, data`,
			micros(now.Add(lease)), true, micros(now.Add(-waited)), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var it OutboxItem
			var received int64
			if err := rows.Scan(&it.Seq, &it.ConferenceID, &it.SubmissionID, &it.LeadID, &it.Attempts, &received, &it.Sealed); err != nil {
				return err
			}
			it.ReceivedAt = fromMicros(received)
			it.ObjectKey = RawObjectKey(it.ConferenceID, it.LeadID)
			items = append(items, it)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: claim outbox: %w", err)
	}
	return items, nil
}

// CompleteOutbox marks items as copied, in one statement.
func (s *Store) CompleteOutbox(ctx context.Context, items ...OutboxItem) error {
	if len(items) == 0 {
		return nil
	}
	args := []any{false}
	var in strings.Builder
	for i, it := range items {
		if i > 0 {
			in.WriteString(", ")
		}
		args = append(args, it.Seq)
		in.WriteString("$" + strconv.Itoa(len(args)))
	}
	err := s.write(ctx, func(tx *Tx) error {
		// The IN list varies with the batch: not worth a prepared statement.
		_, err := tx.tx.ExecContext(tx.ctx, `UPDATE submissions SET pending = $1, last_error = '' WHERE seq IN (`+in.String()+`)`, args...)
		return err
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
			WHERE seq = $3`, micros(next), cause, it.Seq)
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
