package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/leadcap/leadcap"
)

// Limits on the text of an audit record, so that a stranger's user agent
// cannot bloat the trail.
const (
	maxAuditField     = 256
	maxAuditDetail    = 32
	maxAuditDetailLen = 512
)

// auditRecord is the canonical encoding of an audit record that its hash
// covers: every field, in this order, as JSON (Go encodes struct fields in
// order and map keys sorted, so the encoding is deterministic), with the
// time in Unix microseconds as stored.
type auditRecord struct {
	Version   int               `json:"v"`
	Seq       int64             `json:"seq"`
	At        int64             `json:"at"`
	ActorID   string            `json:"actor_id"`
	Actor     string            `json:"actor"`
	Action    string            `json:"action"`
	Target    string            `json:"target"`
	ClientIP  string            `json:"client_ip"`
	UserAgent string            `json:"user_agent"`
	Result    string            `json:"result"`
	Detail    map[string]string `json:"detail"`
	PrevHash  string            `json:"prev_hash"`
}

// AuditHash returns the hash of an audit record: hex SHA-256 of its
// canonical encoding, which includes the previous record's hash.
func AuditHash(ev *leadcap.AuditEvent) string {
	detail := ev.Detail
	if len(detail) == 0 {
		detail = nil
	}
	b, err := json.Marshal(auditRecord{1, ev.Seq, micros(ev.At), ev.ActorID, ev.Actor, ev.Action, ev.Target,
		ev.ClientIP, ev.UserAgent, ev.Result, detail, ev.PrevHash})
	if err != nil {
		panic(fmt.Sprintf("store: encode audit record: %v", err)) // strings only: cannot fail
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// clean makes a field storable and bounded: valid UTF-8 without NUL, at
// most n bytes.
func clean(s string, n int) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// AppendAudit adds ev to the end of the audit trail. It sets At when it is
// zero, and the sequence number and hashes. Appends are serialised, by the
// single writer on SQLite and by a row lock on the chain's head on
// PostgreSQL, so the chain stays whole when several servers append at once.
func (s *Store) AppendAudit(ctx context.Context, ev leadcap.AuditEvent) error {
	if ev.At.IsZero() {
		ev.At = s.now()
	}
	ev.At = fromMicros(micros(ev.At))
	if ev.Action == "" || ev.Result == "" {
		return fmt.Errorf("store: append audit: action and result are required")
	}
	ev.ActorID, ev.Actor, ev.Action = clean(ev.ActorID, maxAuditField), clean(ev.Actor, maxAuditField), clean(ev.Action, maxAuditField)
	ev.Target, ev.ClientIP, ev.UserAgent = clean(ev.Target, maxAuditField), clean(ev.ClientIP, maxAuditField), clean(ev.UserAgent, maxAuditField)
	ev.Result = clean(ev.Result, maxAuditField)
	var detail map[string]string
	if len(ev.Detail) > 0 {
		detail = make(map[string]string, len(ev.Detail))
		for k, v := range ev.Detail {
			if len(detail) == maxAuditDetail {
				break
			}
			detail[clean(k, maxAuditField)] = clean(v, maxAuditDetailLen)
		}
	}
	ev.Detail = detail
	detailText := ""
	if detail != nil {
		b, err := json.Marshal(detail)
		if err != nil {
			return fmt.Errorf("store: append audit: %w", err)
		}
		detailText = string(b)
	}
	err := s.write(ctx, func(tx *Tx) error {
		lock := ""
		if s.dialect == Postgres {
			lock = " FOR UPDATE"
		}
		var seq int64
		var prev string
		if err := tx.queryRow(`SELECT seq, hash FROM audit_head WHERE id = 1`+lock).Scan(&seq, &prev); err != nil {
			return err
		}
		rec := ev
		rec.Seq, rec.PrevHash = seq+1, prev
		rec.Hash = AuditHash(&rec)
		if _, err := tx.exec(`INSERT INTO audit_log (seq, at, actor_id, actor, action, target, client_ip, user_agent,
			result, detail, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			rec.Seq, micros(rec.At), rec.ActorID, rec.Actor, rec.Action, rec.Target, rec.ClientIP, rec.UserAgent,
			rec.Result, detailText, rec.PrevHash, rec.Hash); err != nil {
			return err
		}
		_, err := tx.exec(`UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1`, rec.Seq, rec.Hash)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: append audit: %w", err)
	}
	return nil
}

const auditColumns = `seq, at, actor_id, actor, action, target, client_ip, user_agent, result, detail, prev_hash, hash`

func scanAudit(row scanner) (*leadcap.AuditEvent, error) {
	var ev leadcap.AuditEvent
	var at int64
	var detail string
	if err := row.Scan(&ev.Seq, &at, &ev.ActorID, &ev.Actor, &ev.Action, &ev.Target, &ev.ClientIP, &ev.UserAgent,
		&ev.Result, &detail, &ev.PrevHash, &ev.Hash); err != nil {
		return nil, err
	}
	ev.At = fromMicros(at)
	if detail != "" {
		if err := json.Unmarshal([]byte(detail), &ev.Detail); err != nil {
			// A detail that does not decode was changed after the fact;
			// keep the text so verify reports the broken hash.
			ev.Detail = map[string]string{"unreadable": detail}
		}
	}
	return &ev, nil
}

// AuditFilter selects audit records. Zero values select everything.
type AuditFilter struct {
	ActorID string
	// Action matches that action and every action under it: "auth"
	// matches "auth.login" and "auth.mfa.enable".
	Action       string
	Target       string
	Result       string
	Since, Until time.Time // at in [Since, Until)
	Before       int64     // cursor: records with seq below this
	Limit        int       // default 50, at most 1000
}

// AuditEvents returns the records matching f, newest first, and the cursor
// of the next page ("" when there is none).
func (s *Store) AuditEvents(ctx context.Context, f AuditFilter) ([]*leadcap.AuditEvent, string, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	f.Limit = min(f.Limit, 1000)
	q := `SELECT ` + auditColumns + ` FROM audit_log WHERE 1 = 1`
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	if f.ActorID != "" {
		q += ` AND actor_id = ` + arg(f.ActorID)
	}
	if f.Action != "" {
		q += ` AND (action = ` + arg(f.Action) + ` OR substr(action, 1, ` + arg(len(f.Action)+1) + `) = ` + arg(f.Action+".") + `)`
	}
	if f.Target != "" {
		q += ` AND target = ` + arg(f.Target)
	}
	if f.Result != "" {
		q += ` AND result = ` + arg(f.Result)
	}
	if !f.Since.IsZero() {
		q += ` AND at >= ` + arg(micros(f.Since))
	}
	if !f.Until.IsZero() {
		q += ` AND at < ` + arg(micros(f.Until))
	}
	if f.Before > 0 {
		q += ` AND seq < ` + arg(f.Before)
	}
	q += ` ORDER BY seq DESC LIMIT ` + arg(f.Limit+1)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("store: audit events: %w", err)
	}
	defer rows.Close()
	out := []*leadcap.AuditEvent{}
	for rows.Next() {
		ev, err := scanAudit(rows)
		if err != nil {
			return nil, "", fmt.Errorf("store: audit events: %w", err)
		}
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("store: audit events: %w", err)
	}
	next := ""
	if len(out) > f.Limit {
		out = out[:f.Limit]
		next = strconv.FormatInt(out[len(out)-1].Seq, 10)
	}
	return out, next, nil
}

// AuditBreak is the first place where the audit trail does not hold.
type AuditBreak struct {
	Seq    int64  `json:"seq"`
	Reason string `json:"reason"`
}

// AuditReport is the result of VerifyAudit.
type AuditReport struct {
	Records int64       `json:"records"` // records checked
	Head    int64       `json:"head"`    // seq of the last record, by the chain's head
	Broken  *AuditBreak `json:"broken,omitempty"`
}

// VerifyAudit reads the whole audit trail in order and checks that the
// sequence has no gaps, that each record's hash matches its contents and
// that each holds its predecessor's hash, and that the chain's head names
// the last record. It reports the first broken link. progress, if not
// nil, is called with the count of records checked every 10,000.
func (s *Store) VerifyAudit(ctx context.Context, progress func(n int64)) (*AuditReport, error) {
	rep := &AuditReport{}
	err := s.read(ctx, func(tx *Tx) error {
		var headHash string
		if err := tx.queryRow(`SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&rep.Head, &headHash); err != nil {
			return err
		}
		rows, err := tx.query(`SELECT ` + auditColumns + ` FROM audit_log ORDER BY seq`)
		if err != nil {
			return err
		}
		defer rows.Close()
		var prev *leadcap.AuditEvent
		brk := func(seq int64, format string, args ...any) {
			if rep.Broken == nil {
				rep.Broken = &AuditBreak{Seq: seq, Reason: fmt.Sprintf(format, args...)}
			}
		}
		for rows.Next() {
			ev, err := scanAudit(rows)
			if err != nil {
				return err
			}
			rep.Records++
			if progress != nil && rep.Records%10000 == 0 {
				progress(rep.Records)
			}
			if rep.Broken != nil {
				continue // count the rest; the first break is what matters
			}
			want := int64(1)
			prevHash := ""
			if prev != nil {
				want, prevHash = prev.Seq+1, prev.Hash
			}
			switch {
			case ev.Seq != want:
				brk(want, "record %d is missing: record %d follows %d", want, ev.Seq, want-1)
			case ev.PrevHash != prevHash:
				brk(ev.Seq, "record %d does not hold the hash of record %d", ev.Seq, ev.Seq-1)
			case AuditHash(ev) != ev.Hash:
				brk(ev.Seq, "record %d was changed: its contents do not match its hash", ev.Seq)
			}
			prev = ev
		}
		if err := rows.Err(); err != nil {
			return err
		}
		last, lastHash := int64(0), ""
		if prev != nil {
			last, lastHash = prev.Seq, prev.Hash
		}
		switch {
		case rep.Head > last:
			brk(last+1, "records %d to %d are missing from the end of the trail", last+1, rep.Head)
		case rep.Head < last:
			brk(rep.Head+1, "record %d is beyond the chain's head %d", rep.Head+1, rep.Head)
		case headHash != lastHash && rep.Broken == nil:
			brk(last, "record %d does not match the chain's head", last)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: verify audit: %w", err)
	}
	return rep, nil
}
