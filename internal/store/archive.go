package store

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// archiveBatch is how many leads DeleteArchivedLeads deletes per
// transaction: each holds the write lock briefly, so captures go on.
const archiveBatch = 1000

// DeleteArchivedLeads deletes the leads matching f that an export of f
// begun at started holds whole, archiveBatch per transaction, calling
// progress (if set) with the running total after each. A lead is held
// whole when it has not changed since started and has nothing an export
// leaves out: no rating, tags or staff notes, and no submission still
// waiting for its raw copy (the raw copies keep the submission history).
// The other leads matching f are kept; DeleteArchivedLeads returns how many
// it deleted and how many it kept.
func (s *Store) DeleteArchivedLeads(ctx context.Context, f LeadFilter, started time.Time, progress func(deleted int64)) (deleted, kept int64, err error) {
	where, args := filterSQL(f)
	n := len(args)
	query := `SELECT id FROM leads WHERE 1 = 1` + where + ` AND updated_at <= $` + strconv.Itoa(n+1) + ` AND rating = 0
		AND NOT EXISTS (SELECT 1 FROM lead_tags WHERE lead_tags.lead_id = leads.id)
		AND NOT EXISTS (SELECT 1 FROM lead_notes WHERE lead_notes.lead_id = leads.id)
		AND NOT EXISTS (SELECT 1 FROM submissions WHERE submissions.lead_id = leads.id AND submissions.pending = $` + strconv.Itoa(n+2) + `)
		ORDER BY id LIMIT ` + strconv.Itoa(archiveBatch)
	args = append(args, micros(started), true)
	for {
		var ids []string
		err := s.write(ctx, func(tx *Tx) error {
			var err error
			if ids, err = tx.queryIDs(query, args...); err != nil {
				return err
			}
			return s.deleteLeadRows(tx, ids...)
		})
		if err != nil {
			return deleted, 0, fmt.Errorf("store: delete archived leads: %w", err)
		}
		deleted += int64(len(ids))
		if progress != nil {
			progress(deleted)
		}
		if len(ids) < archiveBatch {
			break
		}
	}
	kept, err = s.CountMatchingLeads(ctx, f)
	return deleted, kept, err
}
