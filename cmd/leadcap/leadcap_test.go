package main_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/leadcap/leadcap/internal/blob"
	"github.com/leadcap/leadcap/internal/crypto"
	"github.com/leadcap/leadcap/internal/shield"
	"github.com/leadcap/leadcap/internal/store"
	_ "modernc.org/sqlite"
)

// binary is the leadcap program built once for these tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "leadcap-e2e")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "leadcap")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build leadcap: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// leadcapCmd runs a CLI command in dir and returns its output.
func leadcapCmd(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Env = cleanEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("leadcap %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// cleanEnv is the environment without LEADCAP_ settings of the caller's.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LEADCAP_") {
			env = append(env, kv)
		}
	}
	return env
}

// server is a running `leadcap serve` child process.
type server struct {
	cmd  *exec.Cmd
	url  string
	logs *bytes.Buffer
	mu   *sync.Mutex
	done chan error
}

// startServer starts `leadcap serve` in dir on a free port and waits until
// it listens.
func startServer(t *testing.T, dir string, env ...string) *server {
	t.Helper()
	cmd := exec.Command(binary, "serve", "--listen", "127.0.0.1:0")
	cmd.Dir = dir
	cmd.Env = append(cleanEnv(), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, logs: &bytes.Buffer{}, mu: &sync.Mutex{}, done: make(chan error, 1)}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.logs.WriteString(line + "\n")
			s.mu.Unlock()
			var entry struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal([]byte(line), &entry) == nil && entry.Msg == "leadcap listening" {
				addr <- entry.Addr
			}
		}
		s.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-s.done
		}
	})
	select {
	case a := <-addr:
		s.url = "http://" + a
	case err := <-s.done:
		t.Fatalf("leadcap serve exited: %v\n%s", err, s.Logs())
	case <-time.After(20 * time.Second):
		t.Fatalf("leadcap serve did not start:\n%s", s.Logs())
	}
	return s
}

func (s *server) Logs() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.String()
}

func submit(client *http.Client, url, body string) (int, string, error) {
	res, err := client.Post(url+"/api/v1/leads", "application/json", strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, "", err
	}
	var r struct {
		ID string `json:"id"`
	}
	json.Unmarshal(b, &r)
	return res.StatusCode, r.ID, nil
}

// leadJSON is a lead submission with the render token of its form.
func leadJSON(slug, token, sub, email, phone string) string {
	return fmt.Sprintf(`{"conference":%q,"submission_id":%q,"first_name":"Quintessa","last_name":"Marlowe",`+
		`"email":%q,"phone":%q,"company":"Acme","consent":{"contact":true},"render_token":%q}`, slug, sub, email, phone, token)
}

// formToken gets a render token for the conference's form as the booth
// form does, waiting up to five seconds for the conference to open, and
// then waits out the minimum fill time, as a visitor typing would.
func formToken(t *testing.T, url, slug string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		res, err := http.Get(url + "/api/v1/conferences/" + slug + "/form-token")
		if err != nil {
			t.Fatal(err)
		}
		var tok struct {
			RenderToken string `json:"render_token"`
		}
		json.NewDecoder(res.Body).Decode(&tok)
		res.Body.Close()
		if res.StatusCode == 200 && tok.RenderToken != "" {
			time.Sleep(shield.DefaultMinFillTime)
			return tok.RenderToken
		}
		if time.Now().After(deadline) {
			t.Fatalf("form token for %s: %d", slug, res.StatusCode)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// mustNotBeSpam checks that the shield took a lead for a real one.
func mustNotBeSpam(t *testing.T, st *store.Store, id string) {
	t.Helper()
	l, err := st.Lead(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if l.Spam {
		t.Fatalf("lead %s quarantined as spam: %s", id, l.SpamReason)
	}
}

func setupConference(t *testing.T, dir string) {
	leadcapCmd(t, dir, "conferences", "create", "--slug", "belize-expo", "--name", "Belize Expo",
		"--country", "BZ", "--start", "2027-03-01", "--end", "2027-03-03")
	leadcapCmd(t, dir, "conferences", "open", "belize-expo")
}

// TestServeFreshMachine follows the README: a fresh directory, a conference
// made with the CLI, a lead by HTTP, a clean stop on SIGTERM.
func TestServeFreshMachine(t *testing.T) {
	dir := t.TempDir()
	setupConference(t, dir)
	if out := leadcapCmd(t, dir, "conferences", "list"); !strings.Contains(out, "belize-expo") || !strings.Contains(out, "open") {
		t.Fatalf("conferences list:\n%s", out)
	}
	s := startServer(t, dir)
	status, id, err := submit(http.DefaultClient, s.url, leadJSON("belize-expo", formToken(t, s.url, "belize-expo"), "e2e-1", "ana@example.com", "622 3456"))
	if err != nil || status != 201 || id == "" {
		t.Fatalf("submit: %d %q %v\n%s", status, id, err, s.Logs())
	}
	mustNotBeSpam(t, openData(t, dir), id)
	// The CLI works on the same data while the server runs; the server
	// sees the change within its one-second conference cache.
	leadcapCmd(t, dir, "conferences", "create", "--name", "Second Expo", "--country", "US")
	leadcapCmd(t, dir, "conferences", "open", "second-expo")
	second := formToken(t, s.url, "second-expo")
	deadline := time.Now().Add(5 * time.Second)
	for {
		status, _, err = submit(http.DefaultClient, s.url, leadJSON("second-expo", second, "e2e-2", "bo@example.com", "+1 415 555 2671"))
		if err == nil && status == 201 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lead for a conference opened while serving: %d %v", status, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	res, err := http.Get(s.url + "/readyz")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("readyz: %v %v", res, err)
	}
	res.Body.Close()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		if err != nil {
			t.Fatalf("serve exit after SIGTERM: %v\n%s", err, s.Logs())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop on SIGTERM")
	}
	if !strings.Contains(s.Logs(), `"msg":"stopped"`) {
		t.Fatalf("no clean stop in logs:\n%s", s.Logs())
	}
	// The configuration and version commands work on the same directory.
	if out := leadcapCmd(t, dir, "config"); !strings.Contains(out, "LEADCAP_DATA_DIR=./data") {
		t.Fatalf("config:\n%s", out)
	}
}

// openData opens the data directory's database as an operator's tool would.
func openData(t *testing.T, dir string) *store.Store {
	t.Helper()
	keys, err := crypto.Load(filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), filepath.Join(dir, "data", "leadcap.db"), store.Options{Sealer: keys})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestCrashKeepsAcknowledgedLeads kills the server with SIGKILL under
// concurrent load; every lead that got a 2xx must survive, readable, in a
// database that passes integrity_check.
func TestCrashKeepsAcknowledgedLeads(t *testing.T) {
	dir := t.TempDir()
	setupConference(t, dir)
	// Raw copies the killed server had claimed wait out its lease before
	// the restarted one takes them: a short lease keeps the test short.
	const lease = "LEADCAP_OUTBOX_LEASE=2s"
	s := startServer(t, dir, lease)
	token := formToken(t, s.url, "belize-expo")

	var mu sync.Mutex
	acked := map[string]string{} // lead id -> email
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	for w := range 32 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				email := fmt.Sprintf("w%d.n%d@example.com", w, i)
				status, id, err := submit(client, s.url, leadJSON("belize-expo", token, fmt.Sprintf("crash-%d-%d", w, i), email, ""))
				if err != nil {
					return // the server is gone
				}
				if status/100 == 2 {
					mu.Lock()
					acked[id] = email
					mu.Unlock()
				}
			}
		})
	}
	time.Sleep(1500 * time.Millisecond)
	s.cmd.Process.Kill() // SIGKILL: no shutdown, no flush
	<-s.done
	close(stop)
	wg.Wait()
	if len(acked) < 100 {
		t.Fatalf("only %d leads acknowledged before the kill; the load did not run", len(acked))
	}

	// Restart on the same data: recovery, then every acknowledged lead.
	s2 := startServer(t, dir, lease)
	st := openData(t, dir)
	ctx := context.Background()
	rawKeys := map[string]bool{}
	for id, email := range acked {
		l, err := st.Lead(ctx, id)
		if err != nil {
			t.Fatalf("acknowledged lead %s lost after SIGKILL: %v", id, err)
		}
		if l.Email != email || l.Spam {
			t.Fatalf("lead %s: email %q spam %v, want %q and no spam", id, l.Email, l.Spam, email)
		}
		rawKeys[store.RawObjectKey(l.ConferenceID, id)] = true
	}
	// The raw copies the outbox had not written when the server died (it
	// defers them during a burst) are written by the restarted server.
	objects, err := blob.OpenDir(filepath.Join(dir, "data", "objects"))
	if err != nil {
		t.Fatal(err)
	}
	defer objects.Close()
	deadline := time.Now().Add(60 * time.Second)
	for key := range rawKeys {
		for {
			if _, err := objects.Versions(ctx, key); err == nil {
				break
			} else if !errors.Is(err, blob.ErrNotFound) {
				t.Fatal(err)
			}
			if time.Now().After(deadline) {
				pending, _, _ := st.OutboxStats(ctx)
				t.Fatalf("raw copy %s missing 60 s after the restart (%d copies pending)", key, pending)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "data", "leadcap.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var check string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check: %q %v", check, err)
	}
	t.Logf("%d acknowledged leads all present after SIGKILL, each with its raw copy", len(acked))
	// The restarted server takes leads again.
	if status, _, err := submit(http.DefaultClient, s2.url, leadJSON("belize-expo", token, "after-crash", "after@example.com", "")); err != nil || status != 201 {
		t.Fatalf("after restart: %d %v", status, err)
	}
}

// TestNoPlaintextInDataDir submits leads with known emails and phones, lets
// the outbox copy them to the object store, exports them through the API,
// and greps every file under the data directory for them.
func TestNoPlaintextInDataDir(t *testing.T) {
	dir := t.TempDir()
	setupConference(t, dir)
	s := startServer(t, dir)
	render := formToken(t, s.url, "belize-expo")
	var secrets []string
	for i := range 25 {
		email := fmt.Sprintf("zanzibar.person%d@plaintext-check.example", i)
		phone := fmt.Sprintf("+50162234%02d", i)
		secrets = append(secrets, email, phone, strings.TrimPrefix(phone, "+501"))
		if status, _, err := submit(http.DefaultClient, s.url, leadJSON("belize-expo", render, fmt.Sprint("plain-", i), email, phone)); err != nil || status != 201 {
			t.Fatalf("submit %d: %d %v", i, status, err)
		}
	}
	secrets = append(secrets, "Quintessa", "Marlowe", "plaintext-check")
	// Wait until the outbox has copied every raw submission.
	st := openData(t, dir)
	deadline := time.Now().Add(15 * time.Second)
	for {
		n, _, err := st.OutboxStats(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox still holds %d items", n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Stored exports are sealed too, and an XLSX workbook leaves nothing
	// behind in the data directory's tmp/; the download is in clear. A
	// staff user allowed to export, with a chosen password, exports with a
	// token from the CLI (an admin would first need MFA).
	leadcapCmd(t, dir, "users", "create", "--email", "exporter@example.com", "--role", "staff", "--permissions", "leads:export")
	exporter, err := st.User(context.Background(), "exporter@example.com")
	if err != nil {
		t.Fatal(err)
	}
	hash, _ := crypto.HashPassword("river stone lantern e2e")
	if err := st.SetPassword(context.Background(), exporter.ID, hash, false, time.Time{}); err != nil {
		t.Fatal(err)
	}
	token := regexp.MustCompile(`lct_[A-Za-z0-9_-]+`).FindString(leadcapCmd(t, dir, "tokens", "create", "--email", "exporter@example.com", "--name", "e2e"))
	for _, format := range []string{"xlsx", "csv"} {
		req, _ := http.NewRequest("POST", s.url+"/api/v1/exports", strings.NewReader(`{"format":"`+format+`"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var answer struct {
			Rows int64  `json:"rows"`
			URL  string `json:"url"`
		}
		json.NewDecoder(res.Body).Decode(&answer)
		res.Body.Close()
		if res.StatusCode != 201 || answer.Rows != 25 {
			t.Fatalf("export %s: %d %+v\n%s", format, res.StatusCode, answer, s.Logs())
		}
		dl, err := http.Get(s.url + answer.URL)
		if err != nil {
			t.Fatal(err)
		}
		file, _ := io.ReadAll(dl.Body)
		dl.Body.Close()
		if format == "csv" && !bytes.Contains(file, []byte(secrets[0])) {
			t.Fatalf("downloaded export lacks %q: %d %s", secrets[0], dl.StatusCode, file)
		}
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	<-s.done
	if out := leadcapCmd(t, dir, "audit", "list"); !strings.Contains(out, "export.download") || !strings.Contains(out, "export.create") {
		t.Fatalf("no audit events for the exports:\n%s", out)
	}
	files := 0
	rawObjects := 0
	err = filepath.Walk(filepath.Join(dir, "data"), func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		files++
		if strings.Contains(path, "/raw/") {
			rawObjects++
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, secret := range secrets {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("%s contains %q in clear text", path, secret)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if rawObjects < 25 {
		t.Fatalf("only %d raw objects in the object store, want 25", rawObjects)
	}
	t.Logf("checked %d files, %d raw objects", files, rawObjects)
}

// TestFirstAdmin starts leadcap on a fresh directory: it creates the first
// admin and prints its temporary password once, on the terminal and never
// in the JSON log; the password signs in only to be changed.
func TestFirstAdmin(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	var temp string
	for _, line := range strings.Split(s.Logs(), "\n") {
		if strings.HasPrefix(line, "{") {
			continue
		}
		if _, after, ok := strings.Cut(line, "temporary password: "); ok {
			temp = strings.TrimSpace(after)
		}
	}
	if len(temp) < 12 {
		t.Fatalf("no temporary password printed:\n%s", s.Logs())
	}
	for _, line := range strings.Split(s.Logs(), "\n") {
		if strings.HasPrefix(line, "{") && strings.Contains(line, temp) {
			t.Fatalf("the temporary password is in the log: %s", line)
		}
	}
	res, err := http.Post(s.url+"/api/v1/auth/login", "application/json",
		strings.NewReader(`{"email":"admin@localhost","password":"`+temp+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(b), `"password_change_required":true`) {
		t.Fatalf("login with the first admin's password: %d %s", res.StatusCode, b)
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	<-s.done
	// A second start creates nobody and prints no password.
	s2 := startServer(t, dir)
	if strings.Contains(s2.Logs(), "temporary password") {
		t.Fatalf("second start printed a password:\n%s", s2.Logs())
	}
	if out := leadcapCmd(t, dir, "users", "list"); !strings.Contains(out, "admin@localhost") || !strings.Contains(out, "1 users") {
		t.Fatalf("users list:\n%s", out)
	}
}

// TestErrorsNameWhatWasWrong runs commands that fail on bad input and
// reads what the binary prints: the message once, each bad field on a line
// of its own, exit code 1.
func TestErrorsNameWhatWasWrong(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"conferences", "create", "--slug", "expo", "--name", "Expo", "--country", "XX", "--start", "2027-01-02", "--end", "2027-01-01"},
			"leadcap: some fields are not valid\n  country: is not a valid ISO 3166-1 country code\n  end_date: must not be before the start date\n"},
		{[]string{"conferences", "show", "nope"}, "leadcap: conference \"nope\" not found\n"},
	} {
		cmd := exec.Command(binary, append(tt.args, "--data-dir", filepath.Join(dir, "data"))...)
		cmd.Dir = dir
		cmd.Env = cleanEnv()
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 || stderr.String() != tt.want {
			t.Errorf("leadcap %s: %v, stderr:\n%s\nwant:\n%s", strings.Join(tt.args, " "), err, stderr.String(), tt.want)
		}
	}
}
