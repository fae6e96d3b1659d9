package cli_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/crypto"
	"github.com/leadcap/leadcap/internal/store"
	"github.com/leadcap/leadcap/internal/store/storetest"
)

// keysList is the output of keys list --json.
type keysList struct {
	Primary uint32 `json:"primary"`
	Keys    []struct {
		ID      uint32            `json:"id"`
		Status  string            `json:"status"`
		Primary bool              `json:"primary"`
		AddedAt *time.Time        `json:"added_at"`
		Sealed  store.SealedCount `json:"sealed"`
	} `json:"keys"`
	NotInKeyFile []json.RawMessage `json:"not_in_key_file"`
}

func (in *instance) keysList() keysList {
	in.t.Helper()
	var l keysList
	if out := in.must("keys", "list", "--json"); json.Unmarshal([]byte(out), &l) != nil {
		in.t.Fatalf("keys list --json:\n%s", out)
	}
	return l
}

// captureWith stores a lead of "expo" through a store opened with the
// key file as it is now, as another process would.
func (in *instance) captureWith(st *store.Store, sub, email string) string {
	in.t.Helper()
	c, err := st.Conference(context.Background(), "expo")
	if err != nil {
		in.t.Fatal(err)
	}
	l := &leadcap.Lead{ConferenceID: c.ID, SubmissionID: sub, FirstName: "Ana", Email: email, Source: leadcap.SourceForm,
		Consent: leadcap.Consent{Contact: true, Version: c.Consent.Version, TextHash: c.Consent.Hash, At: time.Now()}}
	r, err := st.CaptureLead(context.Background(), l, email)
	if err != nil {
		in.t.Fatal(err)
	}
	return r.LeadID
}

func TestKeysCommands(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		in := newInstance(t, dsn, nil)
		in.openConference()
		before := in.openStore()
		in.captureWith(before, "s1", "first@example.com")
		in.captureWith(before, "s2", "second@example.com")

		l := in.keysList()
		if len(l.Keys) != 1 || !l.Keys[0].Primary || l.Keys[0].ID != l.Primary || l.Keys[0].AddedAt == nil ||
			l.Keys[0].Sealed.Leads != 2 || l.Keys[0].Sealed.Submissions != 2 || len(l.NotInKeyFile) != 0 {
			t.Fatalf("keys list before a rotation: %+v", l)
		}
		oldID := l.Primary
		out := in.must("keys", "list")
		if !strings.Contains(out, strconv.FormatUint(uint64(oldID), 10)+"  enabled  yes") || !strings.Contains(out, "1 key; the primary key") {
			t.Fatalf("keys list:\n%s", out)
		}

		out = in.must("keys", "rotate")
		if !strings.Contains(out, "is the new primary key (was "+strconv.FormatUint(uint64(oldID), 10)+")") ||
			!strings.Contains(out, "stays readable") {
			t.Fatalf("keys rotate:\n%s", out)
		}
		l = in.keysList()
		if len(l.Keys) != 2 || l.Primary == oldID || l.Keys[0].ID != oldID || l.Keys[0].Primary ||
			l.Keys[1].ID != l.Primary || !l.Keys[1].Primary || l.Keys[1].AddedAt == nil {
			t.Fatalf("keys list after a rotation: %+v", l)
		}
		newID := l.Primary

		// A process started after the rotation seals with the new key; the
		// leads sealed before stay where they are.
		in.captureWith(in.openStore(), "s3", "third@example.com")
		l = in.keysList()
		if l.Keys[0].Sealed.Leads != 2 || l.Keys[1].Sealed.Leads != 1 || l.Keys[1].Sealed.Submissions != 1 {
			t.Fatalf("sealed counts after a lead with the new key: old %+v, new %+v", l.Keys[0].Sealed, l.Keys[1].Sealed)
		}
		export := in.must("export", "--format", "ndjson", "--out", "-")
		for _, email := range []string{"first@example.com", "second@example.com", "third@example.com"} {
			if !strings.Contains(export, email) {
				t.Errorf("the export after the rotation lacks %s:\n%s", email, export)
			}
		}

		evs, _, err := before.AuditEvents(context.Background(), store.AuditFilter{Action: "keys.rotate"})
		if err != nil || len(evs) != 1 {
			t.Fatalf("audit trail: %v %+v", err, evs)
		}
		ev := evs[0]
		if ev.Actor != "cli" || ev.Result != leadcap.AuditSuccess || ev.Target != "key:"+strconv.FormatUint(uint64(newID), 10) ||
			ev.Detail["previous_primary"] != strconv.FormatUint(uint64(oldID), 10) {
			t.Errorf("audit event: %+v", ev)
		}
		keyFile, err := os.ReadFile(filepath.Join(in.env["LEADCAP_DATA_DIR"], crypto.KeyFileName))
		if err != nil {
			t.Fatal(err)
		}
		evJSON, _ := json.Marshal(ev)
		secrets := strings.Split(string(keyFile), `"value": "`)[1:]
		if len(secrets) != 3 {
			t.Fatalf("found %d keys' material in the key file, want 3", len(secrets))
		}
		for _, secret := range secrets {
			if secret = secret[:strings.Index(secret, `"`)]; strings.Contains(string(evJSON), secret) {
				t.Errorf("the audit event holds key material: %s", evJSON)
			}
		}

		// A rotation that cannot run changes nothing and says why; a key
		// file is never created by the keys commands.
		lock := filepath.Join(in.env["LEADCAP_DATA_DIR"], crypto.KeyFileName+".lock")
		if err := os.WriteFile(lock, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := in.run("keys", "rotate"); err == nil || !strings.Contains(out+err.Error(), "keys.json.lock exists") {
			t.Errorf("keys rotate with the lock held: %v\n%s", err, out)
		}
		os.Remove(lock)
		if l := in.keysList(); len(l.Keys) != 2 || l.Primary != newID {
			t.Errorf("keys after a refused rotation: %+v", l)
		}
		missing := filepath.Join(t.TempDir(), "nowhere")
		for _, verb := range []string{"list", "rotate"} {
			if out, err := in.run("keys", verb, "--data-dir", missing); err == nil || !strings.Contains(err.Error(), "is --data-dir the server's") {
				t.Errorf("keys %s of a data directory without keys: %v\n%s", verb, err, out)
			}
		}
		if _, err := os.Stat(filepath.Join(missing, crypto.KeyFileName)); err == nil {
			t.Error("keys commands created a key file")
		}
		if out, err := in.run("keys", "burn"); err == nil || !strings.Contains(err.Error(), `unknown verb "burn"`) {
			t.Errorf("keys burn: %v\n%s", err, out)
		}
	})
}

// TestKeysRotateWhileServing rotates the keys of a running server: the
// server reads a lead another process sealed with the new key, seals the
// leads it takes afterwards with the new key, and still reads the old ones.
func TestKeysRotateWhileServing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		in := newInstance(t, dsn, nil)
		in.openConference()
		token := in.apiToken()
		s := in.serve()
		oldLead := s.capture(t, lead("s1", "before@example.com", nil))
		oldID := in.keysList().Primary

		in.must("keys", "rotate")
		newID := in.keysList().Primary
		// Another process, started after the rotation, seals with the new key.
		otherLead := in.captureWith(in.openStore(), "s2", "other@example.com")
		db := in.database()
		if got := storedKey(t, db, otherLead); got != newID {
			t.Fatalf("the other process sealed with key %d, want the new %d", got, newID)
		}
		for id, email := range map[string]string{oldLead: "before@example.com", otherLead: "other@example.com"} {
			status, body := s.api(t, token, "GET", "/api/v1/leads/"+id, "")
			if status != 200 || !strings.Contains(string(body), email) {
				t.Errorf("GET lead %s after the rotation: %d %s", email, status, body)
			}
		}

		// The server takes up the new primary key on its own.
		primary := `"primary":` + strconv.FormatUint(uint64(newID), 10)
		waitFor(t, 20*time.Second, "the server to load the new keys", func() bool {
			return strings.Contains(s.logs.String(), primary)
		})
		newLead := s.capture(t, lead("s3", "after@example.com", nil))
		if got := storedKey(t, db, newLead); got != newID {
			t.Errorf("a lead the server took after it loaded the new keys is sealed with key %d, want %d", got, newID)
		}
		if got := storedKey(t, db, oldLead); got != oldID {
			t.Errorf("the lead from before the rotation is sealed with key %d, want the old %d (nothing is re-encrypted)", got, oldID)
		}
		if status, body := s.api(t, token, "GET", "/api/v1/leads/"+newLead, ""); status != 200 || !strings.Contains(string(body), "after@example.com") {
			t.Errorf("GET the lead sealed with the new key: %d %s", status, body)
		}

		// A broken key file is refused, logged, and the server keeps working.
		keyFile := filepath.Join(in.env["LEADCAP_DATA_DIR"], crypto.KeyFileName)
		good, err := os.ReadFile(keyFile)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(keyFile+".new", []byte("{"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(keyFile+".new", keyFile); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 20*time.Second, "the server to refuse the broken key file", func() bool {
			return strings.Contains(s.logs.String(), "key file refused")
		})
		if status, body := s.api(t, token, "GET", "/api/v1/leads/"+oldLead, ""); status != 200 || !strings.Contains(string(body), "before@example.com") {
			t.Errorf("GET a lead with the key file broken: %d %s", status, body)
		}
		if got := storedKey(t, db, s.capture(t, lead("s4", "broken@example.com", nil))); got != newID {
			t.Errorf("with the key file broken the server sealed with key %d, want %d", got, newID)
		}
		if err := os.WriteFile(keyFile, good, 0o600); err != nil {
			t.Fatal(err)
		}
	})
}

// storedKey returns the id of the key that sealed a stored lead.
func storedKey(t *testing.T, db *sql.DB, leadID string) uint32 {
	t.Helper()
	var data []byte
	if err := db.QueryRow(`SELECT data FROM leads WHERE id = $1`, leadID).Scan(&data); err != nil {
		t.Fatalf("lead %s: %v", leadID, err)
	}
	id, err := crypto.KeyID(data)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
