package store

import (
	"context"
	"fmt"

	"github.com/leadcap/leadcap"
)

// DeleteConference deletes the conference with the id, its consent texts,
// and, when force is set, its leads with everything that hangs off them.
// Without force a conference that has leads is ECONFLICT. It returns how
// many leads went with it.
func (s *Store) DeleteConference(ctx context.Context, id string, force bool) (int64, error) {
	var leads int64
	err := s.write(ctx, func(tx *Tx) error {
		var n int
		if err := tx.queryRow(`SELECT count(*) FROM conferences WHERE id = $1`, id).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return leadcap.Errorf(leadcap.ENOTFOUND, "conference %q not found", id)
		}
		if err := tx.queryRow(`SELECT count(*) FROM leads WHERE conference_id = $1`, id).Scan(&leads); err != nil {
			return err
		}
		if leads > 0 && !force {
			return leadcap.Errorf(leadcap.ECONFLICT, "the conference has %d leads: delete them first, or have an admin force it", leads)
		}
		if leads > 0 && s.dialect == SQLite {
			// As for an erased lead (deleteLeadRows): the leads' bytes are
			// overwritten, not left in the file's free space. The cascade
			// to their submissions, notes, tags and terms runs inside the
			// DELETE, so it is covered too.
			if _, err := tx.exec(`PRAGMA secure_delete = ON`); err != nil {
				return err
			}
			defer tx.exec(`PRAGMA secure_delete = OFF`)
		}
		if _, err := tx.exec(`DELETE FROM leads WHERE conference_id = $1`, id); err != nil {
			return err
		}
		_, err := tx.exec(`DELETE FROM conferences WHERE id = $1`, id)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: delete conference: %w", err)
	}
	return leads, nil
}

// LeadCounts returns the number of leads of each conference, by id,
// quarantined spam left out. It reads the conference index and the spam
// index, not the leads.
func (s *Store) LeadCounts(ctx context.Context) (map[string]int64, error) {
	out := map[string]int64{}
	for _, q := range []struct {
		sql  string
		sign int64
	}{
		// A count per conference over its index range: cheaper than a
		// GROUP BY over the whole index.
		{`SELECT c.id, (SELECT count(*) FROM leads l WHERE l.conference_id = c.id) FROM conferences c`, 1},
		{`SELECT conference_id, count(*) FROM leads WHERE spam = TRUE GROUP BY conference_id`, -1},
	} {
		rows, err := s.db.QueryContext(ctx, q.sql)
		if err != nil {
			return nil, fmt.Errorf("store: lead counts: %w", err)
		}
		for rows.Next() {
			var id string
			var n int64
			if err := rows.Scan(&id, &n); err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: lead counts: %w", err)
			}
			out[id] += q.sign * n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("store: lead counts: %w", err)
		}
	}
	return out, nil
}
