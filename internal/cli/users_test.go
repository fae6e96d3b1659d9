package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/access"
	"github.com/leadcap/leadcap/internal/cli"
	"github.com/leadcap/leadcap/internal/crypto"
	"github.com/leadcap/leadcap/internal/identity"
	"github.com/leadcap/leadcap/internal/store"
	"github.com/leadcap/leadcap/internal/store/storetest"
	"github.com/pquerna/otp/totp"
	"time"
)

// operator runs leadcap commands on one data directory and database.
type operator struct {
	t   *testing.T
	env map[string]string
	dir string
}

func newOperator(t *testing.T, dsn string) *operator {
	dir := t.TempDir()
	env := map[string]string{"LEADCAP_DATA_DIR": dir}
	if strings.HasPrefix(dsn, "postgres") {
		env["LEADCAP_DATABASE_URL"] = dsn
	}
	return &operator{t: t, env: env, dir: dir}
}

// run runs a command and returns stdout, stderr and the error.
func (o *operator) run(args ...string) (string, string, error) {
	var out, errOut bytes.Buffer
	err := cli.Run(context.Background(), args, &cli.Env{Getenv: func(k string) string { return o.env[k] },
		Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut})
	return out.String(), errOut.String(), err
}

func (o *operator) must(args ...string) string {
	o.t.Helper()
	out, errOut, err := o.run(args...)
	if err != nil {
		o.t.Fatalf("leadcap %s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

func (o *operator) mustJSON(v any, args ...string) {
	o.t.Helper()
	out := o.must(append(args, "--json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		o.t.Fatalf("leadcap %s: not JSON: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// service opens the same database as the commands, as a running server would.
func (o *operator) service() (*store.Store, *identity.Service) {
	o.t.Helper()
	keys, _, err := crypto.LoadOrCreate(o.dir)
	if err != nil {
		o.t.Fatal(err)
	}
	dsn := o.env["LEADCAP_DATABASE_URL"]
	if dsn == "" {
		dsn = filepath.Join(o.dir, "leadcap.db")
	}
	st, err := store.Open(context.Background(), dsn, store.Options{Sealer: keys})
	if err != nil {
		o.t.Fatal(err)
	}
	o.t.Cleanup(func() { st.Close() })
	return st, identity.New(identity.Options{Store: st, Keys: keys})
}

type created struct {
	User     leadcap.User `json:"user"`
	Password string       `json:"temporary_password"`
}

func TestUsersCommands(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		op := newOperator(t, dsn)
		ctx := context.Background()

		// create
		out := op.must("users", "create", "--email", "Ana@Example.com", "--role", "staff", "--name", "Ana Díaz")
		if !strings.Contains(out, "user ana@example.com created (staff)") || !strings.Contains(out, "temporary password: ") {
			t.Fatalf("create:\n%s", out)
		}
		var admin created
		op.mustJSON(&admin, "users", "create", "--email", "boss@example.com", "--role", "admin")
		if admin.User.Role != leadcap.RoleAdmin || !admin.User.MustChangePassword || len(admin.Password) < 12 {
			t.Fatalf("create --json: %+v", admin)
		}
		var exporter created
		op.mustJSON(&exporter, "users", "create", "--email", "ex@example.com", "--role", "staff", "--permissions", "leads:export")
		if strings.Join(exporter.User.Permissions, ",") != "leads:export" {
			t.Fatalf("granted permissions: %v", exporter.User.Permissions)
		}
		for _, bad := range [][]string{
			{"users", "create", "--email", "ana@example.com", "--role", "staff"},   // taken
			{"users", "create", "--email", "nope", "--role", "staff"},              // bad email
			{"users", "create", "--email", "c@example.com", "--role", "superuser"}, // bad role
			{"users", "create", "--email", "c@example.com", "--role", "staff", "--permissions", "users:manage"},
		} {
			if _, _, err := op.run(bad...); err == nil || cli.ExitCode(err) != 1 {
				t.Fatalf("%v: %v, want an error", bad, err)
			}
		}
		// The temporary password works, and only to change it.
		_, ident := op.service()
		res, err := ident.Login(ctx, identity.Actor{ClientIP: "10.0.0.1"}, "ana@example.com", "", "")
		if err == nil {
			t.Fatal("empty password accepted")
		}
		var ana created
		op.mustJSON(&ana.User, "users", "show", "ana@example.com")
		out = op.must("users", "reset-password", "ana@example.com")
		temp := strings.TrimSpace(strings.SplitN(strings.SplitN(out, "temporary password: ", 2)[1], "\n", 2)[0])
		res, err = ident.Login(ctx, identity.Actor{ClientIP: "10.0.0.1"}, "ana@example.com", temp, "")
		if err != nil || res.Restriction != "password_change_required" {
			t.Fatalf("login with the reset password: %+v %v", res, err)
		}

		// list
		out = op.must("users", "list")
		for _, want := range []string{"ana@example.com", "Ana Díaz", "boss@example.com", "staff +leads:export", "3 users"} {
			if !strings.Contains(out, want) {
				t.Fatalf("list lacks %q:\n%s", want, out)
			}
		}
		var list []leadcap.User
		op.mustJSON(&list, "users", "list")
		if len(list) != 3 {
			t.Fatalf("list --json: %d users", len(list))
		}

		// show
		if out = op.must("users", "show", "ANA@example.com"); !strings.Contains(out, "role          staff") || !strings.Contains(out, "temporary, expires") {
			t.Fatalf("show:\n%s", out)
		}
		if _, _, err := op.run("users", "show", "ghost@example.com"); err == nil || !strings.Contains(err.Error(), "not found") {
			t.Fatalf("show unknown: %v", err)
		}

		// disable ends sessions and tokens; enable lets the user in again.
		sess, err := ident.ChangePassword(ctx, identity.Actor{}, principal(t, ident, res.SessionToken), temp, "tall palm trees sway")
		if err != nil {
			t.Fatal(err)
		}
		tok, _, err := ident.CreateToken(ctx, identity.CLI(), ana.User.ID, "sync", 0)
		if err != nil {
			t.Fatal(err)
		}
		var u leadcap.User
		op.mustJSON(&u, "users", "disable", "ana@example.com")
		if u.Status != leadcap.UserDisabled {
			t.Fatalf("disable: %+v", u)
		}
		if _, err := ident.Authenticate(ctx, "", sess.SessionToken); leadcap.ErrorCode(err) != leadcap.EUNAUTHORIZED {
			t.Fatalf("session after disable: %v", err)
		}
		if _, err := ident.Authenticate(ctx, tok, ""); leadcap.ErrorCode(err) != leadcap.EUNAUTHORIZED {
			t.Fatalf("token after disable: %v", err)
		}
		if out = op.must("users", "enable", "ana@example.com"); !strings.Contains(out, "user ana@example.com enabled") {
			t.Fatalf("enable:\n%s", out)
		}
		if _, err := ident.Login(ctx, identity.Actor{ClientIP: "10.0.0.1"}, "ana@example.com", "tall palm trees sway", ""); err != nil {
			t.Fatalf("login after enable: %v", err)
		}

		// set-role, with and without grants.
		op.mustJSON(&u, "users", "set-role", "ana@example.com", "viewer")
		if u.Role != leadcap.RoleViewer {
			t.Fatalf("set-role: %+v", u)
		}
		op.mustJSON(&u, "users", "set-role", "ana@example.com", "staff", "--permissions", "leads:export,leads:delete")
		if u.Role != leadcap.RoleStaff || strings.Join(u.Permissions, ",") != "leads:delete,leads:export" {
			t.Fatalf("set-role with grants: %+v", u)
		}
		if _, _, err := op.run("users", "set-role", "boss@example.com", "staff"); err == nil || !strings.Contains(err.Error(), "last active admin") {
			t.Fatalf("demote the last admin: %v", err)
		}

		// mfa-reset
		e, err := ident.EnrolMFA(ctx, ana.User.ID)
		if err != nil {
			t.Fatal(err)
		}
		code, _ := totp.GenerateCode(e.Secret, time.Now())
		if _, err := ident.ConfirmMFA(ctx, identity.CLI(), ana.User.ID, code); err != nil {
			t.Fatal(err)
		}
		if op.mustJSON(&u, "users", "show", "ana@example.com"); !u.MFAEnabled {
			t.Fatal("MFA did not turn on")
		}
		if out = op.must("users", "mfa-reset", "ana@example.com"); !strings.Contains(out, "MFA turned off") || !strings.Contains(out, "mfa           off") {
			t.Fatalf("mfa-reset:\n%s", out)
		}

		// auth-events
		ident.Login(ctx, identity.Actor{ClientIP: "10.0.0.9"}, "ana@example.com", "a wrong password", "")
		out = op.must("users", "auth-events", "ana@example.com")
		for _, want := range []string{"auth.login", "failure", "10.0.0.9", "auth.mfa.enable", "auth.mfa.reset", "auth.password.reset", "auth.token.create"} {
			if !strings.Contains(out, want) {
				t.Fatalf("auth-events lacks %q:\n%s", want, out)
			}
		}
		var events []leadcap.AuditEvent
		op.mustJSON(&events, "users", "auth-events", "ana@example.com", "--limit", "2")
		if len(events) != 2 || events[0].Seq < events[1].Seq {
			t.Fatalf("auth-events --limit 2: %+v", events)
		}

		// delete
		if out = op.must("users", "delete", "ana@example.com"); !strings.Contains(out, "user ana@example.com deleted") {
			t.Fatalf("delete:\n%s", out)
		}
		if _, _, err := op.run("users", "show", "ana@example.com"); err == nil {
			t.Fatal("deleted user still shown")
		}
		if _, _, err := op.run("users", "delete", "boss@example.com"); err == nil || !strings.Contains(err.Error(), "last active admin") {
			t.Fatalf("delete the last admin: %v", err)
		}

		// Usage errors.
		for _, bad := range [][]string{{"users"}, {"users", "frobnicate"}, {"users", "show"}, {"users", "list", "extra"}} {
			if _, _, err := op.run(bad...); err == nil {
				t.Fatalf("%v: no error", bad)
			}
		}
		// Every change above is in the audit trail, and the trail verifies.
		if out = op.must("audit", "verify"); !strings.Contains(out, "audit trail intact") {
			t.Fatalf("audit verify:\n%s", out)
		}
	})
}

// principal authenticates a session token.
func principal(t *testing.T, ident *identity.Service, token string) *access.Principal {
	t.Helper()
	p, err := ident.Authenticate(context.Background(), "", token)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
