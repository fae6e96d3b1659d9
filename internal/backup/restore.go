package backup

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/blob"
	"github.com/leadcap/leadcap/internal/erasure"
	"github.com/leadcap/leadcap/internal/store"
)

// Restored is what a restore did.
type Restored struct {
	Manifest *Manifest    `json:"manifest"`
	Target   string       `json:"target"` // the restored database's dialect
	Tables   []TableCount `json:"tables"`
	Rows     int64        `json:"rows"`
	// Migrations are those applied to the target: up to the backup's
	// schema before its rows, and the newer ones of this leadcap after.
	Migrations []string `json:"migrations"`
	// ErasureRecords counts the erasures recorded since the backup (and
	// erasure.Slack before it); ErasuresReapplied those of them whose lead
	// the backup held, and which were erased again in the target.
	ErasureRecords    int `json:"erasure_records"`
	ErasuresReapplied int `json:"erasures_reapplied"`
}

// Restore loads the backup of m into target, which must be empty (a new
// database): it refuses one that holds data, and one whose leadcap is
// older than the backup's schema. It migrates target to the backup's
// schema, loads every row in one transaction, checks the row counts of
// each table against the manifest before committing, applies this
// leadcap's newer migrations, then erases again every lead erased since
// the backup was taken (the erasure records in the object store), and
// records the restore in target's audit trail. A backup that does not read
// back whole commits nothing, nor does one whose erasure records cannot be
// read.
func (s *Service) Restore(ctx context.Context, m *Manifest, target *store.Store, opts ReadOptions) (*Restored, error) {
	_, known, err := target.SchemaVersion(ctx)
	if err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	if m.SchemaVersion > known {
		return nil, fmt.Errorf("restore: backup %s has schema version %d, newer than this leadcap knows (%d): restore it with the leadcap that took it, or a newer one",
			m.Key, m.SchemaVersion, known)
	}
	if err := target.CheckEmpty(ctx); err != nil {
		return nil, fmt.Errorf("restore: the target is not empty, and a restore goes only into a new, empty database: %w", err)
	}
	res := &Restored{Manifest: m, Target: target.Dialect()}
	// Read before anything is loaded: a restore that could not erase
	// again those erased since must not bring them back.
	erased, err := (&erasure.Log{Blob: s.Blob, Keys: s.Keys}).Since(ctx, m.TakenAt.Add(-erasure.Slack))
	if err != nil {
		return nil, fmt.Errorf("restore: erasures since the backup: %w", err)
	}
	res.ErasureRecords = len(erased)
	applied, err := target.MigrateTo(ctx, m.SchemaVersion)
	res.Migrations = append(res.Migrations, applied...)
	if err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	err = target.Load(ctx, func(l *store.Loader) error {
		c, err := s.read(ctx, m, func(t store.Table) error { return l.Table(t.Name, t.Columns) }, l.Insert, opts.Progress)
		if err != nil {
			return err
		}
		res.Tables, res.Rows = c.Tables, c.Rows
		// What the database holds now, before the commit, must be what
		// the backup held.
		for _, t := range m.Tables {
			n, err := l.Count(t.Name)
			if err != nil {
				return err
			}
			if n != t.Rows {
				return fmt.Errorf("restore: table %s holds %d rows after loading, the backup has %d", t.Name, n, t.Rows)
			}
		}
		return nil
	})
	if err != nil {
		if !errors.Is(err, ErrDamaged) {
			err = fmt.Errorf("restore: %w", err)
		}
		return nil, err
	}
	applied, err = target.Migrate(ctx)
	res.Migrations = append(res.Migrations, applied...)
	if err != nil {
		return nil, fmt.Errorf("restore: rows loaded, but the newer migrations failed: %w", err)
	}
	if err := target.CheckSchema(ctx); err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	if res.ErasuresReapplied, err = reapply(ctx, target, m, erased); err != nil {
		return nil, fmt.Errorf("restore: rows loaded, but erasing again the leads erased since the backup failed, so the target may hold some of them: drop it and restore again: %w", err)
	}
	ev := leadcap.AuditEvent{Actor: ActorCLI, Action: AuditRestore, Target: "backup:" + m.Key, Result: leadcap.AuditSuccess,
		Detail: map[string]string{"taken_at": m.TakenAt.Format(time.RFC3339Nano), "rows": fmt.Sprint(res.Rows),
			"from_database": m.Database, "sha256": m.SHA256, "erasures_reapplied": fmt.Sprint(res.ErasuresReapplied)}}
	if err := target.AppendAudit(ctx, ev); err != nil {
		return nil, fmt.Errorf("restore: audit: %w", err)
	}
	return res, nil
}

// reapply erases in target the leads of the records that it holds, as
// EraseLead does (their raw copies are gone from the object store already),
// records each in its audit trail, and returns how many it erased.
func reapply(ctx context.Context, target *store.Store, m *Manifest, records []erasure.Record) (int, error) {
	n := 0
	for _, r := range records {
		if _, err := target.EraseLead(ctx, r.LeadID, nil); leadcap.ErrorCode(err) == leadcap.ENOTFOUND {
			continue // erased before the backup, or stored after it
		} else if err != nil {
			return n, err
		}
		n++
		ev := leadcap.AuditEvent{Actor: ActorCLI, Action: leadcap.AuditLeadDelete, Target: "lead:" + r.LeadID,
			Result: leadcap.AuditSuccess, Detail: map[string]string{"conference_id": r.ConferenceID, "request": "erasure",
				"erased_at": r.ErasedAt.Format(time.RFC3339Nano), "reapplied_after_restore_of": m.Key}}
		if err := target.AppendAudit(ctx, ev); err != nil {
			return n, fmt.Errorf("audit: %w", err)
		}
	}
	if n > 0 {
		// The WAL holds the pages of the erased rows as they were.
		if err := target.TruncateWAL(ctx); err != nil {
			return n, err
		}
	}
	return n, nil
}

// PruneErasures removes the erasure records that no remaining backup
// needs: those older than before (the retention), and older than the
// oldest backup kept by erasure.Slack. It returns how many it removed.
func (s *Service) PruneErasures(ctx context.Context, before time.Time) (int, error) {
	infos, err := s.keys(ctx)
	if err != nil {
		return 0, err
	}
	if len(infos) > 0 {
		if oldest := infos[len(infos)-1].ModTime.Add(-erasure.Slack); oldest.Before(before) {
			before = oldest
		}
	}
	return (&erasure.Log{Blob: s.Blob, Keys: s.Keys}).Prune(ctx, before)
}

// Prune removes the backups taken before before, every version of each
// and of its manifest, but never the newest backup: a server that was off
// for longer than the retention keeps its last one. It returns the keys
// removed, and records each in the audit trail as done by actor.
func (s *Service) Prune(ctx context.Context, before time.Time, actor string) ([]string, error) {
	// Every key, also those hidden by a delete marker: their versions
	// take space and hold data.
	var keys []string
	seen := map[string]bool{}
	err := s.Blob.ListVersions(ctx, Prefix, func(i blob.Info) error {
		k := strings.TrimSuffix(i.Key, manifestExt)
		if _, _, ok := parseKey(k); ok && !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("backup: prune: %w", err)
	}
	newest, _, err := s.Newest(ctx)
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, k := range keys {
		taken, _, _ := parseKey(k)
		if !taken.Before(before) || taken.Equal(newest) {
			continue
		}
		for _, key := range []string{k, k + manifestExt} {
			if _, err := s.Blob.Purge(ctx, key); err != nil {
				return removed, fmt.Errorf("backup: prune %s: %w", key, err)
			}
		}
		removed = append(removed, k)
		ev := leadcap.AuditEvent{Actor: actor, Action: AuditExpire, Target: "backup:" + k, Result: leadcap.AuditSuccess,
			Detail: map[string]string{"taken_at": taken.Format(time.RFC3339Nano)}}
		if err := s.Store.AppendAudit(ctx, ev); err != nil {
			return removed, fmt.Errorf("backup: audit: %w", err)
		}
	}
	return removed, nil
}
