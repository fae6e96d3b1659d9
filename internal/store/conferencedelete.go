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
// quarantined spam left out.
func (s *Store) LeadCounts(ctx context.Context) (map[string]int64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT conference_id, count(*) FROM leads WHERE spam = FALSE GROUP BY conference_id`)
	if err != nil {
		return nil, fmt.Errorf("store: lead counts: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var id string
		var n int64
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("store: lead counts: %w", err)
		}
		out[id] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: lead counts: %w", err)
	}
	return out, nil
}
