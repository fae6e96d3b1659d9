package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Statuses of a kiosk link.
const (
	KioskActive  = "active"
	KioskExpired = "expired"
	KioskRevoked = "revoked"
)

// KioskLink is the record of a kiosk tablet of a conference and the device
// link it was given last (see internal/kiosk). Links issued before Issued
// were replaced; links issued at or before Revoked were revoked.
type KioskLink struct {
	ConferenceID string
	DeviceID     string
	Label        string
	Issued       time.Time // the current link's; zero when none was recorded
	Expires      time.Time
	IssuedBy     string
	// Revoked is the last revocation of the device; it outlives a newer
	// link, as the cut-off below which links stay refused.
	Revoked   time.Time
	RevokedBy string
}

// Status returns KioskRevoked when the current link was revoked,
// KioskExpired when it expired by now, else KioskActive.
func (l *KioskLink) Status(now time.Time) string {
	switch {
	case !l.Revoked.IsZero() && !l.Revoked.Before(l.Issued):
		return KioskRevoked
	case !now.Before(l.Expires):
		return KioskExpired
	}
	return KioskActive
}

const kioskLinkColumns = `conference_id, device_id, label, issued_at, expires_at, issued_by, revoked_at, revoked_by`

func scanKioskLink(row scanner) (*KioskLink, error) {
	var l KioskLink
	var issued, expires, revoked int64
	if err := row.Scan(&l.ConferenceID, &l.DeviceID, &l.Label, &issued, &expires, &l.IssuedBy, &revoked, &l.RevokedBy); err != nil {
		return nil, err
	}
	l.Issued, l.Expires, l.Revoked = optionalTime(issued), optionalTime(expires), optionalTime(revoked)
	return &l, nil
}

func kioskLinkOf(tx *Tx, conferenceID, deviceID string) (*KioskLink, error) {
	l, err := scanKioskLink(tx.queryRow(`SELECT `+kioskLinkColumns+` FROM kiosk_links
		WHERE conference_id = $1 AND device_id = $2`, conferenceID, deviceID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return l, err
}

// bumpKioskVersion moves the marker servers poll, in the transaction of a
// change to the links.
func bumpKioskVersion(tx *Tx) error {
	_, err := tx.exec(`INSERT INTO kiosk_state (id, version) VALUES (1, 1)
		ON CONFLICT (id) DO UPDATE SET version = kiosk_state.version + 1`)
	return err
}

// IssueKioskLink records a new link for l's device (ConferenceID, DeviceID,
// Label, Expires, IssuedBy), replacing the device's record if it has one:
// its older links stop working, and a revoked device works again with the
// new link only. It sets l.Issued, the time to sign into the link: now, or
// just after the device's last issue or revocation if the clock says
// otherwise, so that a new link is always newer than every refused one.
func (s *Store) IssueKioskLink(ctx context.Context, l *KioskLink) error {
	now := micros(s.now())
	err := s.write(ctx, func(tx *Tx) error {
		old, err := kioskLinkOf(tx, l.ConferenceID, l.DeviceID)
		if err != nil {
			return err
		}
		issued := now
		if old != nil {
			issued = max(issued, optionalMicros(old.Issued)+1, optionalMicros(old.Revoked)+1)
		}
		l.Issued = fromMicros(issued)
		l.Revoked, l.RevokedBy = time.Time{}, ""
		if old != nil {
			l.Revoked, l.RevokedBy = old.Revoked, old.RevokedBy
		}
		if _, err := tx.exec(`INSERT INTO kiosk_links (`+kioskLinkColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (conference_id, device_id) DO UPDATE SET label = excluded.label, issued_at = excluded.issued_at,
				expires_at = excluded.expires_at, issued_by = excluded.issued_by`,
			l.ConferenceID, l.DeviceID, l.Label, issued, micros(l.Expires), l.IssuedBy, optionalMicros(l.Revoked), l.RevokedBy); err != nil {
			return err
		}
		return bumpKioskVersion(tx)
	})
	if err != nil {
		return fmt.Errorf("store: issue kiosk link: %w", err)
	}
	return nil
}

// RevokeKioskLink revokes every link of the device issued until now and
// returns its record. It is idempotent: a device whose current link is
// revoked already is left as it is, and changed is false. A device with no
// record gets one, so that links signed before leadcap recorded them are
// refused too.
func (s *Store) RevokeKioskLink(ctx context.Context, conferenceID, deviceID, by string) (l *KioskLink, changed bool, err error) {
	now := s.now()
	err = s.write(ctx, func(tx *Tx) error {
		changed = false
		old, err := kioskLinkOf(tx, conferenceID, deviceID)
		if err != nil {
			return err
		}
		if old != nil && old.Status(now) == KioskRevoked {
			l = old
			return nil
		}
		l = &KioskLink{ConferenceID: conferenceID, DeviceID: deviceID, RevokedBy: by}
		if old != nil {
			l = old
			l.RevokedBy = by
		}
		// Never before the current link's issue time, whatever this
		// machine's clock says: the current link must be refused.
		l.Revoked = fromMicros(max(micros(now), optionalMicros(l.Issued)))
		if _, err := tx.exec(`INSERT INTO kiosk_links (conference_id, device_id, revoked_at, revoked_by) VALUES ($1, $2, $3, $4)
			ON CONFLICT (conference_id, device_id) DO UPDATE SET revoked_at = excluded.revoked_at, revoked_by = excluded.revoked_by`,
			conferenceID, deviceID, micros(l.Revoked), by); err != nil {
			return err
		}
		changed = true
		return bumpKioskVersion(tx)
	})
	if err != nil {
		return nil, false, fmt.Errorf("store: revoke kiosk link: %w", err)
	}
	return l, changed, nil
}

// KioskLinks returns the records of a conference's kiosk devices, or of
// every conference's when conferenceID is "", by conference and device id.
func (s *Store) KioskLinks(ctx context.Context, conferenceID string) ([]*KioskLink, error) {
	var out []*KioskLink
	err := s.read(ctx, func(tx *Tx) error {
		var err error
		out, err = kioskLinks(tx, conferenceID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: kiosk links: %w", err)
	}
	return out, nil
}

func kioskLinks(tx *Tx, conferenceID string) ([]*KioskLink, error) {
	rows, err := tx.query(`SELECT `+kioskLinkColumns+` FROM kiosk_links
		WHERE $1 = '' OR conference_id = $1 ORDER BY conference_id, device_id`, conferenceID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*KioskLink{}
	for rows.Next() {
		l, err := scanKioskLink(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// kioskVersionQuery reads the version marker: 0 before the first change.
const kioskVersionQuery = `SELECT COALESCE((SELECT version FROM kiosk_state WHERE id = 1), 0)`

// KioskLinksVersion returns the marker that moves with every change to the
// kiosk links: one small read, cheap enough to poll every second.
func (s *Store) KioskLinksVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := s.db.QueryRowContext(ctx, kioskVersionQuery).Scan(&v); err != nil {
		return 0, fmt.Errorf("store: kiosk links version: %w", err)
	}
	return v, nil
}

// AllKioskLinks returns every conference's kiosk links and the version
// they are at, read together.
func (s *Store) AllKioskLinks(ctx context.Context) (version int64, links []*KioskLink, err error) {
	err = s.read(ctx, func(tx *Tx) error {
		if err := tx.queryRow(kioskVersionQuery).Scan(&version); err != nil {
			return err
		}
		links, err = kioskLinks(tx, "")
		return err
	})
	if err != nil {
		return 0, nil, fmt.Errorf("store: all kiosk links: %w", err)
	}
	return version, links, nil
}
