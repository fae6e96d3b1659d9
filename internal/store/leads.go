package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/leadcap/leadcap"
)

// personal is the sealed part of a lead row: everything that identifies or
// describes the person.
type personal struct {
	FirstName string          `json:"fn,omitempty"`
	LastName  string          `json:"ln,omitempty"`
	Email     string          `json:"em,omitempty"`
	Phone     string          `json:"ph,omitempty"`
	Company   string          `json:"co,omitempty"`
	JobTitle  string          `json:"jt,omitempty"`
	Country   string          `json:"cc,omitempty"`
	Interests []string        `json:"in,omitempty"`
	Answers   leadcap.Answers `json:"an,omitempty"`
	Notes     string          `json:"no,omitempty"`
	ConsentIP string          `json:"ip,omitempty"`
}

func personalOf(l *leadcap.Lead) personal {
	return personal{l.FirstName, l.LastName, l.Email, l.Phone, l.Company, l.JobTitle, l.Country,
		l.Interests, l.Answers, l.Notes, l.Consent.IP}
}

func (p personal) apply(l *leadcap.Lead) {
	l.FirstName, l.LastName, l.Email, l.Phone, l.Company, l.JobTitle, l.Country = p.FirstName, p.LastName, p.Email, p.Phone, p.Company, p.JobTitle, p.Country
	l.Interests, l.Answers, l.Notes, l.Consent.IP = p.Interests, p.Answers, p.Notes, p.ConsentIP
}

// Associated data binds each ciphertext to its row, so a sealed value copied
// into another row does not open.
func leadAD(leadID string) []byte { return []byte("lead:" + leadID) }
func submissionAD(conferenceID, submissionID string) []byte {
	return []byte("submission:" + conferenceID + "/" + submissionID)
}

func (s *Store) sealLead(l *leadcap.Lead) ([]byte, error) {
	b, err := json.Marshal(personalOf(l))
	if err != nil {
		return nil, err
	}
	return s.sealer.Seal(b, leadAD(l.ID))
}

func (s *Store) openLead(l *leadcap.Lead, sealed []byte) error {
	b, err := s.sealer.Open(sealed, leadAD(l.ID))
	if err != nil {
		return fmt.Errorf("open lead %s: %w", l.ID, err)
	}
	var p personal
	if err := decodePersonal(b, &p); err != nil {
		return fmt.Errorf("decode lead %s: %w", l.ID, err)
	}
	p.apply(l)
	return nil
}

// RawObjectKey is where the outbox copies a lead's raw submissions in the
// object store: raw/YYYY/MM/DD/<conference-id>/<lead-id>.json, dated by the
// lead's creation, which its UUIDv7 id carries. Each submission is a new
// version of that object.
func RawObjectKey(conferenceID, leadID string) string {
	created := time.Now()
	if id, err := uuid.Parse(leadID); err == nil && id.Version() == 7 {
		sec, nsec := id.Time().UnixTime()
		created = time.Unix(sec, nsec)
	}
	return "raw/" + created.UTC().Format("2006/01/02") + "/" + conferenceID + "/" + leadID + ".json"
}

// errRetry asks CaptureLead to run its transaction again: a concurrent
// writer (another server on PostgreSQL) took the submission or the email.
var errRetry = errors.New("store: concurrent capture, retry")

// CaptureLead stores a validated lead submission durably and returns the
// answer for the client. emailKey is the normalised email that identifies
// the person at the conference (intake.EmailKey).
//
//   - A submission_id seen before at this conference returns the first
//     answer and stores nothing.
//   - An email already known at this conference is merged into that lead
//     (ResultUpdated).
//   - Otherwise a new lead is created (ResultCreated).
//
// The submission row is also the outbox entry that copies the raw
// submission to the object store (ClaimOutbox). When
// CaptureLead returns without error the transaction is committed and synced.
func (s *Store) CaptureLead(ctx context.Context, in *leadcap.Lead, emailKey string) (leadcap.CaptureResult, error) {
	now := s.now().UTC()
	s.bursts.add(now)
	id, err := s.leadIDs.next(now)
	if err != nil {
		return leadcap.CaptureResult{}, fmt.Errorf("store: capture lead: %w", err)
	}
	in.ID = id
	if in.CreatedAt.IsZero() {
		in.CreatedAt = now
	}
	if in.UpdatedAt.IsZero() {
		in.UpdatedAt = now
	}
	index := s.sealer.BlindIndex("email", emailKey)
	// Sealing happens before the write so that the single SQLite writer
	// spends its time on SQL; only a merge re-seals inside it.
	sealedLead, err := s.sealLead(in)
	if err != nil {
		return leadcap.CaptureResult{}, fmt.Errorf("store: capture lead: %w", err)
	}
	raw, err := json.Marshal(in)
	if err != nil {
		return leadcap.CaptureResult{}, fmt.Errorf("store: capture lead: %w", err)
	}
	sealedSubmission, err := s.sealer.Seal(raw, submissionAD(in.ConferenceID, in.SubmissionID))
	if err != nil {
		return leadcap.CaptureResult{}, fmt.Errorf("store: capture lead: %w", err)
	}
	var res leadcap.CaptureResult
	for attempt := 0; ; attempt++ {
		err = s.write(ctx, func(tx *Tx) error {
			var err error
			res, err = s.capture(ctx, tx, in, index, sealedLead, sealedSubmission, now)
			return err
		})
		if !errors.Is(err, errRetry) || attempt == 3 {
			break
		}
	}
	if err != nil {
		return leadcap.CaptureResult{}, fmt.Errorf("store: capture lead: %w", err)
	}
	return res, nil
}

// capture writes one submission. The common case, a new person, is two
// inserts and no reads: the submission row first (a replay conflicts on its
// key and changes nothing), then the lead (an email already known conflicts
// on the blind index and takes the merge path). The submission's lead_id
// foreign key is checked at commit, after the lead exists.
func (s *Store) capture(ctx context.Context, tx *Tx, in *leadcap.Lead, index, sealedLead, sealedSubmission []byte, now time.Time) (leadcap.CaptureResult, error) {
	res := leadcap.CaptureResult{LeadID: in.ID, Result: leadcap.ResultCreated}
	var subNew, leadNew bool
	var err error
	if s.dialect == Postgres {
		// One round trip to the server for both inserts.
		subNew, leadNew, err = s.capturePostgres(tx, in, res.Result, index, sealedLead, sealedSubmission, now)
	} else {
		subNew, leadNew, err = s.captureSQLite(ctx, tx, in, res.Result, index, sealedLead, sealedSubmission, now)
	}
	switch {
	case err != nil:
		return res, err
	case !subNew: // a replay: the first answer again
		err := tx.queryRow(`SELECT lead_id, result FROM submissions WHERE conference_id = $1 AND id = $2`,
			in.ConferenceID, in.SubmissionID).Scan(&res.LeadID, &res.Result)
		if errors.Is(err, sql.ErrNoRows) {
			return res, errRetry // erased between the two statements
		}
		res.Replayed = true
		return res, err
	case leadNew:
		return res, nil
	}
	return s.mergeInto(ctx, tx, in, index)
}

// The two inserts of a capture. A submission already stored inserts
// nothing; a lead whose email is known at the conference is left to the
// merge.
const (
	insertSubmission = `INSERT INTO submissions (conference_id, id, lead_id, result, source, device_id,
		received_at, data, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $7)
		ON CONFLICT (conference_id, id) DO NOTHING`
	insertLeadColumns = `INSERT INTO leads (id, conference_id, email_index, submission_id, source, device_id,
		consent_contact, consent_marketing, consent_version, consent_hash, consent_at, spam, spam_reason, data,
		created_at, updated_at)`
)

// captureSQLite runs the inserts one after the other on the writer's
// connection, where a statement costs no round trip.
func (s *Store) captureSQLite(ctx context.Context, tx *Tx, in *leadcap.Lead, result string, index, sealedLead, sealedSubmission []byte, now time.Time) (subNew, leadNew bool, err error) {
	n, err := execCount(ctx, tx, insertSubmission,
		in.ConferenceID, in.SubmissionID, in.ID, result, in.Source, in.DeviceID, micros(now), sealedSubmission)
	if err != nil || n == 0 {
		return false, false, err
	}
	n, err = execCount(ctx, tx, insertLeadColumns+` VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
		ON CONFLICT (conference_id, email_index) DO NOTHING`,
		in.ID, in.ConferenceID, index, in.SubmissionID, in.Source, in.DeviceID,
		in.Consent.Contact, in.Consent.Marketing, in.Consent.Version, in.Consent.TextHash, micros(in.Consent.At),
		in.Spam, in.SpamReason, sealedLead, micros(in.CreatedAt), micros(in.UpdatedAt))
	return true, n == 1, err
}

// capturePostgres runs both inserts in one statement: the lead is inserted
// only if the submission was, and the answer says which were. It saves a
// round trip to the database server per lead.
func (s *Store) capturePostgres(tx *Tx, in *leadcap.Lead, result string, index, sealedLead, sealedSubmission []byte, now time.Time) (subNew, leadNew bool, err error) {
	err = tx.queryRow(`WITH sub AS (`+insertSubmission+` RETURNING 1),
		lead AS (`+insertLeadColumns+`
			SELECT $3, $1, $9::bytea, $2, $5, $6, $10::boolean, $11::boolean, $12::integer, $13::text, $14::bigint,
				$15::boolean, $16::text, $17::bytea, $18::bigint, $19::bigint
			WHERE EXISTS (SELECT 1 FROM sub)
			ON CONFLICT (conference_id, email_index) DO NOTHING RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM sub), EXISTS (SELECT 1 FROM lead)`,
		in.ConferenceID, in.SubmissionID, in.ID, result, in.Source, in.DeviceID, micros(now), sealedSubmission,
		index, in.Consent.Contact, in.Consent.Marketing, in.Consent.Version, in.Consent.TextHash, micros(in.Consent.At),
		in.Spam, in.SpamReason, sealedLead, micros(in.CreatedAt), micros(in.UpdatedAt)).Scan(&subNew, &leadNew)
	return subNew, leadNew, err
}

// mergeInto merges a submission into the lead that has its email and points
// the submission's history row at that lead.
func (s *Store) mergeInto(ctx context.Context, tx *Tx, in *leadcap.Lead, index []byte) (leadcap.CaptureResult, error) {
	var res leadcap.CaptureResult
	lock := ""
	if s.dialect == Postgres {
		lock = " FOR UPDATE"
	}
	existing := &leadcap.Lead{ConferenceID: in.ConferenceID}
	var sealed []byte
	var created, updated int64
	err := tx.queryRow(`SELECT id, submission_id, source, device_id, spam, spam_reason, data, created_at, updated_at
		FROM leads WHERE conference_id = $1 AND email_index = $2`+lock, in.ConferenceID, index).
		Scan(&existing.ID, &existing.SubmissionID, &existing.Source, &existing.DeviceID, &existing.Spam, &existing.SpamReason,
			&sealed, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return res, errRetry // the lead went away between the two statements
	} else if err != nil {
		return res, err
	}
	existing.CreatedAt, existing.UpdatedAt = fromMicros(created), fromMicros(updated)
	if err := s.openLead(existing, sealed); err != nil {
		return res, err
	}
	if err := s.fillConsent(ctx, tx, existing); err != nil {
		return res, err
	}
	// Quarantine holds both ways: a submission suspected as spam leaves a
	// lead that passed the shield as it was (the submission is kept in its
	// history only), and a real submission replaces the data of a
	// quarantined lead rather than merging with it.
	if in.Spam && !existing.Spam {
		return s.pointSubmission(tx, in, existing.ID)
	}
	base := existing
	if existing.Spam && !in.Spam {
		base = &leadcap.Lead{ID: existing.ID, ConferenceID: existing.ConferenceID, SubmissionID: existing.SubmissionID,
			Source: existing.Source, CreatedAt: existing.CreatedAt}
	}
	merged := s.merge(base, in)
	merged.ID, merged.CreatedAt = existing.ID, existing.CreatedAt
	// A lead stays spam only while every submission is spam.
	merged.Spam = existing.Spam && in.Spam
	if !merged.Spam {
		merged.SpamReason = ""
	}
	resealed, err := s.sealLead(merged)
	if err != nil {
		return res, err
	}
	if _, err := tx.exec(`UPDATE leads SET consent_contact = $1, consent_marketing = $2,
		consent_version = $3, consent_hash = $4, consent_at = $5, spam = $6, spam_reason = $7, data = $8,
		updated_at = $9 WHERE id = $10`,
		merged.Consent.Contact, merged.Consent.Marketing, merged.Consent.Version, merged.Consent.TextHash,
		micros(merged.Consent.At), merged.Spam, merged.SpamReason, resealed, micros(merged.UpdatedAt), existing.ID); err != nil {
		return res, err
	}
	// Its words may have changed: the search indexer looks at it again.
	if _, err := tx.exec(`UPDATE leads SET search_indexed = 0 WHERE id = $1`, existing.ID); err != nil {
		return res, err
	}
	return s.pointSubmission(tx, in, existing.ID)
}

// pointSubmission points the history row of submission in at the lead it
// was merged into.
func (s *Store) pointSubmission(tx *Tx, in *leadcap.Lead, leadID string) (leadcap.CaptureResult, error) {
	res := leadcap.CaptureResult{LeadID: leadID, Result: leadcap.ResultUpdated}
	_, err := tx.exec(`UPDATE submissions SET lead_id = $1, result = $2 WHERE conference_id = $3 AND id = $4`,
		res.LeadID, res.Result, in.ConferenceID, in.SubmissionID)
	return res, err
}

func execCount(ctx context.Context, tx *Tx, query string, args ...any) (int64, error) {
	r, err := tx.exec(query, args...)
	if err != nil {
		return 0, err
	}
	return r.RowsAffected()
}

// fillConsent reads the consent columns of l, whose ID is set.
func (s *Store) fillConsent(ctx context.Context, tx *Tx, l *leadcap.Lead) error {
	var at int64
	err := tx.queryRow(`SELECT consent_contact, consent_marketing, consent_version, consent_hash, consent_at
		FROM leads WHERE id = $1`, l.ID).Scan(&l.Consent.Contact, &l.Consent.Marketing, &l.Consent.Version, &l.Consent.TextHash, &at)
	l.Consent.At = fromMicros(at)
	return err
}

const leadColumns = `id, conference_id, submission_id, source, device_id, consent_contact, consent_marketing,
	consent_version, consent_hash, consent_at, spam, spam_reason, data, created_at, updated_at`

func (s *Store) scanLead(row scanner) (*leadcap.Lead, error) {
	var l leadcap.Lead
	var sealed []byte
	if err := scanRawLead(row, &l, &sealed); err != nil {
		return nil, err
	}
	if err := s.openLead(&l, sealed); err != nil {
		return nil, err
	}
	return &l, nil
}

// scanRawLead scans the leadColumns of a row into l, leaving the personal
// fields sealed.
func scanRawLead(row scanner, l *leadcap.Lead, sealed *[]byte) error {
	var consentAt, created, updated int64
	if err := row.Scan(&l.ID, &l.ConferenceID, &l.SubmissionID, &l.Source, &l.DeviceID, &l.Consent.Contact,
		&l.Consent.Marketing, &l.Consent.Version, &l.Consent.TextHash, &consentAt, &l.Spam, &l.SpamReason,
		sealed, &created, &updated); err != nil {
		return err
	}
	l.Consent.At, l.CreatedAt, l.UpdatedAt = fromMicros(consentAt), fromMicros(created), fromMicros(updated)
	return nil
}

// Lead returns the lead with its history of submissions, or ENOTFOUND.
func (s *Store) Lead(ctx context.Context, id string) (*leadcap.Lead, error) {
	var l *leadcap.Lead
	err := s.read(ctx, func(tx *Tx) error {
		var err error
		l, err = s.scanLead(tx.queryRow(`SELECT `+leadColumns+` FROM leads WHERE id = $1`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return leadcap.Errorf(leadcap.ENOTFOUND, "lead %q not found", id)
		} else if err != nil {
			return err
		}
		rows, err := tx.query(`SELECT id, lead_id, result, source, device_id, received_at
			FROM submissions WHERE lead_id = $1 ORDER BY received_at, id`, id)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var sub leadcap.Submission
			var at int64
			if err := rows.Scan(&sub.ID, &sub.LeadID, &sub.Result, &sub.Source, &sub.DeviceID, &at); err != nil {
				return err
			}
			sub.ReceivedAt = fromMicros(at)
			l.History = append(l.History, sub)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: lead: %w", err)
	}
	return l, nil
}

// LeadFilter selects leads for Leads. Zero values select everything.
type LeadFilter struct {
	ConferenceID string
	Since, Until time.Time // created_at in [Since, Until)
	IncludeSpam  bool
	OnlySpam     bool // only leads quarantined as suspected spam
	// After continues a listing after the lead with this id (the cursor
	// returned by the previous page).
	After string
	Limit int // default 50, at most 1000
}

// Leads returns leads matching f in creation order, oldest first, and the
// cursor for the next page ("" when there is none).
func (s *Store) Leads(ctx context.Context, f LeadFilter) ([]*leadcap.Lead, string, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	f.Limit = min(f.Limit, 1000)
	where, args := filterSQL(f)
	q := `SELECT ` + leadColumns + ` FROM leads WHERE 1 = 1` + where
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if f.After != "" {
		// Lead ids are UUIDv7, given at creation: id order is creation
		// order, stable, and the last id of a page is the cursor.
		q += ` AND id > ` + arg(f.After)
	}
	q += ` ORDER BY id LIMIT ` + arg(f.Limit+1)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("store: leads: %w", err)
	}
	defer rows.Close()
	var out []*leadcap.Lead
	for rows.Next() {
		l, err := s.scanLead(rows)
		if err != nil {
			return nil, "", fmt.Errorf("store: leads: %w", err)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("store: leads: %w", err)
	}
	next := ""
	if len(out) > f.Limit {
		out = out[:f.Limit]
		next = out[len(out)-1].ID
	}
	return out, next, nil
}

// CountLeads counts the leads of a conference ("" for all), spam included.
func (s *Store) CountLeads(ctx context.Context, conferenceID string) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM leads WHERE $1 = '' OR conference_id = $1`, conferenceID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: count leads: %w", err)
	}
	return n, nil
}
