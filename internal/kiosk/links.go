package kiosk

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/store"
)

// RevocationTTL bounds how long a link revoked or replaced elsewhere (the
// CLI, another server) is still accepted by a running server.
const RevocationTTL = time.Second

// Audit actions of kiosk links.
const (
	AuditLinkIssue  = "kiosk.link.issue"
	AuditLinkRevoke = "kiosk.link.revoke"
)

// ErrRevoked is wrapped by the error of a link that was revoked or
// replaced by a newer link for its device. That error is also an EGONE
// *leadcap.Error whose message says which.
var ErrRevoked = errors.New("kiosk: device link revoked")

// Links checks device links against the links the store has recorded: a
// link whose device was revoked after it was issued, or that a newer link
// for its device replaced, is refused. It keeps every recorded device's
// state in memory and reads the store's version marker at most once per
// RevocationTTL, reloading the records only when they changed, so checking
// a link costs no query. What it holds is the store's records, which only
// staff create: requests cannot grow it. It is safe for concurrent use.
type Links struct {
	mac   MAC
	store *store.Store
	ttl   time.Duration

	known   atomic.Pointer[linkState]
	refresh sync.Mutex // one reload at a time
}

// linkState is the recorded links as read at one time.
type linkState struct {
	version int64
	checked time.Time // when version was read; monotonic
	devices map[deviceKey]deviceState
}

type deviceKey struct{ conference, device string }

// deviceState is what decides a device's links: its current link's issue
// time and its last revocation, as Unix microseconds (0 for none).
type deviceState struct{ issued, revoked int64 }

// NewLinks returns Links that check signatures with mac and revocations in
// st.
func NewLinks(mac MAC, st *store.Store) *Links {
	return &Links{mac: mac, store: st, ttl: RevocationTTL}
}

// Verify returns the device of token as the package's Verify does, and
// also refuses a revoked or replaced link: with an EGONE error that wraps
// ErrRevoked. Tokens signed before links were recorded (no issue time)
// work until they expire, unless their device was revoked or given a new
// link since. An error reading the store is returned as it is.
func (l *Links) Verify(ctx context.Context, token, conferenceID string, now time.Time) (Device, error) {
	d, err := Verify(l.mac, token, conferenceID, now)
	if err != nil {
		return Device{}, err
	}
	st, err := l.state(ctx)
	if err != nil {
		return Device{}, fmt.Errorf("kiosk: check device link: %w", err)
	}
	rec, ok := st.devices[deviceKey{d.ConferenceID, d.ID}]
	issued := microsOf(d.Issued)
	switch {
	case !ok:
	case rec.revoked != 0 && issued <= rec.revoked:
		return Device{}, refused("the kiosk device link of %s was revoked on %s: ask the booth staff for a new link",
			d.ID, time.UnixMicro(rec.revoked).UTC().Format("2006-01-02 15:04 MST"))
	case issued < rec.issued:
		return Device{}, refused("the kiosk device link of %s was replaced by a newer link on %s: open the newer link",
			d.ID, time.UnixMicro(rec.issued).UTC().Format("2006-01-02 15:04 MST"))
	}
	return d, nil
}

func refused(format string, args ...any) error {
	return fmt.Errorf("%w: %w", ErrRevoked, leadcap.Errorf(leadcap.EGONE, format, args...))
}

// state returns the recorded links, read again when the last read is
// older than the TTL and the store's version marker has moved since.
func (l *Links) state(ctx context.Context) (*linkState, error) {
	if st := l.known.Load(); st != nil && time.Since(st.checked) < l.ttl {
		return st, nil
	}
	l.refresh.Lock()
	defer l.refresh.Unlock()
	old := l.known.Load()
	if old != nil && time.Since(old.checked) < l.ttl {
		return old, nil // another caller just read it
	}
	checked := time.Now()
	if old != nil {
		v, err := l.store.KioskLinksVersion(ctx)
		if err != nil {
			return nil, err
		}
		if v == old.version {
			st := &linkState{version: v, checked: checked, devices: old.devices}
			l.known.Store(st)
			return st, nil
		}
	}
	v, links, err := l.store.AllKioskLinks(ctx)
	if err != nil {
		return nil, err
	}
	st := &linkState{version: v, checked: checked, devices: make(map[deviceKey]deviceState, len(links))}
	for _, r := range links {
		st.devices[deviceKey{r.ConferenceID, r.DeviceID}] = deviceState{microsOf(r.Issued), microsOf(r.Revoked)}
	}
	l.known.Store(st)
	return st, nil
}

// Issue records a new link for d's device in the store, replacing the
// device's older links (and lifting its revocation for this link only),
// signs it and appends an audit event by actor. It returns the token and
// d with its issue time. d is checked before anything is recorded.
func (l *Links) Issue(ctx context.Context, d Device, actor string) (string, Device, error) {
	if err := d.Check(); err != nil {
		return "", Device{}, err
	}
	rec := &store.KioskLink{ConferenceID: d.ConferenceID, DeviceID: d.ID, Label: d.Label, Expires: d.Expires, IssuedBy: actor}
	if err := l.store.IssueKioskLink(ctx, rec); err != nil {
		return "", Device{}, err
	}
	d.Issued = rec.Issued
	token, err := Sign(l.mac, d)
	if err != nil {
		return "", Device{}, err
	}
	detail := map[string]string{"device": d.ID, "label": d.Label, "expires": d.Expires.Format(time.RFC3339)}
	if !rec.Revoked.IsZero() {
		detail["replaces_revoked"] = rec.Revoked.Format(time.RFC3339)
	}
	return token, d, l.audit(ctx, actor, AuditLinkIssue, d.ConferenceID, detail)
}

// Revoke revokes every link of the device issued until now, and appends an
// audit event by actor when it changed anything. It is idempotent: see
// store.RevokeKioskLink. The servers refuse the links within
// RevocationTTL.
func (l *Links) Revoke(ctx context.Context, conferenceID, deviceID, actor string) (rec *store.KioskLink, changed bool, err error) {
	if p := idProblem(deviceID); p != "" {
		return nil, false, leadcap.FieldErrors(map[string]string{"device": p})
	}
	rec, changed, err = l.store.RevokeKioskLink(ctx, conferenceID, deviceID, actor)
	if err != nil || !changed {
		return rec, changed, err
	}
	detail := map[string]string{"device": deviceID}
	if rec.Issued.IsZero() {
		detail["recorded"] = "no"
	}
	return rec, true, l.audit(ctx, actor, AuditLinkRevoke, conferenceID, detail)
}

// audit appends a successful action on a conference's kiosk links. A
// failure is returned: a change that cannot be audited should not look
// successful.
func (l *Links) audit(ctx context.Context, actor, action, conferenceID string, detail map[string]string) error {
	err := l.store.AppendAudit(ctx, leadcap.AuditEvent{Actor: actor, Action: action, Target: "conference:" + conferenceID,
		Result: leadcap.AuditSuccess, Detail: detail})
	if err != nil {
		return fmt.Errorf("kiosk: audit %s: %w", action, err)
	}
	return nil
}
