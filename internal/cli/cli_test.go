package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/cli"
	"github.com/leadcap/leadcap/internal/store/storetest"
)

// leadcapRun runs the CLI as the binary would, with env as its whole
// environment, and returns stdout, stderr and the error.
func leadcapRun(t *testing.T, env map[string]string, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := cli.Run(context.Background(), args, &cli.Env{
		Getenv: func(k string) string { return env[k] },
		Stdin:  strings.NewReader(""), Stdout: &stdout, Stderr: &stderr,
	})
	return stdout.String(), stderr.String(), err
}

// mustRun is leadcapRun that fails the test on error.
func mustRun(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	out, errOut, err := leadcapRun(t, env, args...)
	if err != nil {
		t.Fatalf("leadcap %s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// backendEnv returns the environment that points the CLI at a fresh
// database of the backend.
func backendEnv(t *testing.T, dsn string) map[string]string {
	env := map[string]string{"LEADCAP_DATA_DIR": t.TempDir()}
	if strings.HasPrefix(dsn, "postgres") {
		env["LEADCAP_DATABASE_URL"] = dsn
	}
	return env
}

func TestConferencesCommands(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		env := backendEnv(t, dsn)
		questions := filepath.Join(t.TempDir(), "questions.json")
		os.WriteFile(questions, []byte(`[{"id":"size","type":"single","label":"Group size","required":true,
			"choices":[{"value":"solo"},{"value":"group"}]},{"id":"budget","type":"number","label":"Budget","min":0}]`), 0o600)

		out := mustRun(t, env, "conferences", "create", "--slug", "belize-expo", "--name", "Belize Expo",
			"--country", "bz", "--start", "2027-03-01", "--end", "2027-03-03", "--questions", questions,
			"--interests", "diving, fishing")
		if !strings.Contains(out, "conference belize-expo created") || !strings.Contains(out, "draft") {
			t.Fatalf("create:\n%s", out)
		}
		mustRun(t, env, "conferences", "open", "belize-expo")
		var c leadcap.Conference
		if err := json.Unmarshal([]byte(mustRun(t, env, "conferences", "show", "belize-expo", "--json")), &c); err != nil {
			t.Fatal(err)
		}
		if c.Status != "open" || c.Country != "BZ" || len(c.Questions) != 2 || len(c.Interests) != 2 || c.Consent.Version != 1 {
			t.Fatalf("show --json: %+v", c)
		}
		// A new consent text makes version 2; the name changes in place.
		mustRun(t, env, "conferences", "update", "belize-expo", "--name", "Belize Expo 2027", "--consent-text", "We may call you.")
		json.Unmarshal([]byte(mustRun(t, env, "conferences", "show", "belize-expo", "--json")), &c)
		if c.Name != "Belize Expo 2027" || c.Consent.Version != 2 || c.Consent.Text != "We may call you." || c.Status != "open" {
			t.Fatalf("after update: %+v", c)
		}
		mustRun(t, env, "conferences", "close", "belize-expo")
		list := mustRun(t, env, "conferences", "list")
		if !strings.Contains(list, "belize-expo") || !strings.Contains(list, "closed") || !strings.Contains(list, "1 conferences") {
			t.Fatalf("list:\n%s", list)
		}
		var all []leadcap.Conference
		if err := json.Unmarshal([]byte(mustRun(t, env, "conferences", "list", "--json")), &all); err != nil || len(all) != 1 {
			t.Fatalf("list --json: %v %v", all, err)
		}

		// Bad input is refused with a message naming what is wrong, and
		// nothing stored changes.
		for _, tt := range []struct {
			args []string
			want string
		}{
			{[]string{"conferences", "create", "--slug", "belize-expo", "--name", "Again"}, "exists"},
			{[]string{"conferences", "create", "--slug", "Bad Slug!", "--name", "X"}, "slug"},
			{[]string{"conferences", "create", "--slug", "no-name"}, "name"},
			{[]string{"conferences", "create", "--slug", "dates", "--name", "D", "--start", "2027-03-05", "--end", "2027-03-01"}, "end"},
			{[]string{"conferences", "create", "--slug", "tz", "--name", "T", "--time-zone", "Mars/Olympus"}, "time"},
			{[]string{"conferences", "create", "--slug", "q", "--name", "Q", "--questions", "/no/such.json"}, "questions"},
			{[]string{"conferences", "show", "nope"}, "not found"},
			{[]string{"conferences", "open"}, "slug"},
			{[]string{"conferences", "frobnicate"}, "unknown verb"},
		} {
			_, stderr, err := leadcapRun(t, env, tt.args...)
			if err == nil || !strings.Contains(strings.ToLower(err.Error()+stderr), tt.want) {
				t.Errorf("leadcap %s: %v %s, want an error about %q", strings.Join(tt.args, " "), err, stderr, tt.want)
			}
		}
		json.Unmarshal([]byte(mustRun(t, env, "conferences", "show", "belize-expo", "--json")), &c)
		if c.Name != "Belize Expo 2027" || c.Status != "closed" {
			t.Fatalf("stored conference changed by refused commands: %+v", c)
		}
	})
}

func TestMigrateVersionConfig(t *testing.T) {
	env := map[string]string{"LEADCAP_DATA_DIR": t.TempDir()}
	if out := mustRun(t, env, "migrate"); !strings.Contains(out, "applied 0001_init.sql") {
		t.Fatalf("migrate:\n%s", out)
	}
	if out := mustRun(t, env, "migrate"); !strings.Contains(out, "0 migrations applied") {
		t.Fatalf("migrate again:\n%s", out)
	}
	if out := mustRun(t, env, "version"); !strings.HasPrefix(out, "leadcap ") {
		t.Fatalf("version: %s", out)
	}
	env["LEADCAP_DATABASE_URL"] = "postgres://u:hunter2@db.internal/leads"
	out := mustRun(t, env, "config")
	if strings.Contains(out, "hunter2") || !strings.Contains(out, "LEADCAP_DATABASE_URL=postgres://REDACTED@db.internal/leads") {
		t.Fatalf("config does not redact:\n%s", out)
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(mustRun(t, env, "config", "--json")), &m); err != nil || m["LEADCAP_LISTEN"] != ":8080" {
		t.Fatalf("config --json: %v %v", m, err)
	}
	if _, _, err := leadcapRun(t, map[string]string{"LEADCAP_LOG_FORMAT": "xml"}, "config"); err == nil || !strings.Contains(err.Error(), "LEADCAP_LOG_FORMAT") {
		t.Fatalf("bad setting: %v", err)
	}
	if _, _, err := leadcapRun(t, nil, "nope"); err == nil || cli.ExitCode(err) != 1 {
		t.Fatalf("unknown command: %v", err)
	}
}
