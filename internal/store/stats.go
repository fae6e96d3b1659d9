package store

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/leadcap/leadcap"
)

// CountReceived counts the leads of a conference ("" for all) received in
// [from, to), and how many of them are quarantined as spam. It reads only
// indexes: a lead's id is a UUIDv7 made when it was stored, so its id
// says when it arrived.
func (s *Store) CountReceived(ctx context.Context, conferenceID string, from, to time.Time) (leads, spam int64, err error) {
	counts, spams, err := s.ReceivedHistogram(ctx, conferenceID, []time.Time{from, to})
	if err != nil {
		return 0, 0, err
	}
	return counts[0], spams[0], nil
}

// ReceivedHistogram counts the leads of a conference ("" for all) received
// in each span between consecutive bounds (sorted, at least two): bucket i
// is [bounds[i], bounds[i+1]). It returns the leads that are not spam, and
// the spam, per bucket. Each bucket is a count over a range of the id
// index (or of the conference index), which reads no lead; spam, rare, is
// read from its own index.
func (s *Store) ReceivedHistogram(ctx context.Context, conferenceID string, bounds []time.Time) (leads, spam []int64, err error) {
	if len(bounds) < 2 {
		return nil, nil, fmt.Errorf("store: received histogram: want at least two bounds")
	}
	ids := make([]string, len(bounds))
	for i, b := range bounds {
		ids[i] = idBound(b)
	}
	q := `SELECT count(*) FROM leads WHERE id >= $1 AND id < $2`
	if conferenceID != "" {
		q += ` AND conference_id = $3`
	}
	leads = make([]int64, len(ids)-1)
	for i := range leads {
		args := []any{ids[i], ids[i+1]}
		if conferenceID != "" {
			args = append(args, conferenceID)
		}
		if err := s.db.QueryRowContext(ctx, q, args...).Scan(&leads[i]); err != nil {
			return nil, nil, fmt.Errorf("store: received histogram: %w", err)
		}
	}
	spam = make([]int64, len(leads))
	rows, err := s.db.QueryContext(ctx, `SELECT id, conference_id FROM leads WHERE spam = TRUE AND id >= $1 AND id < $2`,
		ids[0], ids[len(ids)-1])
	if err != nil {
		return nil, nil, fmt.Errorf("store: received histogram: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, conf string
		if err := rows.Scan(&id, &conf); err != nil {
			return nil, nil, fmt.Errorf("store: received histogram: %w", err)
		}
		if conferenceID != "" && conf != conferenceID {
			continue
		}
		// The bucket whose lower bound is the last one not above id.
		i := sort.SearchStrings(ids, id)
		if i == len(ids) || ids[i] != id {
			i--
		}
		if i >= 0 && i < len(spam) {
			spam[i]++
			leads[i]--
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("store: received histogram: %w", err)
	}
	return leads, spam, nil
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
