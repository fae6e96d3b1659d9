package cli_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/blob"
	"github.com/leadcap/leadcap/internal/crypto"
	"github.com/leadcap/leadcap/internal/intake"
	"github.com/leadcap/leadcap/internal/store"
	"github.com/leadcap/leadcap/internal/store/storetest"
)

// openStore opens the instance's database with its key ring, as a second
// server would.
func (in *instance) openStore() *store.Store {
	in.t.Helper()
	keys, err := crypto.Load(in.env["LEADCAP_DATA_DIR"])
	if err != nil {
		in.t.Fatal(err)
	}
	dsn := in.env["LEADCAP_DATABASE_URL"]
	if dsn == "" {
		dsn = filepath.Join(in.env["LEADCAP_DATA_DIR"], "leadcap.db")
	}
	st, err := store.Open(context.Background(), dsn, store.Options{Sealer: keys, Merge: intake.MergeLead})
	if err != nil {
		in.t.Fatal(err)
	}
	in.t.Cleanup(func() { st.Close() })
	return st
}

// objects opens the instance's object store.
func (in *instance) objects() *blob.Dir {
	in.t.Helper()
	d, err := blob.OpenDir(filepath.Join(in.env["LEADCAP_DATA_DIR"], "objects"))
	if err != nil {
		in.t.Fatal(err)
	}
	in.t.Cleanup(func() { d.Close() })
	return d
}

// apiToken makes a staff user who may export and has chosen a password,
// and returns a personal access token of theirs.
func (in *instance) apiToken() string {
	in.t.Helper()
	return in.apiTokenWith("leads:export")
}

// apiTokenWith is apiToken for a staff user with the permissions.
func (in *instance) apiTokenWith(permissions string) string {
	in.t.Helper()
	in.must("users", "create", "--email", "dpo@example.com", "--role", "staff", "--permissions", permissions)
	st := in.openStore()
	u, err := st.User(context.Background(), "dpo@example.com")
	if err != nil {
		in.t.Fatal(err)
	}
	hash, err := crypto.HashPassword("river stone lantern erase")
	if err != nil {
		in.t.Fatal(err)
	}
	if err := st.SetPassword(context.Background(), u.ID, hash, false, time.Time{}); err != nil {
		in.t.Fatal(err)
	}
	tok := regexp.MustCompile(`lct_[A-Za-z0-9_-]+`).FindString(in.must("tokens", "create", "--email", "dpo@example.com", "--name", "dpo"))
	if tok == "" {
		in.t.Fatal("tokens create printed no token")
	}
	return tok
}

// api sends an authenticated API request and returns the status and body.
func (s *server) api(t *testing.T, token, method, path, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, s.url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// capture posts a lead that must be stored and returns its id.
func (s *server) capture(t *testing.T, body string) string {
	t.Helper()
	status, answer := s.post(t, body)
	var r struct{ ID string }
	if status/100 != 2 || json.Unmarshal([]byte(answer), &r) != nil || r.ID == "" {
		t.Fatalf("lead: %d %s", status, answer)
	}
	return r.ID
}

// storedExport asks the API for a stored export and returns its record.
func (s *server) storedExport(t *testing.T, token, body string) *leadcap.Export {
	t.Helper()
	status, b := s.api(t, token, "POST", "/api/v1/exports", body)
	var e leadcap.Export
	if status != 201 || json.Unmarshal(b, &e) != nil || e.Status != leadcap.ExportDone {
		t.Fatalf("export %s: %d %s", body, status, b)
	}
	return &e
}

// TestLeadsErase erases a person who left leads at two conferences while
// the server runs: afterwards the API knows neither lead, every version of
// their raw copies and the exports that held them are gone, everyone else
// is untouched, the audit trail has the erasure without the email, and
// nothing of the person is left in the database files, the WAL or the
// object directory: on SQLite (with --vacuum) not even their rows sealed.
func TestLeadsErase(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		in := newInstance(t, dsn, nil)
		in.openConference()
		in.must("conferences", "create", "--slug", "fair", "--name", "Fair", "--country", "BZ")
		in.must("conferences", "open", "fair")
		db := in.database()
		walStart := ""
		if in.env["LEADCAP_DATABASE_URL"] != "" {
			if err := db.QueryRow(`SELECT pg_walfile_name(pg_current_wal_lsn())`).Scan(&walStart); err != nil {
				t.Fatal(err)
			}
		}
		srv := in.serve()
		token := in.apiToken()
		var others []string
		for i := range 6 {
			conf := []string{"expo", "fair"}[i%2]
			others = append(others, srv.capture(t, lead(fmt.Sprint("other-", i), fmt.Sprintf("other%d@example.com", i),
				map[string]any{"conference": conf})))
		}
		older := srv.storedExport(t, token, `{"format":"csv","conference":"expo"}`)

		const email = "Zanzibar.Erase@Privacy-Check.example"
		person := map[string]any{"first_name": "Quintessa", "last_name": "Marlowe", "phone": "+501 622 3499"}
		atExpo := srv.capture(t, lead("person-1", email, person))
		if again := srv.capture(t, lead("person-2", strings.ToLower(email), person)); again != atExpo {
			t.Fatalf("the second visit made lead %s, want it merged into %s", again, atExpo)
		}
		person["conference"] = "fair"
		atFair := srv.capture(t, lead("person-3", email, person))
		ofExpo := srv.storedExport(t, token, `{"format":"csv","conference":"expo"}`)
		ofAll := srv.storedExport(t, token, `{"format":"xlsx"}`)
		if ofExpo.Rows != 4 || ofAll.Rows != 8 {
			t.Fatalf("exports of %d and %d rows, want 4 and 8", ofExpo.Rows, ofAll.Rows)
		}
		st, objects := in.openStore(), in.objects()
		exportKey := map[string]string{} // the API does not show them
		for _, e := range []*leadcap.Export{older, ofExpo, ofAll} {
			stored, err := st.Export(ctx, e.ID)
			if err != nil {
				t.Fatal(err)
			}
			exportKey[e.ID] = stored.ObjectKey
		}
		rawKey := map[string]string{}
		for _, id := range append([]string{atExpo, atFair}, others...) {
			l, err := st.Lead(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			rawKey[id] = store.RawObjectKey(l.ConferenceID, id)
		}
		waitFor(t, 10*time.Second, "the raw copies", func() bool {
			n, _, err := st.OutboxStats(ctx)
			return err == nil && n == 0
		})
		// The export of expo holds the person, as --decrypt shows.
		if out := in.must("objects", "get", exportKey[ofExpo.ID], "--decrypt"); !strings.Contains(out, "zanzibar.erase@privacy-check.example") {
			t.Fatalf("the export of expo does not hold the person:\n%s", out)
		}
		// The person's rows as stored, sealed: none of these bytes may stay.
		var traces [][]byte
		for _, q := range []string{`SELECT email_index FROM leads WHERE id IN ($1, $2)`,
			`SELECT data FROM leads WHERE id IN ($1, $2)`, `SELECT data FROM submissions WHERE lead_id IN ($1, $2)`} {
			traces = append(traces, queryBytes(t, db, q, atExpo, atFair)...)
		}
		if len(traces) != 7 {
			t.Fatalf("%d sealed values of the person, want 7", len(traces))
		}
		someoneElse := queryBytes(t, db, `SELECT data FROM leads WHERE id = $1`, others[0])[0]

		// A dry run shows it all and changes nothing.
		out := in.must("leads", "erase", "--email", "zanzibar.erase@privacy-check.example", "--dry-run")
		for _, want := range []string{atExpo, atFair, rawKey[atExpo], ofExpo.ID, ofAll.ID, "would erase 2 leads", "dry run: nothing changed"} {
			if !strings.Contains(out, want) {
				t.Fatalf("dry run lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, older.ID) {
			t.Fatalf("dry run lists export %s, made before the person came:\n%s", older.ID, out)
		}
		if status, _ := srv.api(t, token, "GET", "/api/v1/leads/"+atExpo, ""); status != 200 {
			t.Fatalf("after the dry run the lead answers %d", status)
		}
		var plan struct {
			Leads   []struct{ ID string }
			Exports []struct{ ID string }
		}
		if err := json.Unmarshal([]byte(in.must("leads", "erase", "--email", email, "--conference", "fair", "--dry-run", "--json")), &plan); err != nil {
			t.Fatal(err)
		}
		if len(plan.Leads) != 1 || plan.Leads[0].ID != atFair || len(plan.Exports) != 1 || plan.Exports[0].ID != ofAll.ID {
			t.Fatalf("dry run at fair: %+v", plan)
		}

		erase := []string{"leads", "erase", "--email", " " + email + " ", "--purge-exports"}
		if walStart == "" {
			// SQLite: rebuild the file, so that no copy of the rows is left.
			erase = append(erase, "--vacuum")
		} else if out, err := in.run(append(erase, "--vacuum")...); err == nil || !strings.Contains(err.Error(), "VACUUM FULL") {
			t.Fatalf("--vacuum on PostgreSQL: %v\n%s", err, out)
		}
		out = in.must(erase...)
		if !strings.Contains(out, "erased 2 leads with this email") || !strings.Contains(out, "purged 2 exports") ||
			strings.Contains(strings.ToLower(out), strings.ToLower(email)) ||
			(walStart == "" && !strings.Contains(out, "rebuilt the database file")) {
			t.Fatalf("erase:\n%s", out)
		}
		for _, id := range []string{atExpo, atFair} {
			if status, _ := srv.api(t, token, "GET", "/api/v1/leads/"+id, ""); status != 404 {
				t.Fatalf("erased lead %s answers %d", id, status)
			}
			if vs, err := objects.Versions(ctx, rawKey[id]); err == nil {
				t.Fatalf("raw copy of %s still has %d versions", id, len(vs))
			}
		}
		for _, id := range others {
			if status, _ := srv.api(t, token, "GET", "/api/v1/leads/"+id, ""); status != 200 {
				t.Fatalf("lead %s of someone else answers %d", id, status)
			}
			if _, err := objects.Stat(ctx, rawKey[id]); err != nil {
				t.Fatalf("raw copy of %s: %v", id, err)
			}
		}
		if _, err := objects.Stat(ctx, exportKey[older.ID]); err != nil {
			t.Fatalf("the export made before the person came: %v", err)
		}
		var exports []leadcap.Export
		json.Unmarshal([]byte(in.must("exports", "list", "--json")), &exports)
		if len(exports) != 1 || exports[0].ID != older.ID {
			t.Fatalf("exports left: %+v, want only %s", exports, older.ID)
		}
		for _, e := range []*leadcap.Export{ofExpo, ofAll} {
			if _, err := objects.Versions(ctx, exportKey[e.ID]); err == nil {
				t.Fatalf("export %s still has its file", e.ID)
			}
		}
		var events []leadcap.AuditEvent
		json.Unmarshal([]byte(in.must("audit", "list", "--action", "lead.delete", "--json")), &events)
		if len(events) != 2 || events[0].Detail["request"] != "erasure" || events[0].Actor != "cli" {
			t.Fatalf("audit events: %+v", events)
		}
		if trail := in.must("audit", "list", "--limit", "1000", "--json"); strings.Contains(strings.ToLower(trail), "zanzibar") ||
			!strings.Contains(trail, "export.delete") {
			t.Fatalf("the audit trail names the person, or lacks the exports' deletion:\n%s", trail)
		}
		if again := in.must("leads", "erase", "--email", email); !strings.Contains(again, "no lead has this email") {
			t.Fatalf("erasing again:\n%s", again)
		}
		// One lead by id.
		in.must("leads", "erase", "--id", others[1])
		if status, _ := srv.api(t, token, "GET", "/api/v1/leads/"+others[1], ""); status != 404 {
			t.Fatalf("lead erased by id answers %d", status)
		}

		if err := srv.stop(); err != nil {
			t.Fatal(err)
		}
		secrets := []string{email, strings.ToLower(email), "Zanzibar", "zanzibar", "Quintessa", "Marlowe", "6223499"}
		files := 0
		err := filepath.Walk(in.env["LEADCAP_DATA_DIR"], func(path string, info os.FileInfo, err error) error {
			if err != nil || info.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			files++
			for _, s := range secrets {
				if bytes.Contains(b, []byte(s)) {
					t.Errorf("%s holds %q", path, s)
				}
			}
			if strings.Contains(path, "leadcap.db") {
				for i, tr := range traces {
					if bytes.Contains(b, tr) {
						t.Errorf("%s still holds sealed value %d of the person", filepath.Base(path), i)
					}
				}
			}
			return nil
		})
		if err != nil || files < 5 {
			t.Fatalf("read %d files of the data directory: %v", files, err)
		}
		if walStart != "" {
			checkPostgresFiles(t, db, walStart, secrets, someoneElse)
		}
	})
}

func queryBytes(t *testing.T, db *sql.DB, q string, args ...any) [][]byte {
	t.Helper()
	rows, err := db.Query(q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// checkPostgresFiles reads, as the server's superuser may, the files of
// the test schema's tables and indexes and the WAL written since walStart,
// and finds none of secrets in them. A lead of someone else, which must be
// there, shows that they are the right files.
func checkPostgresFiles(t *testing.T, db *sql.DB, walStart string, secrets []string, someoneElse []byte) {
	t.Helper()
	if _, err := db.Exec(`CHECKPOINT`); err != nil {
		t.Fatalf("CHECKPOINT (the test needs a superuser): %v", err)
	}
	var paths []string
	rows, err := db.Query(`SELECT pg_relation_filepath(c.oid) FROM pg_class c
		WHERE (c.relnamespace = current_schema()::regnamespace
			OR c.oid IN (SELECT reltoastrelid FROM pg_class WHERE relnamespace = current_schema()::regnamespace))
		AND pg_relation_filepath(c.oid) IS NOT NULL`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var p string
		rows.Scan(&p)
		paths = append(paths, p)
	}
	rows.Close()
	var walEnd string
	db.QueryRow(`SELECT pg_walfile_name(pg_current_wal_lsn())`).Scan(&walEnd)
	rows, err = db.Query(`SELECT 'pg_wal/' || name FROM pg_ls_waldir() WHERE name >= $1 AND name <= $2 ORDER BY name`, walStart, walEnd)
	if err != nil {
		t.Fatal(err)
	}
	wal := 0
	for rows.Next() {
		var p string
		rows.Scan(&p)
		paths = append(paths, p)
		wal++
	}
	rows.Close()
	found := false
	for _, p := range paths {
		var b []byte
		if err := db.QueryRow(`SELECT pg_read_binary_file($1)`, p).Scan(&b); err != nil {
			t.Fatalf("read %s: %v", p, err)
		}
		found = found || bytes.Contains(b, someoneElse)
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("PostgreSQL file %s holds %q", p, s)
			}
		}
	}
	if wal == 0 || !found {
		t.Fatalf("read %d files (%d of WAL) and found no other lead in them: not the right files", len(paths), wal)
	}
}
