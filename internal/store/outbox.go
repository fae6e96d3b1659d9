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

// CompleteOutbox marks items as copied, in one statement, and returns those
// whose submission no longer exists: their lead was deleted (erased,
// archived, or with its conference) after they were claimed, so the copy
// just written belongs to nothing and the caller removes it again. Called
// after the copies are written, the check sees every deletion that
// committed before then; outbox.Worker.RunOnce says why that is enough.
func (s *Store) CompleteOutbox(ctx context.Context, items ...OutboxItem) (gone []OutboxItem, err error) {
	if len(items) == 0 {
		return nil, nil
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
	var copied map[int64]bool
	err = s.write(ctx, func(tx *Tx) error {
		copied = make(map[int64]bool, len(items)) // the writer may run fn twice
		// The IN list varies with the batch: not worth a prepared statement.
		// On PostgreSQL the UPDATE waits for a concurrent DELETE of one of
		// the rows and, once that commits, leaves the row out of RETURNING.
		rows, err := tx.tx.QueryContext(tx.ctx, `UPDATE submissions SET pending = $1, last_error = ''
			WHERE seq IN (`+in.String()+`) RETURNING seq`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var seq int64
			if err := rows.Scan(&seq); err != nil {
				return err
			}
			copied[seq] = true
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: complete outbox: %w", err)
	}
	for _, it := range items {
		if !copied[it.Seq] {
			gone = append(gone, it)
		}
	}
	return gone, nil
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
