package cli_test

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leadcap/leadcap/internal/blob"
	"github.com/leadcap/leadcap/internal/crypto"
	"github.com/leadcap/leadcap/internal/erasure"
	"github.com/leadcap/leadcap/internal/store/storetest"
)

// waitRawCopies waits until the object store holds n raw copies of leads,
// so that an erasure has none in flight to wait for.
func (in *instance) waitRawCopies(n int64) {
	in.t.Helper()
	objects := in.objects()
	waitFor(in.t, 20*time.Second, "raw copies", func() bool {
		u, err := objects.Usage(context.Background(), "raw/")
		return err == nil && u.Objects == n
	})
}

// erasureFiles returns the stored files of every erasure record.
func (in *instance) erasureFiles() []string {
	in.t.Helper()
	var files []string
	root := filepath.Join(in.env["LEADCAP_DATA_DIR"], "objects", "objects", "erasures")
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, path)
		}
		return nil
	})
	return files
}

// TestRestoreErasesAgain erases two people after a backup, one with
// leadcap leads erase and one through the API of a running server, and
// restores the backup into a new database of each kind: the erased people
// are not in it, everyone else is, and the records of the erasures hold no
// email.
func TestRestoreErasesAgain(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		in := newInstance(t, dsn, nil)
		in.openConference()
		srv := in.serve()
		token := in.apiTokenWith("leads:read,leads:delete")
		keep := []string{"keep-0@plain.example", "keep-1@plain.example"}
		srv.capture(t, lead("keep0", keep[0], nil))
		srv.capture(t, lead("keep1", keep[1], nil))
		srv.capture(t, lead("cli", "erased-cli@plain.example", nil))
		byAPI := srv.capture(t, lead("api", "erased-api@plain.example", nil))
		in.waitRawCopies(4)
		in.must("backup", "create")

		// A lead stored after the backup and erased: its record finds
		// nothing to erase in the restored database.
		late := srv.capture(t, lead("late", "erased-late@plain.example", nil))
		in.waitRawCopies(5)
		out := in.must("leads", "erase", "--email", "erased-cli@plain.example")
		if !strings.Contains(out, "recorded 1 erasure under erasures/ in the object store") {
			t.Fatalf("leads erase:\n%s", out)
		}
		for _, id := range []string{byAPI, late} {
			if status, body := srv.api(t, token, "DELETE", "/api/v1/leads/"+id, ""); status != 204 {
				t.Fatalf("DELETE lead %s: %d %s", id, status, body)
			}
		}
		if got := leadEmails(t, in.env); !slices.Equal(got, keep) {
			t.Fatalf("leads after the erasures: %v, want %v", got, keep)
		}
		at := time.Now().UTC().Format(time.RFC3339Nano)

		sqliteDir := filepath.Join(t.TempDir(), "restored")
		out = in.must("restore", "--at", at, "--to-data-dir", sqliteDir)
		if !strings.Contains(out, "2 leads erased since the backup erased again (of 3 erasure records since ") {
			t.Errorf("restore:\n%s", out)
		}
		pgURL := storetest.Postgres(t)
		var res struct {
			Restored struct {
				ErasureRecords    int `json:"erasure_records"`
				ErasuresReapplied int `json:"erasures_reapplied"`
			} `json:"restored"`
		}
		if err := json.Unmarshal([]byte(in.must("restore", "--at", at, "--to-database-url", pgURL, "--json")), &res); err != nil ||
			res.Restored.ErasureRecords != 3 || res.Restored.ErasuresReapplied != 2 {
			t.Errorf("restore --json: %+v %v", res, err)
		}
		sqliteEnv := map[string]string{"LEADCAP_DATA_DIR": sqliteDir}
		pgEnv := map[string]string{"LEADCAP_DATA_DIR": in.env["LEADCAP_DATA_DIR"], "LEADCAP_DATABASE_URL": pgURL}
		for name, env := range map[string]map[string]string{"sqlite": sqliteEnv, "postgres": pgEnv} {
			if got := leadEmails(t, env); !slices.Equal(got, keep) {
				t.Errorf("restored into %s: leads %v, want %v", name, got, keep)
			}
			if out := mustRun(t, env, "audit", "verify"); !strings.Contains(out, "intact") {
				t.Errorf("audit trail restored into %s:\n%s", name, out)
			}
		}

		// The records hold ids and times: no email, in the files or their
		// names.
		files := in.erasureFiles()
		if len(files) != 3 {
			t.Fatalf("erasure records: %v", files)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range []string{"erased-cli@", "erased-api@", "erased-late@", "plain.example"} {
				if strings.Contains(string(b), e) || strings.Contains(f, e) {
					t.Errorf("%s holds %s in clear", f, e)
				}
			}
		}
	})
}

// TestErasureRecordFails breaks the object store's erasures/: the lead is
// erased all the same, and the API's answer and the CLI's error name it.
func TestErasureRecordFails(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		in := newInstance(t, dsn, nil)
		in.openConference()
		srv := in.serve()
		token := in.apiTokenWith("leads:read,leads:delete")
		byAPI := srv.capture(t, lead("api", "erased-api@plain.example", nil))
		byCLI := srv.capture(t, lead("cli", "erased-cli@plain.example", nil))
		in.waitRawCopies(2)
		// Where the records go is a file: writes there fail, the rest of
		// the object store works.
		if err := os.WriteFile(filepath.Join(in.env["LEADCAP_DATA_DIR"], "objects", "objects", "erasures"), nil, 0o600); err != nil {
			t.Fatal(err)
		}
		status, body := srv.api(t, token, "DELETE", "/api/v1/leads/"+byAPI, "")
		if status != 500 || !strings.Contains(string(body), "lead "+byAPI+" is deleted, but the record of its deletion was not stored") {
			t.Fatalf("DELETE with a broken object store: %d %s", status, body)
		}
		if status, body := srv.api(t, token, "GET", "/api/v1/leads/"+byAPI, ""); status != 404 {
			t.Fatalf("GET the lead after: %d %s", status, body)
		}
		if n := value(srv.scrape(t), "leadcap_errors_total", map[string]string{"component": "leads"}); n != 1 {
			t.Errorf("leads errors counted: %v, want 1", n)
		}
		out, err := in.run("leads", "erase", "--id", byCLI)
		if err == nil || !strings.Contains(err.Error(), "lead "+byCLI+" is erased, but the record of its erasure is not stored") ||
			!strings.Contains(out, "recorded 0 erasures") {
			t.Fatalf("leads erase with a broken object store: %v\n%s", err, out)
		}
		if got := leadEmails(t, in.env); len(got) != 0 {
			t.Fatalf("leads after the erasures: %v", got)
		}
	})
}

// TestBackupPruneErasureRecords: backup prune removes the erasure records
// older than the retention and than the oldest backup, and keeps the
// others.
func TestBackupPruneErasureRecords(t *testing.T) {
	in := newInstance(t, "", nil)
	in.must("conferences", "list") // makes the key file
	keys, err := crypto.Load(in.env["LEADCAP_DATA_DIR"])
	if err != nil {
		t.Fatal(err)
	}
	var objects blob.Store = in.objects()
	log := &erasure.Log{Blob: objects, Keys: keys}
	now := time.Now()
	for i, at := range []time.Time{now.AddDate(0, 0, -60), now.AddDate(0, 0, -1), now} {
		if err := log.Record(context.Background(), erasure.Record{LeadID: "lead-" + string(rune('a'+i)), ConferenceID: "c", ErasedAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	in.must("backup", "create")
	out := in.must("backup", "prune")
	if !strings.Contains(out, "0 backups older than 35d removed, and 1 erasure record that no backup left needs") {
		t.Fatalf("backup prune:\n%s", out)
	}
	left, err := log.Since(context.Background(), time.Time{})
	if err != nil || len(left) != 2 || left[0].LeadID != "lead-b" {
		t.Fatalf("records left: %+v %v", left, err)
	}
}
