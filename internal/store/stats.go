package store

import (
	"context"
	"fmt"
	"time"

	"github.com/leadcap/leadcap"
)

// CountReceived counts the leads of a conference ("" for all) received in
// [from, to), and how many of them are quarantined as spam. It reads only
// indexes: a lead's id is a UUIDv7 made when it was stored, so its id
// says when it arrived.
func (s *Store) CountReceived(ctx context.Context, conferenceID string, from, to time.Time) (leads, spam int64, err error) {
	lo, hi := idBound(from), idBound(to)
	q := `SELECT count(*) FROM leads WHERE id >= $1 AND id < $2`
	args := []any{lo, hi}
	if conferenceID != "" {
		q += ` AND conference_id = $3`
		args = append(args, conferenceID)
	}
	if err := s.db.QueryRowContext(ctx, q, args...).Scan(&leads); err != nil {
		return 0, 0, fmt.Errorf("store: count received: %w", err)
	}
	if err := s.db.QueryRowContext(ctx, q+` AND spam = TRUE`, args...).Scan(&spam); err != nil {
		return 0, 0, fmt.Errorf("store: count received: %w", err)
	}
	return leads - spam, spam, nil
}

// CountSpam counts the leads held in quarantine as suspected spam.
func (s *Store) CountSpam(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM leads WHERE spam = TRUE`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count spam: %w", err)
	}
	return n, nil
}

// Tally counts what recent leads chose: interests, and the choices of
// single and multiple choice questions. Free text, numbers and dates are
// not tallied.
type Tally struct {
	Leads     int                       // leads tallied
	Interests map[string]int            // by interest value
	Answers   map[string]map[string]int // by question id, then choice value
}

// TallyLeads decrypts the most recent sample leads of conference c (not
// spam) and counts their interests and the answers to its choice
// questions.
func (s *Store) TallyLeads(ctx context.Context, c *leadcap.Conference, sample int) (*Tally, error) {
	choice := map[string]bool{}
	for _, q := range c.Questions {
		choice[q.ID] = q.Type == leadcap.QuestionSingle || q.Type == leadcap.QuestionMulti
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+leadColumns+` FROM leads
		WHERE conference_id = $1 AND spam = FALSE ORDER BY id DESC LIMIT $2`, c.ID, sample)
	if err != nil {
		return nil, fmt.Errorf("store: tally leads: %w", err)
	}
	defer rows.Close()
	t := &Tally{Interests: map[string]int{}, Answers: map[string]map[string]int{}}
	for rows.Next() {
		l, err := s.scanLead(rows)
		if err != nil {
			return nil, fmt.Errorf("store: tally leads: %w", err)
		}
		t.add(l, choice)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: tally leads: %w", err)
	}
	return t, nil
}

func (t *Tally) add(l *leadcap.Lead, choice map[string]bool) {
	t.Leads++
	for _, in := range l.Interests {
		t.Interests[in]++
	}
	for q, a := range l.Answers {
		if !choice[q] {
			continue
		}
		var values []string
		switch v := a.(type) {
		case string:
			values = []string{v}
		case []string:
			values = v
		case []any:
			for _, x := range v {
				if s, ok := x.(string); ok {
					values = append(values, s)
				}
			}
		}
		for _, v := range values {
			if t.Answers[q] == nil {
				t.Answers[q] = map[string]int{}
			}
			t.Answers[q][v]++
		}
	}
}
