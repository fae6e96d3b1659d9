package cli_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/blob"
	"github.com/leadcap/leadcap/internal/config"
	"github.com/leadcap/leadcap/internal/crypto"
	"github.com/leadcap/leadcap/internal/export"
	"github.com/leadcap/leadcap/internal/intake"
	"github.com/leadcap/leadcap/internal/store"
	"github.com/leadcap/leadcap/internal/store/storetest"
)

// openData opens the store, key ring and object directory the CLI uses
// with env, as a running server would.
func openData(t *testing.T, env map[string]string) (*store.Store, *crypto.KeyRing, *blob.Dir) {
	t.Helper()
	cfg, err := config.Load(&config.Flagged{}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	keys, _, err := crypto.LoadOrCreate(cfg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), cfg.DatabaseDSN(), store.Options{Sealer: keys, Merge: intake.MergeLead})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	objects, err := blob.OpenDir(cfg.BlobDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { objects.Close() })
	return st, keys, objects
}

func TestExportCommand(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		env := backendEnv(t, dsn)
		mustRun(t, env, "conferences", "create", "--slug", "expo", "--name", "Expo", "--status", "open")
		st, _, _ := openData(t, env)
		c, err := st.Conference(context.Background(), "expo")
		if err != nil {
			t.Fatal(err)
		}
		for i, name := range []string{"=HYPERLINK(\"x\")", "👩‍👩‍👧‍👦", "مريم"} {
			l := &leadcap.Lead{ConferenceID: c.ID, SubmissionID: fmt.Sprint("s", i), FirstName: name,
				Email: fmt.Sprintf("p%d@example.com", i), Phone: "+5016223456", Source: leadcap.SourceForm,
				Consent: leadcap.Consent{Contact: true, Version: 1, TextHash: c.Consent.Hash, At: time.Now()}}
			if _, err := st.CaptureLead(context.Background(), l, l.Email); err != nil {
				t.Fatal(err)
			}
		}

		file := filepath.Join(t.TempDir(), "leads.csv")
		out := mustRun(t, env, "export", "--format", "csv", "--conference", "expo", "--since", "2020-01-01", "--out", file, "--bom")
		if !strings.Contains(out, "exported 3 leads to "+file) {
			t.Fatalf("summary: %q", out)
		}
		fi, err := os.Stat(file)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("file %v, %v: want mode 0600", fi, err)
		}
		data, _ := os.ReadFile(file)
		records, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\ufeff")))).ReadAll()
		if err != nil || len(records) != 4 || records[1][4] != `'=HYPERLINK("x")` || records[3][4] != "مريم" {
			t.Fatalf("csv %v: %q", err, records)
		}

		// To standard output, with the summary on standard error.
		stdout, stderr, err := leadcapRun(t, env, "export", "--format", "ndjson", "--columns", "salesforce", "--out", "-", "--json")
		if err != nil || strings.Count(stdout, "\n") != 3 || !strings.Contains(stdout, `"Lead Source":"Trade Show"`) {
			t.Fatalf("stdout export: %v\n%s", err, stdout)
		}
		var summary map[string]any
		if err := json.Unmarshal([]byte(stderr[strings.Index(stderr, "{"):]), &summary); err != nil || summary["rows"] != 3.0 {
			t.Fatalf("summary on stderr: %v %q", err, stderr)
		}
		evs, _, err := st.AuditEvents(context.Background(), store.AuditFilter{Action: "export.create"})
		if err != nil || len(evs) != 2 || evs[0].Actor != "cli" || evs[0].Result != "success" || evs[0].Detail["rows"] != "3" {
			t.Fatalf("audit trail: %v %+v", err, evs)
		}

		// Mistakes are named, and leave no file behind.
		bad := filepath.Join(t.TempDir(), "bad.csv")
		for _, args := range [][]string{
			{"--format", "pdf", "--out", bad},
			{"--format", "csv", "--conference", "nope", "--out", bad},
			{"--format", "json", "--bom", "--out", bad},
			{"--format", "csv"},
		} {
			_, _, err := leadcapRun(t, env, append([]string{"export"}, args...)...)
			if err == nil {
				t.Errorf("export %v succeeded", args)
			}
			if entries, _ := os.ReadDir(filepath.Dir(bad)); len(entries) != 0 {
				t.Errorf("export %v left %v", args, entries)
			}
		}
		if _, _, err := leadcapRun(t, env, "export", "--format", "pdf", "--out", bad); err == nil || !strings.Contains(err.Error(), "format") {
			t.Errorf("bad format: %v", err)
		}
	})
}

func TestExportsCommands(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		env := backendEnv(t, dsn)
		if out := mustRun(t, env, "exports", "list"); !strings.Contains(out, "0 exports") {
			t.Fatalf("empty list: %q", out)
		}
		mustRun(t, env, "conferences", "create", "--slug", "expo", "--name", "Expo", "--status", "open")
		st, keys, objects := openData(t, env)
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		// Stored exports, as the server makes them: one expires in a second.
		made := map[string]*leadcap.Export{}
		for _, retention := range []time.Duration{time.Second, time.Hour} {
			s := export.NewService(context.Background(), export.Config{Store: st, Blob: objects, Keys: keys,
				Auditor: export.StoreAuditor{Store: st}, Log: log, Retention: retention})
			e, err := s.Create(context.Background(), export.Request{Format: leadcap.FormatJSON}, export.Meta{})
			if err != nil {
				t.Fatal(err)
			}
			made[retention.String()] = e
		}
		out := mustRun(t, env, "exports", "list")
		if !strings.Contains(out, made["1s"].ID) || !strings.Contains(out, made["1h0m0s"].ID) || !strings.Contains(out, "2 exports") {
			t.Fatalf("list:\n%s", out)
		}
		time.Sleep(1100 * time.Millisecond)
		if out := mustRun(t, env, "exports", "purge-expired"); !strings.Contains(out, "1 expired exports removed") {
			t.Fatalf("purge-expired: %q", out)
		}
		if _, err := objects.Versions(context.Background(), made["1s"].ObjectKey); err == nil {
			t.Fatal("the expired export's file is still there")
		}
		if out := mustRun(t, env, "exports", "delete", made["1h0m0s"].ID); !strings.Contains(out, "deleted") {
			t.Fatalf("delete: %q", out)
		}
		for _, action := range []string{"export.expire", "export.delete"} {
			if evs, _, _ := st.AuditEvents(context.Background(), store.AuditFilter{Action: action}); len(evs) != 1 {
				t.Errorf("audit trail holds %d %s events, want 1", len(evs), action)
			}
		}
		var list []any
		json.Unmarshal([]byte(mustRun(t, env, "exports", "list", "--json")), &list)
		if len(list) != 0 {
			t.Fatalf("after delete: %v", list)
		}
		if _, _, err := leadcapRun(t, env, "exports", "delete", "nope"); leadcap.ErrorCode(err) != leadcap.ENOTFOUND {
			t.Fatalf("delete unknown: %v", err)
		}
	})
}
