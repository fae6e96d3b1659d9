package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/leadcap/leadcap"
)

// definition is the JSON-encoded part of a conference row.
type definition struct {
	Interests []leadcap.Choice   `json:"interests,omitempty"`
	Questions []leadcap.Question `json:"questions,omitempty"`
	Names     map[string]string  `json:"names,omitempty"`

	Defences leadcap.FormDefences `json:"defences,omitzero"`
}

const conferenceColumns = `c.id, c.slug, c.name, c.venue, c.country, c.time_zone, c.start_date, c.end_date,
	c.status, c.definition, c.created_at, c.updated_at, t.version, t.text, t.texts, t.hash, t.created_at`

const conferenceFrom = ` FROM conferences c JOIN consent_texts t ON t.conference_id = c.id AND t.version = c.consent_version`

type scanner interface{ Scan(dest ...any) error }

func scanConference(row scanner) (*leadcap.Conference, error) {
	var c leadcap.Conference
	var def, texts string
	var created, updated, consentAt int64
	err := row.Scan(&c.ID, &c.Slug, &c.Name, &c.Venue, &c.Country, &c.TimeZone, &c.StartDate, &c.EndDate,
		&c.Status, &def, &created, &updated, &c.Consent.Version, &c.Consent.Text, &texts, &c.Consent.Hash, &consentAt)
	if err != nil {
		return nil, err
	}
	var d definition
	if err := json.Unmarshal([]byte(def), &d); err != nil {
		return nil, fmt.Errorf("conference %s definition: %w", c.ID, err)
	}
	if err := json.Unmarshal([]byte(texts), &c.Consent.Texts); err != nil {
		return nil, fmt.Errorf("conference %s consent texts: %w", c.ID, err)
	}
	c.Interests, c.Questions, c.Names = d.Interests, d.Questions, d.Names
	c.Defences = d.Defences
	c.CreatedAt, c.UpdatedAt, c.Consent.CreatedAt = fromMicros(created), fromMicros(updated), fromMicros(consentAt)
	return &c, nil
}

// CreateConference stores a new conference, already validated, with version
// 1 of its consent text. It sets ID, times and the consent version. A taken
// slug is ECONFLICT.
func (s *Store) CreateConference(ctx context.Context, c *leadcap.Conference) error {
	now := s.now().UTC()
	id, err := uuid.NewV7()
	if err != nil {
		return fmt.Errorf("store: create conference: %w", err)
	}
	c.ID, c.CreatedAt, c.UpdatedAt = id.String(), now, now
	c.Consent.Version, c.Consent.CreatedAt = 1, now
	err = s.write(ctx, func(tx *Tx) error {
		if taken, err := slugTaken(ctx, tx, c.Slug, ""); err != nil {
			return err
		} else if taken {
			return leadcap.Errorf(leadcap.ECONFLICT, "a conference with slug %q exists", c.Slug)
		}
		def, err := json.Marshal(definition{c.Interests, c.Questions, c.Names, c.Defences})
		if err != nil {
			return err
		}
		if _, err := tx.exec(`INSERT INTO conferences (id, slug, name, venue, country, time_zone,
			start_date, end_date, status, definition, consent_version, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			c.ID, c.Slug, c.Name, c.Venue, c.Country, c.TimeZone, c.StartDate, c.EndDate, c.Status, string(def),
			c.Consent.Version, micros(now), micros(now)); err != nil {
			return err
		}
		return insertConsent(ctx, tx, c.ID, &c.Consent)
	})
	if err != nil {
		return fmt.Errorf("store: create conference: %w", err)
	}
	return nil
}

func slugTaken(ctx context.Context, tx *Tx, slug, exceptID string) (bool, error) {
	var n int
	err := tx.queryRow(`SELECT count(*) FROM conferences WHERE slug = $1 AND id <> $2`, slug, exceptID).Scan(&n)
	return n > 0, err
}

func insertConsent(ctx context.Context, tx *Tx, conferenceID string, t *leadcap.ConsentText) error {
	texts, err := json.Marshal(t.Texts)
	if err != nil {
		return err
	}
	_, err = tx.exec(`INSERT INTO consent_texts (conference_id, version, text, texts, hash, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, conferenceID, t.Version, t.Text, string(texts), t.Hash, micros(t.CreatedAt))
	return err
}

// UpdateConference saves the details, questions and status of c, already
// validated. When the consent hash differs from the current version's, the
// text is stored as a new version and c.Consent.Version is advanced; older
// versions stay, since leads refer to them.
func (s *Store) UpdateConference(ctx context.Context, c *leadcap.Conference) error {
	now := s.now().UTC()
	err := s.write(ctx, func(tx *Tx) error {
		cur, err := scanConference(tx.queryRow(`SELECT `+conferenceColumns+conferenceFrom+` WHERE c.id = $1`, c.ID))
		if errors.Is(err, sql.ErrNoRows) {
			return leadcap.Errorf(leadcap.ENOTFOUND, "conference not found")
		} else if err != nil {
			return err
		}
		if taken, err := slugTaken(ctx, tx, c.Slug, c.ID); err != nil {
			return err
		} else if taken {
			return leadcap.Errorf(leadcap.ECONFLICT, "a conference with slug %q exists", c.Slug)
		}
		if c.Consent.Hash != cur.Consent.Hash {
			var max int
			if err := tx.queryRow(`SELECT max(version) FROM consent_texts WHERE conference_id = $1`, c.ID).Scan(&max); err != nil {
				return err
			}
			c.Consent.Version, c.Consent.CreatedAt = max+1, now
			if err := insertConsent(ctx, tx, c.ID, &c.Consent); err != nil {
				return err
			}
		} else {
			c.Consent = cur.Consent
		}
		def, err := json.Marshal(definition{c.Interests, c.Questions, c.Names, c.Defences})
		if err != nil {
			return err
		}
		c.CreatedAt, c.UpdatedAt = cur.CreatedAt, now
		_, err = tx.exec(`UPDATE conferences SET slug = $1, name = $2, venue = $3, country = $4,
			time_zone = $5, start_date = $6, end_date = $7, status = $8, definition = $9, consent_version = $10,
			updated_at = $11 WHERE id = $12`,
			c.Slug, c.Name, c.Venue, c.Country, c.TimeZone, c.StartDate, c.EndDate, c.Status, string(def),
			c.Consent.Version, micros(now), c.ID)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: update conference: %w", err)
	}
	return nil
}

// Conference returns the conference with the given id or slug, or ENOTFOUND.
func (s *Store) Conference(ctx context.Context, idOrSlug string) (*leadcap.Conference, error) {
	c, err := scanConference(s.db.QueryRowContext(ctx, `SELECT `+conferenceColumns+conferenceFrom+
		` WHERE c.id = $1 OR c.slug = $1`, idOrSlug))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, leadcap.Errorf(leadcap.ENOTFOUND, "conference %q not found", idOrSlug)
	} else if err != nil {
		return nil, fmt.Errorf("store: conference: %w", err)
	}
	return c, nil
}

// ConsentText returns one version of a conference's consent text.
func (s *Store) ConsentText(ctx context.Context, conferenceID string, version int) (*leadcap.ConsentText, error) {
	var t leadcap.ConsentText
	var texts string
	var at int64
	err := s.db.QueryRowContext(ctx, `SELECT version, text, texts, hash, created_at FROM consent_texts
		WHERE conference_id = $1 AND version = $2`, conferenceID, version).Scan(&t.Version, &t.Text, &texts, &t.Hash, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, leadcap.Errorf(leadcap.ENOTFOUND, "consent text version %d not found", version)
	} else if err != nil {
		return nil, fmt.Errorf("store: consent text: %w", err)
	}
	t.CreatedAt = fromMicros(at)
	if err := json.Unmarshal([]byte(texts), &t.Texts); err != nil {
		return nil, fmt.Errorf("store: consent text: %w", err)
	}
	return &t, nil
}

// Conferences returns every conference, newest first.
func (s *Store) Conferences(ctx context.Context) ([]*leadcap.Conference, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+conferenceColumns+conferenceFrom+` ORDER BY c.created_at DESC, c.id DESC`)
	if err != nil {
		return nil, fmt.Errorf("store: conferences: %w", err)
	}
	defer rows.Close()
	var out []*leadcap.Conference
	for rows.Next() {
		c, err := scanConference(rows)
		if err != nil {
			return nil, fmt.Errorf("store: conferences: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: conferences: %w", err)
	}
	return out, nil
}
