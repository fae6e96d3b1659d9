package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/leadcap/leadcap"
)

// LeadChange is a staff member's change to a lead, already validated
// (intake.NormalizeTags, intake.CheckNote): each field that is not nil is
// applied, all in one transaction.
type LeadChange struct {
	Rating *string
	Tags   *[]string // replaces the lead's tags
	// Note is added to the lead's notes; UpdateLead sets its ID, LeadID
	// and CreatedAt.
	Note *leadcap.LeadNote
}

func noteAD(leadID, noteID string) []byte { return []byte("lead-note:" + leadID + "/" + noteID) }

// UpdateLead applies c to the lead with the id, or returns ENOTFOUND.
func (s *Store) UpdateLead(ctx context.Context, id string, c LeadChange) error {
	var sealedNote []byte
	if c.Note != nil {
		nid, err := uuid.NewV7()
		if err != nil {
			return fmt.Errorf("store: update lead: %w", err)
		}
		c.Note.ID, c.Note.LeadID, c.Note.CreatedAt = nid.String(), id, s.now().UTC().Truncate(time.Microsecond)
		if sealedNote, err = s.sealer.Seal([]byte(c.Note.Text), noteAD(id, c.Note.ID)); err != nil {
			return fmt.Errorf("store: update lead: %w", err)
		}
	}
	if c.Rating != nil {
		if _, ok := ratingCodes[*c.Rating]; !ok {
			return leadcap.FieldErrors(map[string]string{"rating": "must be hot, warm, cold or empty"})
		}
	}
	err := s.write(ctx, func(tx *Tx) error {
		if err := leadExists(tx, id); err != nil {
			return err
		}
		if c.Rating != nil {
			if _, err := tx.exec(`UPDATE leads SET rating = $1 WHERE id = $2`, ratingCodes[*c.Rating], id); err != nil {
				return err
			}
		}
		if c.Tags != nil {
			if _, err := tx.exec(`DELETE FROM lead_tags WHERE lead_id = $1`, id); err != nil {
				return err
			}
			for _, t := range *c.Tags {
				if _, err := tx.exec(`INSERT INTO lead_tags (lead_id, tag) VALUES ($1, $2) ON CONFLICT DO NOTHING`, id, t); err != nil {
					return err
				}
			}
		}
		if c.Note != nil {
			if _, err := tx.exec(`INSERT INTO lead_notes (id, lead_id, author_id, author, created_at, data)
				VALUES ($1, $2, $3, $4, $5, $6)`, c.Note.ID, id, c.Note.AuthorID, c.Note.Author, micros(c.Note.CreatedAt), sealedNote); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: update lead: %w", err)
	}
	return nil
}

func leadExists(tx *Tx, id string) error {
	var n int
	if err := tx.queryRow(`SELECT count(*) FROM leads WHERE id = $1`, id).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return leadcap.Errorf(leadcap.ENOTFOUND, "lead %q not found", id)
	}
	return nil
}

// RectifyLead stores corrected personal fields of l (an admin's
// rectification; intake.Correct checked them): its fields are sealed
// again, its search terms and email index follow, and UpdatedAt is set.
// emailKey is intake.EmailKey of the email. Another lead of the conference
// with that email is ECONFLICT.
func (s *Store) RectifyLead(ctx context.Context, l *leadcap.Lead, emailKey string) error {
	l.UpdatedAt = s.now().UTC().Truncate(time.Microsecond)
	sealed, err := s.sealLead(l)
	if err != nil {
		return fmt.Errorf("store: rectify lead: %w", err)
	}
	index := s.sealer.BlindIndex("email", emailKey)
	terms := s.leadTerms(l)
	err = s.write(ctx, func(tx *Tx) error {
		var other string
		err := tx.queryRow(`SELECT id FROM leads WHERE conference_id = $1 AND email_index = $2 AND id <> $3`,
			l.ConferenceID, index, l.ID).Scan(&other)
		if err == nil {
			return &leadcap.Error{Code: leadcap.ECONFLICT, Message: "another lead of this conference has this email",
				Fields: map[string]string{"email": "belongs to another lead of this conference"}}
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		n, err := execCount(ctx, tx, `UPDATE leads SET email_index = $1, data = $2, updated_at = $3 WHERE id = $4 AND conference_id = $5`,
			index, sealed, micros(l.UpdatedAt), l.ID, l.ConferenceID)
		if err != nil {
			return err
		}
		if n == 0 {
			return leadcap.Errorf(leadcap.ENOTFOUND, "lead %q not found", l.ID)
		}
		return reindexLead(tx, l.ID, terms)
	})
	if err != nil {
		return fmt.Errorf("store: rectify lead: %w", err)
	}
	return nil
}

// DeleteLead deletes the lead with the id, with its submissions, notes,
// tags and search terms, and returns it as it was (without history). On
// SQLite the bytes they took are overwritten (see deleteLead). The raw
// copies in the object store are the caller's: EraseLead does both.
func (s *Store) DeleteLead(ctx context.Context, id string) (*leadcap.Lead, error) {
	l, _, err := s.deleteLead(ctx, id)
	return l, err
}

// LeadDetail returns the lead with its history of submissions, rating,
// tags and staff notes, or ENOTFOUND.
func (s *Store) LeadDetail(ctx context.Context, id string) (*leadcap.Lead, error) {
	l, err := s.Lead(ctx, id)
	if err != nil {
		return nil, err
	}
	var rating int
	if err := s.db.QueryRowContext(ctx, `SELECT rating FROM leads WHERE id = $1`, id).Scan(&rating); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, leadcap.Errorf(leadcap.ENOTFOUND, "lead %q not found", id)
		}
		return nil, fmt.Errorf("store: lead detail: %w", err)
	}
	l.Rating = ratingName(rating)
	if err := s.fillTags(ctx, []*leadcap.Lead{l}); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, author_id, author, created_at, data FROM lead_notes
		WHERE lead_id = $1 ORDER BY created_at, id`, id)
	if err != nil {
		return nil, fmt.Errorf("store: lead notes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		n := leadcap.LeadNote{LeadID: id}
		var at int64
		var sealed []byte
		if err := rows.Scan(&n.ID, &n.AuthorID, &n.Author, &at, &sealed); err != nil {
			return nil, fmt.Errorf("store: lead notes: %w", err)
		}
		text, err := s.sealer.Open(sealed, noteAD(id, n.ID))
		if err != nil {
			return nil, fmt.Errorf("store: open note %s: %w", n.ID, err)
		}
		n.Text, n.CreatedAt = string(text), fromMicros(at)
		l.StaffNotes = append(l.StaffNotes, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: lead notes: %w", err)
	}
	return l, nil
}
