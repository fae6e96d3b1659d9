// Package erasure records every GDPR erasure of a lead outside the
// database, in the object store, so that a restore of a backup taken
// before it can erase the lead again (backup.Service.Restore does):
//
//	erasures/YYYY/MM/DD/<erased>-<lead-id>.json
//
// <erased> is the time of the erasure in UTC (20261126T103000.123456Z).
// A record holds the lead's id, its conference's id and that time, no
// personal data, and is sealed with the key ring (bound to its key), like
// every other object that leadcap reads back.
//
// Records are kept as long as backups are (LEADCAP_BACKUP_RETENTION), and
// never fewer than those the oldest remaining backup needs: backup prune
// and the backup worker remove them with the backups.
package erasure

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/leadcap/leadcap/internal/blob"
	"github.com/leadcap/leadcap/internal/crypto"
)

// Prefix is where erasure records live in the object store.
const Prefix = "erasures/"

const (
	ext = ".json"
	// timeLayout is the time in a record's key: UTC, to the microsecond,
	// so that keys sort by time.
	timeLayout = "20060102T150405.000000Z"
)

// Slack is how much earlier than a backup's time an erasure may be and
// still be missing from it: the backup's snapshot is fixed a moment before
// the time in its key, and the server that erased may run on another
// machine whose clock is a little off. Records this much older than a
// backup are re-applied too (erasing a lead that is not there does
// nothing), and kept as long as that backup.
const Slack = 5 * time.Minute

// Record is one erasure: ids and a time, nothing personal.
type Record struct {
	LeadID       string    `json:"lead_id"`
	ConferenceID string    `json:"conference_id"`
	ErasedAt     time.Time `json:"erased_at"`
}

// Key is where r is stored.
func Key(r Record) string {
	t := r.ErasedAt.UTC()
	return Prefix + t.Format("2006/01/02") + "/" + t.Format(timeLayout) + "-" + r.LeadID + ext
}

// parseKey reads the time of an erasure from its record's key.
func parseKey(key string) (time.Time, bool) {
	rest, ok := strings.CutPrefix(key, Prefix)
	if !ok || strings.Count(rest, "/") != 3 {
		return time.Time{}, false
	}
	day, name := rest[:strings.LastIndex(rest, "/")], rest[strings.LastIndex(rest, "/")+1:]
	name, isRecord := strings.CutSuffix(name, ext)
	ts, id, ok := strings.Cut(name, "-")
	if !isRecord || !ok || id == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(timeLayout, ts)
	if err != nil || t.Format("2006/01/02") != day {
		return time.Time{}, false
	}
	return t, true
}

// ad binds a sealed record to its key.
func ad(key string) []byte { return []byte("erasure record:" + key) }

// Log stores and reads erasure records.
type Log struct {
	Blob blob.Store
	Keys *crypto.KeyRing
}

// Record stores r, sealed. An error names the lead.
func (l *Log) Record(ctx context.Context, r Record) error {
	r.ErasedAt = r.ErasedAt.UTC()
	key := Key(r)
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	sealed, err := l.Keys.Seal(b, ad(key))
	if err != nil {
		return fmt.Errorf("erasure: record lead %s: seal: %w", r.LeadID, err)
	}
	if _, err := l.Blob.Put(ctx, key, strings.NewReader(string(sealed))); err != nil {
		return fmt.Errorf("erasure: record lead %s: %w", r.LeadID, err)
	}
	return nil
}

// Since returns the records of the erasures at or after since, oldest
// first. A record that does not open (changed, or sealed with other keys)
// is an error: a restore must not leave out an erasure silently.
func (l *Log) Since(ctx context.Context, since time.Time) ([]Record, error) {
	var keys []string
	err := l.Blob.List(ctx, Prefix, func(i blob.Info) error {
		if t, ok := parseKey(i.Key); ok && !t.Before(since) {
			keys = append(keys, i.Key)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("erasure: list: %w", err)
	}
	out := make([]Record, 0, len(keys))
	for _, key := range keys {
		r, err := l.read(ctx, key)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func (l *Log) read(ctx context.Context, key string) (Record, error) {
	rc, _, err := l.Blob.Get(ctx, key)
	if err != nil {
		return Record{}, fmt.Errorf("erasure: %w", err)
	}
	defer rc.Close()
	sealed, err := io.ReadAll(io.LimitReader(rc, 64<<10))
	if err != nil {
		return Record{}, fmt.Errorf("erasure: read %s: %w", key, err)
	}
	b, err := l.Keys.Open(sealed, ad(key))
	if err != nil {
		return Record{}, fmt.Errorf("erasure: %s does not open (changed, or sealed with other keys): %w", key, err)
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil || Key(r) != key {
		if err == nil {
			err = errors.New("it names another erasure")
		}
		return Record{}, fmt.Errorf("erasure: %s is not a record of its own: %w", key, err)
	}
	return r, nil
}

// Prune removes every version of the records of erasures before before,
// and returns how many records it removed.
func (l *Log) Prune(ctx context.Context, before time.Time) (int, error) {
	var keys []string
	seen := map[string]bool{}
	// Every key, also those hidden by a delete marker.
	err := l.Blob.ListVersions(ctx, Prefix, func(i blob.Info) error {
		if t, ok := parseKey(i.Key); ok && t.Before(before) && !seen[i.Key] {
			seen[i.Key] = true
			keys = append(keys, i.Key)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("erasure: prune: %w", err)
	}
	for i, key := range keys {
		if _, err := l.Blob.Purge(ctx, key); err != nil {
			return i, fmt.Errorf("erasure: prune %s: %w", key, err)
		}
	}
	return len(keys), nil
}
