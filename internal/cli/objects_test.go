package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/store"
	"github.com/leadcap/leadcap/internal/store/storetest"
)

// TestObjectsCommands lists, measures, gets, restores and purges the raw
// copies a running server wrote, as the operations guide's "S3 Versioning"
// asks.
func TestObjectsCommands(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		in := newInstance(t, dsn, nil)
		in.openConference()
		srv := in.serve()
		a := srv.capture(t, lead("obj-1", "ana.objects@example.com", nil))
		if again := srv.capture(t, lead("obj-2", "ana.objects@example.com", map[string]any{"first_name": "Anita"})); again != a {
			t.Fatalf("second visit made lead %s, want %s", again, a)
		}
		b := srv.capture(t, lead("obj-3", "bob.objects@example.com", nil))
		st, objects := in.openStore(), in.objects()
		waitFor(t, 10*time.Second, "the raw copies", func() bool {
			n, _, err := st.OutboxStats(ctx)
			return err == nil && n == 0
		})
		l, err := st.Lead(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		keyA, keyB := store.RawObjectKey(l.ConferenceID, a), store.RawObjectKey(l.ConferenceID, b)
		versions, err := objects.Versions(ctx, keyA)
		if err != nil || len(versions) != 2 {
			t.Fatalf("versions of %s: %+v %v", keyA, versions, err)
		}
		first := versions[1]
		// Bob's copy is deleted by mistake: a delete marker hides it.
		if err := objects.Delete(ctx, keyB); err != nil {
			t.Fatal(err)
		}

		out := in.must("objects", "list", "raw/")
		if !strings.Contains(out, keyA) || strings.Contains(out, keyB) || !strings.HasSuffix(out, "1 objects\n") {
			t.Fatalf("list:\n%s", out)
		}
		out = in.must("objects", "list", "raw/", "--versions")
		if !strings.Contains(out, first.Version) || !strings.Contains(out, "delete marker (deleted)") ||
			!strings.Contains(out, "3 versions and 1 delete markers of 2 keys") {
			t.Fatalf("list --versions:\n%s", out)
		}
		var listed []struct {
			Key          string `json:"key"`
			Version      string `json:"version"`
			DeleteMarker bool   `json:"delete_marker"`
			Latest       bool   `json:"latest"`
		}
		if err := json.Unmarshal([]byte(in.must("objects", "list", "raw/", "--versions", "--json")), &listed); err != nil || len(listed) != 4 {
			t.Fatalf("list --json: %+v %v", listed, err)
		}

		// get writes what is stored; --decrypt opens it, on the record.
		file := filepath.Join(t.TempDir(), "first.json")
		in.must("objects", "get", keyA, "--version", first.Version, "-o", file)
		r, _, err := objects.GetVersion(ctx, keyA, first.Version)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := io.ReadAll(r)
		r.Close()
		if got, _ := os.ReadFile(file); !bytes.Equal(got, want) || bytes.Contains(got, []byte("ana.objects")) {
			t.Fatalf("get -o wrote %q, want the stored (sealed) %q", got, want)
		}
		var opened struct {
			LeadID       string `json:"lead_id"`
			SubmissionID string `json:"submission_id"`
			Submission   struct {
				Email     string `json:"email"`
				FirstName string `json:"first_name"`
			} `json:"submission"`
		}
		decrypted := filepath.Join(t.TempDir(), "first-clear.json")
		in.must("objects", "get", keyA, "--version", first.Version, "--decrypt", "-o", decrypted)
		got, _ := os.ReadFile(decrypted)
		err = json.Unmarshal(got, &opened)
		// The outbox copies in parallel: either submission may be first.
		name := map[string]string{"obj-1": "Ana", "obj-2": "Anita"}[opened.SubmissionID]
		if err != nil || opened.LeadID != a || opened.Submission.Email != "ana.objects@example.com" || opened.Submission.FirstName != name {
			t.Fatalf("get --decrypt: %v\n%s", err, got)
		}
		if out := in.must("audit", "list", "--action", "object.decrypt"); !strings.Contains(out, "object:"+keyA) {
			t.Fatalf("no audit event for the decryption:\n%s", out)
		}

		// restore puts the old bytes on top; every version stays.
		out = in.must("objects", "restore", keyA, "--version", first.Version)
		if !strings.Contains(out, "is the latest again") {
			t.Fatalf("restore:\n%s", out)
		}
		after, _ := objects.Versions(ctx, keyA)
		if len(after) != 3 || after[0].SHA256 != first.SHA256 || after[1].Version != versions[0].Version || after[2].Version != first.Version {
			t.Fatalf("versions after restore: %+v", after)
		}
		bv, _ := objects.Versions(ctx, keyB)
		out = in.must("objects", "restore", keyB, "--version", bv[1].Version)
		if _, err := objects.Stat(ctx, keyB); err != nil || !strings.Contains(out, "the 1 version or delete marker after it stays") {
			t.Fatalf("the deleted copy is not back: %v\n%s", err, out)
		}
		if out := in.must("objects", "restore", keyA, "--version", after[0].Version); !strings.Contains(out, "nothing to do") {
			t.Fatalf("restore of the latest:\n%s", out)
		}
		var events []leadcap.AuditEvent
		json.Unmarshal([]byte(in.must("audit", "list", "--action", "object.restore", "--json")), &events)
		if len(events) != 2 || events[1].Detail["version"] != first.Version {
			t.Fatalf("restore events: %+v", events)
		}

		// du: every top-level prefix, and the counts.
		out = in.must("objects", "du")
		for _, p := range []string{"backups/", "exports/", "qr/", "raw/"} {
			if !strings.Contains(out, "\n"+p) {
				t.Fatalf("du lacks %s:\n%s", p, out)
			}
		}
		var rows []map[string]any
		if err := json.Unmarshal([]byte(in.must("objects", "du", "raw/", "--json")), &rows); err != nil || len(rows) != 2 {
			t.Fatalf("du raw/ --json: %v %v", rows, err)
		}
		if total := rows[1]; total["prefix"] != "total" || total["objects"] != 2.0 || total["versions"] != 5.0 || total["delete_markers"] != 1.0 {
			t.Fatalf("du raw/ total: %v", total)
		}

		// Bad keys and versions get clear errors; nothing changes.
		for _, tt := range []struct {
			args []string
			want string
		}{
			{[]string{"objects", "get", "/raw/x.json"}, "leading slash"},
			{[]string{"objects", "get", "raw/../keys.json"}, "dot segment"},
			{[]string{"objects", "list", "raw//"}, "empty segment"},
			{[]string{"objects", "get", "raw/none.json"}, "no object"},
			{[]string{"objects", "get", keyA, "--version", "nope"}, "no version"},
			{[]string{"objects", "get", "qr/x.png", "--decrypt"}, "stored in clear"},
			{[]string{"objects", "get", "backups/2026-11-26/x.lcbackup", "--decrypt"}, "leadcap backup verify"},
			{[]string{"objects", "restore", keyA}, "--version is required"},
			{[]string{"objects", "restore", keyA, "--version", "nope"}, "has no version"},
			{[]string{"objects", "restore", keyB, "--version", bv[0].Version}, "delete marker"},
			{[]string{"objects", "frob"}, "unknown verb"},
		} {
			out, err := in.run(tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("leadcap %s: %v\n%s\nwant an error about %q", strings.Join(tt.args, " "), err, out, tt.want)
			}
		}
		if vs, _ := objects.Versions(ctx, keyA); len(vs) != 3 {
			t.Fatalf("refused commands changed %s: %d versions", keyA, len(vs))
		}

		// purge removes every version and marker, on the record.
		if out := in.must("objects", "purge", keyB); !strings.Contains(out, "purged "+keyB+": 3 versions and delete markers") {
			t.Fatalf("purge:\n%s", out)
		}
		if _, err := objects.Versions(ctx, keyB); err == nil {
			t.Fatalf("%s still has versions after purge", keyB)
		}
		if _, err := in.run("objects", "purge", keyB); err == nil || !strings.Contains(err.Error(), "no object") {
			t.Fatalf("purge again: %v", err)
		}
		if out := in.must("audit", "list", "--action", "object.purge"); !strings.Contains(out, "object:"+keyB) || !strings.Contains(out, "versions=3") {
			t.Fatalf("no audit event for the purge:\n%s", out)
		}
	})
}
