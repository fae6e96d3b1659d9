package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/leadcap/leadcap"
)

// ObjectPurger removes every version and delete marker of an object and
// says how many it removed; blob.Store is one.
type ObjectPurger interface {
	Purge(ctx context.Context, key string) (int, error)
}

// Erasure is what EraseLead removed.
type Erasure struct {
	Lead *leadcap.Lead // as it was, without history
	// RawKey is the lead's raw copy in the object store (RawObjectKey);
	// RawVersions counts its versions and delete markers purged.
	RawKey      string
	RawVersions int
	// RawLeaseUntil is set when one of the lead's submissions was still
	// waiting for its raw copy, possibly claimed by an outbox worker: until
	// then that copy may land in the object store after the purge. The
	// worker removes a copy that lands after the lead went
	// (outbox.Worker.RunOnce), unless it stops between writing and
	// removing it; purging RawKey again once this time has passed removes
	// what such a worker left.
	RawLeaseUntil time.Time
}

// EraseLead deletes the lead with the id as DeleteLead does, then every
// version of its raw copy from objects (nil: there is no object store).
// If the lead is deleted but the purge fails, the Erasure is returned with
// the error, so that the caller can still record the deletion.
func (s *Store) EraseLead(ctx context.Context, id string, objects ObjectPurger) (Erasure, error) {
	l, lease, err := s.deleteLead(ctx, id)
	if err != nil {
		return Erasure{}, err
	}
	e := Erasure{Lead: l, RawKey: RawObjectKey(l.ConferenceID, l.ID), RawLeaseUntil: lease}
	if objects != nil {
		if e.RawVersions, err = objects.Purge(ctx, e.RawKey); err != nil {
			return e, fmt.Errorf("store: erase lead %s: raw copy: %w", id, err)
		}
	}
	return e, nil
}

// deleteLead deletes a lead and everything that hangs on it, and returns it
// with the time until which its raw copy may still be written (zero when
// every submission was copied).
func (s *Store) deleteLead(ctx context.Context, id string) (*leadcap.Lead, time.Time, error) {
	var l *leadcap.Lead
	var lease time.Time
	err := s.write(ctx, func(tx *Tx) error {
		var err error
		l, err = s.scanLead(tx.queryRow(`SELECT `+leadColumns+` FROM leads WHERE id = $1`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return leadcap.Errorf(leadcap.ENOTFOUND, "lead %q not found", id)
		} else if err != nil {
			return err
		}
		var until sql.NullInt64
		if err := tx.queryRow(`SELECT max(next_attempt_at) FROM submissions WHERE lead_id = $1 AND pending = $2`,
			id, true).Scan(&until); err != nil {
			return err
		}
		lease = time.Time{}
		if until.Valid {
			lease = fromMicros(until.Int64)
		}
		return s.deleteLeadRows(tx, id)
	})
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("store: delete lead: %w", err)
	}
	return l, lease, nil
}

// deleteLeadRows deletes the leads with the ids and everything that hangs
// on them: submissions, notes, tags and search terms.
//
// On SQLite the rows go with secure_delete on, so SQLite overwrites the
// bytes they took with zeros instead of leaving them in free space in the
// database file, where sealed personal data would outlive its deletion;
// the WAL still holds the pages as they were until TruncateWAL. PostgreSQL
// has no such switch: a deleted row stays in the table's free space and in
// its WAL until PostgreSQL reuses them.
func (s *Store) deleteLeadRows(tx *Tx, ids ...string) error {
	if s.dialect == SQLite {
		if _, err := tx.exec(`PRAGMA secure_delete = ON`); err != nil {
			return err
		}
		defer tx.exec(`PRAGMA secure_delete = OFF`)
	}
	for _, id := range ids {
		// The children by name, not by cascade, so that every row goes
		// while secure_delete is on.
		for _, q := range []string{
			`DELETE FROM submissions WHERE lead_id = $1`,
			`DELETE FROM lead_notes WHERE lead_id = $1`,
			`DELETE FROM lead_tags WHERE lead_id = $1`,
			`DELETE FROM lead_terms WHERE lead_id = $1`,
			`DELETE FROM leads WHERE id = $1`,
		} {
			if _, err := tx.exec(q, id); err != nil {
				return err
			}
		}
	}
	return nil
}

// TruncateWAL copies SQLite's WAL into the database file and empties it,
// so that no earlier copy of a page (of a row deleted since) stays in it.
// It waits for readers and writers up to the busy timeout, and tries again
// a few times while another checkpoint (the checkpointer's, or the
// writer's between two batches) holds the WAL; it fails if the WAL stayed
// busy. On PostgreSQL it does nothing.
func (s *Store) TruncateWAL(ctx context.Context) error {
	if s.dialect != SQLite {
		return nil
	}
	var busy, frames, copied int
	for range 20 {
		if err := s.cdb.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &frames, &copied); err != nil {
			return fmt.Errorf("store: truncate WAL: %w", err)
		}
		if busy == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("store: truncate WAL: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("store: truncate WAL: other connections kept it busy (%d of %d pages copied); try again", copied, frames)
}

// Vacuum rebuilds the SQLite database file (VACUUM) and empties the WAL.
// Deleting rows, even with secure_delete, leaves behind the copies that
// SQLite made when it moved them between pages before (in an index above
// all), in free space inside the file; a rebuilt file holds only live rows.
// Writes wait while it runs, which takes about as long as copying the file,
// and it needs as much free disk again. PostgreSQL has no counterpart that
// leaves the tables usable meanwhile (VACUUM FULL locks them): there it
// fails, and says so.
func (s *Store) Vacuum(ctx context.Context) error {
	if s.dialect != SQLite {
		return errors.New("store: vacuum: only SQLite's file is rebuilt here; on PostgreSQL run VACUUM FULL in a quiet hour")
	}
	if err := s.vacuum(ctx); err != nil {
		return fmt.Errorf("store: vacuum: %w", err)
	}
	return s.TruncateWAL(ctx)
}

// vacuum runs VACUUM on the checkpointer's connection, which it holds
// meanwhile (TruncateWAL needs it back).
func (s *Store) vacuum(ctx context.Context) error {
	conn, err := s.cdb.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	// The rebuilt copy goes to a temporary file, not to memory as the
	// connections' other temporary data does.
	if _, err := conn.ExecContext(ctx, `PRAGMA temp_store = FILE`); err != nil {
		return err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA temp_store = MEMORY`)
	_, err = conn.ExecContext(ctx, `VACUUM`)
	return err
}

// LeadsByEmail returns the leads, spam included, whose email has the key
// emailKey (intake.EmailKey): at the conference with the id conferenceID,
// or at every conference when it is "". Oldest first.
func (s *Store) LeadsByEmail(ctx context.Context, emailKey, conferenceID string) ([]*leadcap.Lead, error) {
	index := s.sealer.BlindIndex("email", emailKey)
	// Through the (conference_id, email_index) index, one conference after
	// another, rather than a scan of every lead.
	rows, err := s.db.QueryContext(ctx, `SELECT `+leadColumns+` FROM leads
		WHERE conference_id IN (SELECT id FROM conferences WHERE $1 = '' OR id = $1) AND email_index = $2
		ORDER BY id`, conferenceID, index)
	if err != nil {
		return nil, fmt.Errorf("store: leads by email: %w", err)
	}
	defer rows.Close()
	var out []*leadcap.Lead
	for rows.Next() {
		l, err := s.scanLead(rows)
		if err != nil {
			return nil, fmt.Errorf("store: leads by email: %w", err)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: leads by email: %w", err)
	}
	return out, nil
}

// ExportsWithLead returns the stored exports that may hold the lead l,
// oldest first: those not failed, created after it, of its conference or of
// every conference, whose time filter covers its creation. Whether one
// really does also depends on whether l was quarantined as spam when it ran,
// which is not recorded, so an export that left spam out is listed too.
func (s *Store) ExportsWithLead(ctx context.Context, l *leadcap.Lead) ([]*leadcap.Export, error) {
	list, err := s.queryExports(ctx, `SELECT `+exportColumns+` FROM exports WHERE created_at >= $1 AND status <> $2
		ORDER BY id`, micros(l.CreatedAt), leadcap.ExportFailed)
	if err != nil {
		return nil, err
	}
	var out []*leadcap.Export
	for _, e := range list {
		f := e.Filter
		if (f.ConferenceID == "" || f.ConferenceID == l.ConferenceID) &&
			(f.Since.IsZero() || !l.CreatedAt.Before(f.Since)) && (f.Until.IsZero() || l.CreatedAt.Before(f.Until)) {
			out = append(out, e)
		}
	}
	return out, nil
}
