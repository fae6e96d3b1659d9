package cli_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/cli"
	"github.com/leadcap/leadcap/internal/crypto"
	"github.com/leadcap/leadcap/internal/metrics"
	"github.com/leadcap/leadcap/internal/shield"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	_ "modernc.org/sqlite" // the "sqlite" driver
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// instance is a leadcap data directory and its settings; serve runs the
// real serve command on it, in this process.
type instance struct {
	t      *testing.T
	dir    string
	env    map[string]string
	tokens map[string]string // render tokens by conference
}

// newInstance returns settings for a fresh data directory, on PostgreSQL
// when dsn is a postgres URL, with extra settings on top.
func newInstance(t *testing.T, dsn string, extra map[string]string) *instance {
	dir := t.TempDir()
	env := map[string]string{"LEADCAP_DATA_DIR": filepath.Join(dir, "data"), "LEADCAP_OUTBOX_INTERVAL": "50ms",
		"LEADCAP_ALARM_INTERVAL": "50ms", "LEADCAP_NODE_NAME": "node-a"}
	if strings.HasPrefix(dsn, "postgres") {
		env["LEADCAP_DATABASE_URL"] = dsn
	}
	for k, v := range extra {
		env[k] = v
	}
	return &instance{t: t, dir: dir, env: env}
}

func (in *instance) getenv(k string) string { return in.env[k] }

// run runs a leadcap command and returns its output and error.
func (in *instance) run(args ...string) (string, error) {
	var out syncBuffer
	err := cli.Run(context.Background(), args, &cli.Env{Getenv: in.getenv, Stdin: strings.NewReader(""), Stdout: &out, Stderr: &out})
	return out.String(), err
}

// must runs a leadcap command that must succeed.
func (in *instance) must(args ...string) string {
	in.t.Helper()
	out, err := in.run(args...)
	if err != nil {
		in.t.Fatalf("leadcap %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// openConference creates and opens the conference "expo".
func (in *instance) openConference() {
	in.t.Helper()
	in.must("conferences", "create", "--slug", "expo", "--name", "Expo", "--country", "BZ")
	in.must("conferences", "open", "expo")
}

// server is a running `leadcap serve`.
type server struct {
	url     string
	metrics *metrics.Metrics
	logs    *syncBuffer // standard output: the log
	stderr  *syncBuffer // messages for the operator (the first admin's password)
	stop    func() error
	in      *instance
}

func (in *instance) serve() *server {
	in.t.Helper()
	s := &server{logs: &syncBuffer{}, stderr: &syncBuffer{}, in: in}
	ready := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- cli.Run(ctx, []string{"serve", "--listen", "127.0.0.1:0"}, &cli.Env{
			Getenv: in.getenv, Stdin: strings.NewReader(""), Stdout: s.logs, Stderr: s.stderr,
			Ready:   func(addr string) { ready <- addr },
			Metrics: func(m *metrics.Metrics) { s.metrics = m },
		})
	}()
	select {
	case addr := <-ready:
		s.url = "http://" + addr
	case err := <-done:
		cancel()
		in.t.Fatalf("serve stopped: %v\n%s%s", err, s.logs, s.stderr)
	case <-time.After(20 * time.Second):
		cancel()
		in.t.Fatalf("serve did not start:\n%s", s.logs)
	}
	var once sync.Once
	var stopErr error
	s.stop = func() error {
		once.Do(func() { cancel(); stopErr = <-done })
		return stopErr
	}
	in.t.Cleanup(func() { s.stop() })
	return s
}

// lead is a valid submission to "expo" changed by edits (nil deletes).
func lead(sub, email string, edits map[string]any) string {
	m := map[string]any{"conference": "expo", "submission_id": sub, "first_name": "Ana", "last_name": "Díaz",
		"email": email, "consent": map[string]any{"contact": true}}
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

// post submits a lead and returns the status and body. A lead without a
// render token gets one for its conference, as the booth form carries.
func (s *server) post(t *testing.T, body string, headers ...string) (int, string) {
	t.Helper()
	body = s.in.withRenderToken(t, body)
	req, _ := http.NewRequest("POST", s.url+"/api/v1/leads", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// withRenderToken adds a render_token to a JSON lead that names a known
// conference and has none: one signed with the instance's keys, for a form
// rendered a minute ago, exactly as the server issues them (without asking
// the server, so that the tests' request counts stay as they are). The
// rest of the body is left byte for byte as it was.
func (in *instance) withRenderToken(t *testing.T, body string) string {
	t.Helper()
	var head struct {
		Conference string `json:"conference"`
	}
	if !strings.HasPrefix(body, "{") || strings.Contains(body, `"render_token"`) ||
		json.Unmarshal([]byte(body), &head) != nil || head.Conference == "" {
		return body
	}
	if in.tokens == nil {
		in.tokens = map[string]string{}
	}
	tok, ok := in.tokens[head.Conference]
	if !ok {
		var c leadcap.Conference
		if out, err := in.run("conferences", "show", head.Conference, "--json"); err == nil && json.Unmarshal([]byte(out), &c) == nil {
			keys, err := crypto.Load(in.env["LEADCAP_DATA_DIR"])
			if err != nil {
				t.Fatal(err)
			}
			rendered := time.Now().Add(-time.Minute)
			forms := shield.NewForms(shield.FormOptions{Keys: keys, Now: func() time.Time { return rendered },
				Defences: shield.DefaultDefences()})
			tok = forms.Token(&c).RenderToken
		}
		in.tokens[head.Conference] = tok
	}
	if tok == "" {
		return body
	}
	return `{"render_token":"` + tok + `",` + strings.TrimPrefix(body, "{")
}

// login tries to sign in and returns the status.
func (s *server) login(t *testing.T, email, password string) int {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"email": email, "password": password})
	res, err := http.Post(s.url+"/api/v1/auth/login", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// scrapeText fetches /metrics as text.
func (s *server) scrapeText(t *testing.T) string {
	t.Helper()
	res, err := http.Get(s.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("/metrics: %d %s", res.StatusCode, b)
	}
	return string(b)
}

// scrape fetches /metrics and parses it with the Prometheus text parser.
func (s *server) scrape(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(s.scrapeText(t)))
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// value sums the series of a family whose labels include want; a
// histogram counts its observations.
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	var sum float64
	for _, m := range fams[name].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		ok := true
		for k, v := range want {
			ok = ok && labels[k] == v
		}
		if !ok {
			continue
		}
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		}
	}
	return sum
}

// database opens the instance's database directly, as a tool that breaks
// it on purpose would.
func (in *instance) database() *sql.DB {
	in.t.Helper()
	var db *sql.DB
	var err error
	if url := in.env["LEADCAP_DATABASE_URL"]; url != "" {
		db, err = sql.Open("pgx", url)
	} else {
		db, err = sql.Open("sqlite", "file:"+filepath.Join(in.env["LEADCAP_DATA_DIR"], "leadcap.db")+"?_pragma=busy_timeout(10000)")
	}
	if err != nil {
		in.t.Fatal(err)
	}
	in.t.Cleanup(func() { db.Close() })
	return db
}

// breakCapture makes every lead capture fail inside its transaction, as a
// broken database would; the returned function repairs it.
func (in *instance) breakCapture() (repair func()) {
	in.t.Helper()
	db := in.database()
	stmts := []string{`CREATE TRIGGER fail_capture BEFORE INSERT ON submissions BEGIN SELECT RAISE(ABORT, 'the database refuses submissions'); END`}
	undo := []string{`DROP TRIGGER fail_capture`}
	if in.env["LEADCAP_DATABASE_URL"] != "" {
		stmts = []string{
			`CREATE FUNCTION fail_capture() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'the database refuses submissions'; END $$`,
			`CREATE TRIGGER fail_capture BEFORE INSERT ON submissions FOR EACH ROW EXECUTE FUNCTION fail_capture()`,
		}
		undo = []string{`DROP TRIGGER fail_capture ON submissions`, `DROP FUNCTION fail_capture()`}
	}
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			in.t.Fatalf("%s: %v", s, err)
		}
	}
	return func() {
		for _, s := range undo {
			if _, err := db.Exec(s); err != nil {
				in.t.Fatalf("%s: %v", s, err)
			}
		}
	}
}

// breakObjectStore makes every write to the object store fail: its
// directory of writes in progress becomes a file. The returned function
// repairs it.
func (in *instance) breakObjectStore() (repair func()) {
	in.t.Helper()
	tmp := filepath.Join(in.env["LEADCAP_DATA_DIR"], "objects", "tmp")
	if err := os.RemoveAll(tmp); err != nil {
		in.t.Fatal(err)
	}
	if err := os.WriteFile(tmp, []byte("not a directory"), 0o600); err != nil {
		in.t.Fatal(err)
	}
	return func() {
		if err := os.Remove(tmp); err != nil {
			in.t.Fatal(err)
		}
		if err := os.Mkdir(tmp, 0o700); err != nil {
			in.t.Fatal(err)
		}
	}
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}
