package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/blob"
	"github.com/leadcap/leadcap/internal/capture"
	"github.com/leadcap/leadcap/internal/crypto"
	"github.com/leadcap/leadcap/internal/export"
	"github.com/leadcap/leadcap/internal/identity"
	"github.com/leadcap/leadcap/internal/intake"
	"github.com/leadcap/leadcap/internal/metrics"
	"github.com/leadcap/leadcap/internal/ratelimit"
	"github.com/leadcap/leadcap/internal/server"
	"github.com/leadcap/leadcap/internal/shield"
	"github.com/leadcap/leadcap/internal/store"
	"github.com/leadcap/leadcap/internal/store/storetest"
)

// testServer is leadcap's HTTP surface on loopback over a real database.
type testServer struct {
	*httptest.Server
	store  *store.Store
	ident  *identity.Service
	clock  *clock
	forms  *shield.Forms
	shield *shield.Shield
	// exports stores exports in a temporary object directory.
	exports *export.Service
	blob    *blob.Dir // the object store: QR codes, raw copies
}

func newTestServer(t testing.TB, dsn string, opts ...func(*identity.Options)) *testServer {
	t.Helper()
	return newTestServerWith(t, dsn, setup{identity: opts})
}

// setup changes the parts of a test server from their defaults.
type setup struct {
	identity []func(*identity.Options)
	shield   func(*shield.Options)     // after the defaults: loopback trusted, 600 leads per IP
	forms    func(*shield.FormOptions) // after the defaults: every defence on
	log      io.Writer                 // the server's JSON log; default discarded
	listen   string                    // address to listen on; default 127.0.0.1:0
	tls      bool
	deps     func(*server.Deps) // last changes to the server's dependencies
	// clock, when set, is the clock of the store and the capture path too
	// (else they run on real time): leads are stored when it says.
	clock *clock
}

// newClockServer is newTestServer whose store and capture path run on the
// test clock too, set to start.
func newClockServer(t testing.TB, dsn string, start time.Time) *testServer {
	t.Helper()
	return newTestServerWith(t, dsn, setup{clock: &clock{t: start}})
}

func newTestServerWith(t testing.TB, dsn string, su setup) *testServer {
	t.Helper()
	ctx := context.Background()
	keys, _, err := crypto.LoadOrCreate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sopts := store.Options{Sealer: keys, Merge: intake.MergeLead}
	var captureNow func() time.Time
	clk := su.clock
	if clk != nil {
		sopts.Now, captureNow = clk.now, clk.now
	} else {
		clk = newClock()
	}
	st, err := store.Open(ctx, dsn, sopts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	o := identity.Options{Store: st, Keys: keys, Now: clk.now}
	for _, f := range su.identity {
		f(&o)
	}
	ident := identity.New(o)
	logTo := su.log
	if logTo == nil {
		logTo = io.Discard
	}
	log := slog.New(slog.NewJSONHandler(logTo, nil))
	// Loopback is a trusted proxy, so tests choose client IPs with
	// X-Forwarded-For.
	m := metrics.New(leadcap.Version, clk.now)
	so := shield.Options{Store: st, Log: log, Metrics: m, Now: clk.now, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		LeadsPerIP: ratelimit.Config{Burst: 600, Every: 50 * time.Millisecond}}
	if su.shield != nil {
		su.shield(&so)
	}
	guard, err := shield.New(ctx, so)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { guard.Run(runCtx); close(done) }()
	t.Cleanup(func() { stop(); <-done; guard.Close() })
	fo := shield.FormOptions{Keys: keys, Store: st, Shield: guard, Now: clk.now, Defences: shield.DefaultDefences()}
	if su.forms != nil {
		su.forms(&fo)
	}
	forms := shield.NewForms(fo)
	objects, err := blob.OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { objects.Close() })
	exports := export.NewService(ctx, export.Config{Store: st, Blob: objects, Keys: keys, Auditor: export.StoreAuditor{Store: st},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), TempDir: t.TempDir(), Now: clk.now})
	t.Cleanup(exports.Wait)
	d := server.Deps{
		Store:          st,
		Capture:        capture.New(st, captureNow).WithForms(forms),
		Blob:           objects,
		Exports:        exports,
		Log:            log,
		MaxBodyBytes:   64 << 10,
		Identity:       ident,
		Now:            clk.now,
		TrustedProxies: so.TrustedProxies,
		Shield:         guard,
		Forms:          forms,
		Metrics:        m,
		// The clients' networks may read /metrics.
		MetricsAllow: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
	}
	if su.deps != nil {
		su.deps(&d)
	}
	ts := httptest.NewUnstartedServer(server.New(d))
	if su.listen != "" {
		ln, err := net.Listen("tcp", su.listen)
		if err != nil {
			t.Skipf("cannot listen on %s: %v", su.listen, err)
		}
		ts.Listener.Close()
		ts.Listener = ln
	}
	if su.tls {
		ts.StartTLS()
	} else {
		ts.Start()
	}
	t.Cleanup(ts.Close)
	return &testServer{Server: ts, store: st, ident: ident, clock: clk, forms: forms, shield: guard, exports: exports, blob: objects}
}

// formToken fetches a render token for the conference's form, as the
// booth form does, and lets the minimum fill time pass on the clock.
func (ts *testServer) formToken(t testing.TB, slug string) string {
	t.Helper()
	res, err := http.Get(ts.URL + "/api/v1/conferences/" + slug + "/form-token")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var tok shield.FormToken
	if err := json.NewDecoder(res.Body).Decode(&tok); err != nil || res.StatusCode != 200 || tok.RenderToken == "" {
		t.Fatalf("form token for %s: %d %v", slug, res.StatusCode, err)
	}
	ts.clock.add(shield.DefaultMinFillTime)
	return tok.RenderToken
}

// mustConference creates a conference with a question of each type.
func (ts *testServer) mustConference(t *testing.T, slug, status string) *leadcap.Conference {
	t.Helper()
	lo, hi := 0.0, 1e6
	c := &leadcap.Conference{Slug: slug, Name: "Expo " + slug, Country: "BZ", Status: status,
		Interests: []leadcap.Choice{{Value: "diving"}, {Value: "fishing"}},
		Questions: []leadcap.Question{
			{ID: "role", Type: leadcap.QuestionText, Label: "Your role"},
			{ID: "size", Type: leadcap.QuestionSingle, Label: "Group size", Required: true,
				Choices: []leadcap.Choice{{Value: "solo"}, {Value: "small"}, {Value: "large"}}},
			{ID: "trips", Type: leadcap.QuestionMulti, Label: "Trips", Choices: []leadcap.Choice{{Value: "reef"}, {Value: "jungle"}}},
			{ID: "budget", Type: leadcap.QuestionNumber, Label: "Budget", Min: &lo, Max: &hi},
			{ID: "when", Type: leadcap.QuestionDate, Label: "Travel date"},
		},
		Consent: leadcap.ConsentText{Text: "We may contact you."}}
	c.Consent.Hash = intake.ConsentHash(c.Consent.Text, nil)
	if err := intake.ValidateConference(c); err != nil {
		t.Fatal(err)
	}
	if err := ts.store.CreateConference(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return c
}

type response struct {
	status int
	body   map[string]any
	raw    string
}

func (ts *testServer) post(t *testing.T, contentType, body string) response {
	t.Helper()
	res, err := http.Post(ts.URL+"/api/v1/leads", contentType, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	r := response{status: res.StatusCode, raw: string(b)}
	json.Unmarshal(b, &r.body)
	return r
}

// lead returns a valid submission as a JSON object, changed by edits.
func lead(edits map[string]any) string {
	m := map[string]any{
		"conference": "expo", "submission_id": "sub-1", "first_name": "Ana", "last_name": "Díaz",
		"email": "ana@example.com", "phone": "622 3456", "company": "Acme", "job_title": "Buyer",
		"country": "BZ", "interests": []string{"diving"},
		"answers": map[string]any{"role": "CTO", "size": "small", "trips": []string{"reef"}, "budget": 2500, "when": "2027-05-01"},
		"notes":   "Met at the booth", "consent": map[string]any{"contact": true, "marketing": false},
	}
	for k, v := range edits {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, _ := json.Marshal(m)
	return string(b)
}

const jsonType = "application/json"

func TestCreateLeadScenarios(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ts := newTestServer(t, dsn)
		ts.mustConference(t, "expo", leadcap.StatusOpen)
		ts.mustConference(t, "closed-expo", leadcap.StatusClosed)
		ts.mustConference(t, "draft-expo", leadcap.StatusDraft)
		// Real submissions carry the render token the form was given.
		tok := ts.formToken(t, "expo")
		signed := func(edits map[string]any) string {
			e := map[string]any{"render_token": tok}
			maps.Copy(e, edits)
			return lead(e)
		}

		deep := strings.Repeat(`{"a":`, 40) + "1" + strings.Repeat("}", 40)
		tests := []struct {
			name        string
			contentType string
			body        string
			status      int
			code        string
			field       string // a field the error must name
		}{
			{"new lead", jsonType, signed(nil), 201, "", ""},
			{"replay answers the first answer", jsonType, signed(map[string]any{"company": "Changed"}), 201, "", ""},
			{"same email merges", jsonType, signed(map[string]any{"submission_id": "sub-2", "email": "ANA@EXAMPLE.COM", "interests": []string{"fishing"}}), 200, "", ""},
			{"form encoded", "application/x-www-form-urlencoded", "conference=expo&submission_id=form-1&first_name=Bo&last_name=Li&email=bo%40example.com&answers.size=solo&consent_contact=on&render_token=" + url.QueryEscape(tok), 201, "", ""},
			{"unknown conference", jsonType, signed(map[string]any{"conference": "nope", "submission_id": "s3"}), 404, leadcap.ENOTFOUND, ""},
			{"closed conference", jsonType, signed(map[string]any{"conference": "closed-expo", "submission_id": "s4"}), 409, leadcap.ECONFLICT, ""},
			{"draft conference", jsonType, signed(map[string]any{"conference": "draft-expo", "submission_id": "s5"}), 409, leadcap.ECONFLICT, ""},
			{"missing conference", jsonType, signed(map[string]any{"conference": nil}), 422, leadcap.EINVALID, "conference"},
			{"bad email", jsonType, signed(map[string]any{"submission_id": "s6", "email": "not-an-email"}), 422, leadcap.EINVALID, "email"},
			{"missing email", jsonType, signed(map[string]any{"submission_id": "s6", "email": nil}), 422, leadcap.EINVALID, "email"},
			{"bad phone", jsonType, signed(map[string]any{"submission_id": "s6", "phone": "12"}), 422, leadcap.EINVALID, "phone"},
			{"bad country", jsonType, signed(map[string]any{"submission_id": "s6", "country": "XX"}), 422, leadcap.EINVALID, "country"},
			{"long name", jsonType, signed(map[string]any{"submission_id": "s6", "first_name": strings.Repeat("a", 101)}), 422, leadcap.EINVALID, "first_name"},
			{"control char in name", jsonType, signed(map[string]any{"submission_id": "s6", "last_name": "Dí\u0007az"}), 422, leadcap.EINVALID, "last_name"},
			{"bidi override in company", jsonType, signed(map[string]any{"submission_id": "s6", "company": "Acme\u202egnp.exe"}), 422, leadcap.EINVALID, "company"},
			{"newline in job title", jsonType, signed(map[string]any{"submission_id": "s6", "job_title": "a\nb"}), 422, leadcap.EINVALID, "job_title"},
			{"interest not offered", jsonType, signed(map[string]any{"submission_id": "s6", "interests": []string{"golf"}}), 422, leadcap.EINVALID, "interests"},
			{"required answer missing", jsonType, signed(map[string]any{"submission_id": "s6", "answers": map[string]any{"role": "x"}}), 422, leadcap.EINVALID, "answers.size"},
			{"choice not offered", jsonType, signed(map[string]any{"submission_id": "s6", "answers": map[string]any{"size": "huge"}}), 422, leadcap.EINVALID, "answers.size"},
			{"multi not offered", jsonType, signed(map[string]any{"submission_id": "s6", "answers": map[string]any{"size": "solo", "trips": []string{"moon"}}}), 422, leadcap.EINVALID, "answers.trips"},
			{"number out of range", jsonType, signed(map[string]any{"submission_id": "s6", "answers": map[string]any{"size": "solo", "budget": -5}}), 422, leadcap.EINVALID, "answers.budget"},
			{"bad date", jsonType, signed(map[string]any{"submission_id": "s6", "answers": map[string]any{"size": "solo", "when": "2027-02-30"}}), 422, leadcap.EINVALID, "answers.when"},
			{"unknown question", jsonType, signed(map[string]any{"submission_id": "s6", "answers": map[string]any{"size": "solo", "ghost": "x"}}), 422, leadcap.EINVALID, "answers.ghost"},
			{"consent not given", jsonType, signed(map[string]any{"submission_id": "s6", "consent": map[string]any{"contact": false}}), 422, leadcap.EINVALID, "consent.contact"},
			{"stale consent version", jsonType, signed(map[string]any{"submission_id": "s6", "consent": map[string]any{"contact": true, "version": 7}}), 422, leadcap.EINVALID, "consent.version"},
			{"public staff source", jsonType, signed(map[string]any{"submission_id": "s6", "source": "staff"}), 422, leadcap.EINVALID, "source"},
			{"missing submission id", jsonType, signed(map[string]any{"submission_id": nil}), 422, leadcap.EINVALID, "submission_id"},
			{"oversize body", jsonType, signed(map[string]any{"notes": strings.Repeat("x", 70<<10)}), 413, leadcap.ETOOLARGE, ""},
			{"text/plain", "text/plain", signed(nil), 415, leadcap.EUNSUPPORTED, ""},
			{"no content type", "", signed(nil), 415, leadcap.EUNSUPPORTED, ""},
			{"invalid UTF-8", jsonType, `{"conference":"expo","first_name":"` + "\xff\xfe" + `"}`, 400, leadcap.EBADREQUEST, ""},
			{"NUL byte", jsonType, `{"conference":"expo","first_name":"a` + "\x00" + `b"}`, 400, leadcap.EBADREQUEST, ""},
			{"escaped NUL", jsonType, signed(map[string]any{"submission_id": "s6", "first_name": "a\u0000b"}), 400, leadcap.EBADREQUEST, "first_name"},
			{"deep nesting", jsonType, `{"answers":` + deep + `}`, 400, leadcap.EBADREQUEST, ""},
			{"duplicate key", jsonType, `{"conference":"expo","email":"a@example.com","email":"b@example.com"}`, 400, leadcap.EBADREQUEST, ""},
			{"duplicate nested key", jsonType, `{"conference":"expo","consent":{"contact":true,"contact":false}}`, 400, leadcap.EBADREQUEST, ""},
			{"unknown field", jsonType, signed(map[string]any{"is_admin": true}), 400, leadcap.EBADREQUEST, ""},
			{"number as name", jsonType, signed(map[string]any{"first_name": 5}), 400, leadcap.EBADREQUEST, "first_name"},
			{"string as interests", jsonType, signed(map[string]any{"interests": "diving"}), 400, leadcap.EBADREQUEST, "interests"},
			{"string as consent", jsonType, signed(map[string]any{"consent": "yes"}), 400, leadcap.EBADREQUEST, "consent"},
			{"object as answer", jsonType, signed(map[string]any{"submission_id": "s6", "answers": map[string]any{"size": map[string]any{"x": 1}}}), 400, leadcap.EBADREQUEST, ""},
			{"array body", jsonType, `[` + signed(nil) + `]`, 400, leadcap.EBADREQUEST, ""},
			{"null body", jsonType, `null`, 400, leadcap.EBADREQUEST, ""},
			{"empty body", jsonType, ``, 400, leadcap.EBADREQUEST, ""},
			{"trailing data", jsonType, signed(nil) + `{}`, 400, leadcap.EBADREQUEST, ""},
			{"truncated JSON", jsonType, `{"conference":"expo",`, 400, leadcap.EBADREQUEST, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := ts.post(t, tt.contentType, tt.body)
				if r.status != tt.status {
					t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.raw)
				}
				if tt.code == "" {
					if r.body["id"] == "" || r.body["status"] == nil {
						t.Fatalf("body %s", r.raw)
					}
					return
				}
				e, _ := r.body["error"].(map[string]any)
				if e == nil || e["code"] != tt.code || e["message"] == "" {
					t.Fatalf("error body %s, want code %s", r.raw, tt.code)
				}
				if tt.field != "" {
					fields, _ := e["fields"].(map[string]any)
					if fields[tt.field] == nil {
						t.Fatalf("error does not name field %q: %s", tt.field, r.raw)
					}
				}
			})
		}

		// Three accepted submissions, two leads: ana (merged) and bo.
		ctx := context.Background()
		leads, _, err := ts.store.Leads(ctx, store.LeadFilter{})
		if err != nil || len(leads) != 2 {
			t.Fatalf("stored %d leads, %v; want 2", len(leads), err)
		}
		ana := leads[0]
		// The newer spelling of the same address wins the merge.
		if ana.Email != "ANA@example.com" || ana.Phone != "+5016223456" || ana.Company != "Acme" ||
			strings.Join(ana.Interests, ",") != "diving,fishing" || ana.Answers["size"] != "small" || ana.Answers["budget"] != 2500.0 {
			t.Fatalf("ana: %+v", ana)
		}
		full, _ := ts.store.Lead(ctx, ana.ID)
		if len(full.History) != 2 {
			t.Fatalf("ana's history: %+v", full.History)
		}
		if ana.Consent.IP != "127.0.0.1" || !ana.Consent.Contact || ana.Consent.Version != 1 {
			t.Fatalf("consent record: %+v", ana.Consent)
		}
	})
}

func TestHealth(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ts := newTestServer(t, dsn)
		for _, path := range []string{"/healthz", "/readyz"} {
			res, err := http.Get(ts.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 200 {
				t.Fatalf("%s: %d %s", path, res.StatusCode, b)
			}
		}
		res, _ := http.Get(ts.URL + "/api/v1/nothing")
		if res.StatusCode != 404 || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("unknown API route: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
		}
		res.Body.Close()
	})
}
