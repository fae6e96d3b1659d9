package cli_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leadcap/leadcap/internal/backup"
	"github.com/leadcap/leadcap/internal/store/storetest"
)

// backupJSON is the part of a backup's manifest the tests read.
type backupJSON struct {
	Key     string    `json:"key"`
	TakenAt time.Time `json:"taken_at"`
	Rows    int64     `json:"rows"`
	Bytes   int64     `json:"bytes"`
	Tables  []struct {
		Name string `json:"name"`
		Rows int64  `json:"rows"`
	} `json:"tables"`
	Problem string `json:"problem"`
}

// leadEmails exports the leads of the database env points at and returns
// their emails, sorted.
func leadEmails(t *testing.T, env map[string]string) []string {
	t.Helper()
	out := mustRun(t, env, "export", "--format", "ndjson", "--out", "-", "--include-spam")
	var emails []string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var row map[string]any
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			continue // the summary line
		}
		if e, ok := row["email"].(string); ok {
			emails = append(emails, e)
		}
	}
	slices.Sort(emails)
	return emails
}

// backupFile returns the path of the one stored version of a backup.
func backupFile(t *testing.T, in *instance, key string) string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(in.env["LEADCAP_DATA_DIR"], "objects", "objects", key, "*"))
	if err != nil || len(files) != 1 {
		t.Fatalf("versions of %s: %v %v", key, files, err)
	}
	return files[0]
}

func TestBackupAndPointInTimeRestore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		in := newInstance(t, dsn, nil)
		in.openConference()
		srv := in.serve()
		submit := func(prefix string, n int) []string {
			var emails []string
			for i := range n {
				email := fmt.Sprintf("%s-%d@plain.example", prefix, i)
				if status, body := srv.post(t, lead(prefix+fmt.Sprint(i), email, nil)); status != 201 {
					t.Fatalf("submit %s: %d %s", email, status, body)
				}
				emails = append(emails, email)
			}
			return emails
		}
		first := submit("first", 3)
		var m1, m2 backupJSON
		if err := json.Unmarshal([]byte(in.must("backup", "create", "--json")), &m1); err != nil {
			t.Fatal(err)
		}
		between := time.Now().UTC()
		second := submit("second", 2)
		out := in.must("backup", "create")
		if !strings.Contains(out, "backup backups/") || !regexp.MustCompile(`\n  leads +5\n`).MatchString(out) {
			t.Fatalf("backup create:\n%s", out)
		}
		var list []backupJSON
		if err := json.Unmarshal([]byte(in.must("backup", "list", "--json")), &list); err != nil || len(list) != 2 {
			t.Fatalf("backup list --json: %v %v", list, err)
		}
		m2 = list[0]
		if list[1].Key != m1.Key || m2.Rows <= m1.Rows || m2.Bytes == 0 || !m1.TakenAt.Before(between) || !m2.TakenAt.After(between) {
			t.Fatalf("backups %+v and %+v around %s", m1, m2, between)
		}
		if out := in.must("backup", "list"); !strings.Contains(out, m1.Key) || !strings.Contains(out, "2 backups") {
			t.Fatalf("backup list:\n%s", out)
		}
		if out := in.must("backup", "verify", m1.Key); !strings.Contains(out, "is sound") || !strings.Contains(out, "leads") {
			t.Fatalf("backup verify:\n%s", out)
		}

		// Neither the objects nor their file names hold a submitted email.
		filepath.WalkDir(filepath.Join(in.env["LEADCAP_DATA_DIR"], "objects", "objects", "backups"), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, _ := os.ReadFile(path)
			for _, e := range append(first, second...) {
				if strings.Contains(string(b), e) || strings.Contains(path, e) {
					t.Errorf("%s holds %s in clear", path, e)
				}
			}
			return nil
		})

		// Restored to the time between the backups, into a new database of
		// each kind: exactly the first leads.
		sqliteDir := filepath.Join(t.TempDir(), "restored")
		pgURL := storetest.Postgres(t)
		at := between.Format(time.RFC3339Nano)
		out = in.must("restore", "--at", at, "--to-data-dir", sqliteDir)
		if !strings.Contains(out, "restoring "+m1.Key) || !strings.Contains(out, "every table's count matches") ||
			!strings.Contains(out, "LEADCAP_DATA_DIR="+sqliteDir) {
			t.Fatalf("restore:\n%s", out)
		}
		in.must("restore", "--at", at, "--to-database-url", pgURL)
		sqliteEnv := map[string]string{"LEADCAP_DATA_DIR": sqliteDir}
		pgEnv := map[string]string{"LEADCAP_DATA_DIR": in.env["LEADCAP_DATA_DIR"], "LEADCAP_DATABASE_URL": pgURL}
		for name, env := range map[string]map[string]string{"sqlite": sqliteEnv, "postgres": pgEnv} {
			if got := leadEmails(t, env); !slices.Equal(got, first) {
				t.Errorf("restored into %s: leads %v, want %v", name, got, first)
			}
			if out := mustRun(t, env, "audit", "verify"); !strings.Contains(out, "intact") {
				t.Errorf("audit trail restored into %s:\n%s", name, out)
			}
		}
		// The latest backup holds them all; the key file came along.
		latest := filepath.Join(t.TempDir(), "latest")
		var res struct {
			Restored struct {
				Rows int64 `json:"rows"`
			} `json:"restored"`
		}
		if err := json.Unmarshal([]byte(in.must("restore", "--at", time.Now().UTC().Format(time.RFC3339Nano), "--to-data-dir", latest, "--json")), &res); err != nil || res.Restored.Rows != m2.Rows {
			t.Fatalf("restore --json: %+v %v, want %d rows", res, err, m2.Rows)
		}
		if got, want := leadEmails(t, map[string]string{"LEADCAP_DATA_DIR": latest}), slices.Sorted(slices.Values(append(first, second...))); !slices.Equal(got, want) {
			t.Errorf("latest restore: %v, want %v", got, want)
		}
		if fi, err := os.Stat(filepath.Join(latest, "keys.json")); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("restored key file: %v %v", fi, err)
		}

		// A target that holds data is refused, and so is the database in use.
		for _, tt := range []struct{ flag, target, want string }{
			{"--to-data-dir", sqliteDir, "target is not empty"},
			{"--to-database-url", pgURL, "target is not empty"},
			{"--to-data-dir", in.env["LEADCAP_DATA_DIR"], "data directory in use"},
		} {
			out, err := in.run("restore", "--at", at, tt.flag, tt.target)
			if err == nil || !strings.Contains(err.Error(), tt.want) || (strings.Contains(tt.want, "empty") && !strings.Contains(err.Error(), "leads 3")) {
				t.Errorf("restore %s %s: %v\n%s", tt.flag, tt.target, err, out)
			}
		}
		if url := in.env["LEADCAP_DATABASE_URL"]; url != "" {
			if _, err := in.run("restore", "--at", at, "--to-database-url", url); err == nil || !strings.Contains(err.Error(), "in use") {
				t.Errorf("restore into the database in use: %v", err)
			}
		}
		if _, err := in.run("restore", "--at", "2020-01-01T00:00:00Z", "--to-data-dir", t.TempDir()); err == nil ||
			!strings.Contains(err.Error(), "no such backup taken at or before 2020-01-01T00:00:00.000Z") {
			t.Errorf("restore before the first backup: %v", err)
		}
		if _, err := in.run("restore", "--at", "yesterday", "--to-data-dir", t.TempDir()); err == nil || !strings.Contains(err.Error(), "--at") {
			t.Errorf("restore --at yesterday: %v", err)
		}
		if _, err := in.run("restore", "--from", m2.Key, "--at", at, "--to-data-dir", t.TempDir()); err == nil || !strings.Contains(err.Error(), "after --at") {
			t.Errorf("restore --from a backup newer than --at: %v", err)
		}
		// The live database is as it was.
		if got := leadEmails(t, in.env); len(got) != 5 {
			t.Errorf("live leads after restores: %v", got)
		}

		// A backup changed in the object store fails verify and restore,
		// and the restore leaves its target empty.
		path := backupFile(t, in, m2.Key)
		b, _ := os.ReadFile(path)
		b[len(b)/2] ^= 0x40
		os.WriteFile(path, b, 0o600)
		if _, err := in.run("backup", "verify", m2.Key); err == nil || !strings.Contains(err.Error(), "damaged") ||
			!strings.Contains(err.Error(), "does not read back") {
			t.Errorf("verify of a changed backup: %v", err)
		}
		target := filepath.Join(t.TempDir(), "from-damaged")
		if _, err := in.run("restore", "--from", m2.Key, "--to-data-dir", target); err == nil || !strings.Contains(err.Error(), "damaged") {
			t.Errorf("restore of a changed backup: %v", err)
		}
		if out := mustRun(t, map[string]string{"LEADCAP_DATA_DIR": target}, "conferences", "list"); !strings.Contains(out, "0 conferences") {
			t.Errorf("a failed restore left rows:\n%s", out)
		}

		var audit []struct {
			Action string `json:"action"`
			Actor  string `json:"actor"`
			Result string `json:"result"`
		}
		json.Unmarshal([]byte(in.must("audit", "list", "--action", "backup", "--json")), &audit)
		if len(audit) != 2 || audit[0].Action != "backup.create" || audit[0].Actor != "cli" || audit[0].Result != "success" {
			t.Errorf("audit of backups: %+v", audit)
		}
		var s statusJSON
		if err := json.Unmarshal([]byte(in.must("status", "--json", "--server", srv.url)), &s); err != nil || !s.Backup.Exists {
			t.Errorf("status after backups: %+v %v", s.Backup, err)
		}
	})
}

func TestServeTakesAndPrunesBackups(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		in := newInstance(t, dsn, map[string]string{"LEADCAP_BACKUP_INTERVAL": "1s", "LEADCAP_BACKUP_RETENTION": "1h"})
		in.openConference()
		// A backup from before the retention, as if taken 40 days ago.
		old := plantOldBackup(t, in, 40*24*time.Hour)

		srv := in.serve()
		// The expiry's audit event is written after its versions are
		// purged, so once both events are there the pass is over.
		waitFor(t, 20*time.Second, "a scheduled backup and the old one expired", func() bool {
			var audit []struct {
				Action string `json:"action"`
				Actor  string `json:"actor"`
			}
			json.Unmarshal([]byte(in.must("audit", "list", "--action", "backup", "--json")), &audit)
			actions := map[string]bool{}
			for _, a := range audit {
				actions[a.Action+" by "+a.Actor] = true
			}
			return actions["backup.create by system"] && actions["backup.expire by system"]
		})
		var list []backupJSON
		json.Unmarshal([]byte(in.must("backup", "list", "--json")), &list)
		if len(list) < 1 || slices.ContainsFunc(list, func(b backupJSON) bool { return b.Key == old }) {
			t.Fatalf("backups after the scheduled pass: %+v (old %s)", list, old)
		}
		if _, err := os.Stat(filepath.Join(in.env["LEADCAP_DATA_DIR"], "objects", "objects", old)); !os.IsNotExist(err) {
			t.Errorf("the old backup's versions are still there: %v", err)
		}
		in.must("backup", "verify", list[0].Key)
		fams := srv.scrape(t)
		if value(fams, "leadcap_backups_total", map[string]string{"result": "success"}) < 1 ||
			value(fams, "leadcap_backup_last_success_timestamp_seconds", nil) < float64(time.Now().Add(-time.Minute).Unix()) {
			t.Errorf("backup metrics:\n%s", srv.scrapeText(t))
		}
	})
}

func TestServersSharingPostgresTakeTurns(t *testing.T) {
	a := newInstance(t, storetest.Postgres(t), map[string]string{"LEADCAP_BACKUP_INTERVAL": "1s"})
	a.openConference()
	// A second server on the same database, key file and object store.
	b := &instance{t: t, dir: a.dir, env: map[string]string{}}
	for k, v := range a.env {
		b.env[k] = v
	}
	b.env["LEADCAP_NODE_NAME"] = "node-b"
	a.serve()
	b.serve()
	var list []backupJSON
	waitFor(t, 20*time.Second, "four scheduled backups", func() bool {
		list = nil
		json.Unmarshal([]byte(a.must("backup", "list", "--json")), &list)
		return len(list) >= 4
	})
	for i := 1; i < len(list); i++ {
		if gap := list[i-1].TakenAt.Sub(list[i].TakenAt); gap < time.Second {
			t.Errorf("backups %s and %s only %s apart: two servers took one in the same interval", list[i].Key, list[i-1].Key, gap)
		}
	}
}

// plantOldBackup takes a backup of the instance's data as if age ago, and
// returns its key.
func plantOldBackup(t *testing.T, in *instance, age time.Duration) string {
	t.Helper()
	st, keys, objects := openData(t, in.env)
	svc := &backup.Service{Store: st, Blob: objects, Keys: keys, Log: slog.New(slog.DiscardHandler),
		Now: func() time.Time { return time.Now().Add(-age) }}
	m, err := svc.Create(context.Background(), backup.CreateOptions{Actor: backup.ActorCLI})
	if err != nil {
		t.Fatal(err)
	}
	return m.Key
}

func TestBackupPruneCommand(t *testing.T) {
	in := newInstance(t, storetest.SQLite(t), map[string]string{"LEADCAP_BACKUP_RETENTION": "30d"})
	in.openConference()
	old := plantOldBackup(t, in, 31*24*time.Hour)
	kept := plantOldBackup(t, in, 29*24*time.Hour)
	in.must("backup", "create")
	out := in.must("backup", "prune")
	if !strings.Contains(out, "removed "+old) || !strings.Contains(out, "1 backup older than 30d removed") {
		t.Fatalf("backup prune:\n%s", out)
	}
	var list []backupJSON
	json.Unmarshal([]byte(in.must("backup", "list", "--json")), &list)
	if len(list) != 2 || list[1].Key != kept {
		t.Fatalf("left after prune: %+v", list)
	}
	if _, err := in.run("backup", "verify"); err == nil || !strings.Contains(err.Error(), "want one backup key") {
		t.Errorf("verify without a key: %v", err)
	}
	if _, err := in.run("backup", "verify", "backups/nope"); err == nil || !strings.Contains(err.Error(), "not a backup's key") {
		t.Errorf("verify of a bad key: %v", err)
	}
	if _, err := in.run("backup", "frobnicate"); err == nil || !strings.Contains(err.Error(), "unknown verb") {
		t.Errorf("unknown verb: %v", err)
	}
	if _, err := in.run("restore", "--at", "2026-01-01T00:00:00Z"); err == nil || !strings.Contains(err.Error(), "give one target") {
		t.Errorf("restore without a target: %v", err)
	}
}
