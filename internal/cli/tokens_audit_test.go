package cli_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/cli"
	"github.com/leadcap/leadcap/internal/store"
	"github.com/leadcap/leadcap/internal/store/storetest"
)

func TestTokensCommands(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		op := newOperator(t, dsn)
		ctx := context.Background()
		op.must("users", "create", "--email", "crm@example.com", "--role", "staff")
		out := op.must("tokens", "create", "--email", "crm@example.com", "--name", "crm sync", "--expires", "30d")
		lines := strings.Split(out, "\n")
		secret := lines[1]
		if !strings.HasPrefix(secret, "lct_") || !strings.Contains(lines[0], "(crm sync) for crm@example.com") {
			t.Fatalf("create:\n%s", out)
		}
		_, ident := op.service()
		p, err := ident.Authenticate(ctx, secret, "")
		if err != nil || p.User.Email != "crm@example.com" {
			t.Fatalf("the printed token does not authenticate: %v", err)
		}
		var toks []leadcap.Token
		op.mustJSON(&toks, "tokens", "list", "--email", "crm@example.com")
		if len(toks) != 1 || toks[0].Name != "crm sync" {
			t.Fatalf("list: %+v", toks)
		}
		if out = op.must("tokens", "list"); !strings.Contains(out, "crm@example.com") || !strings.Contains(out, "active") || strings.Contains(out, secret) {
			t.Fatalf("list:\n%s", out)
		}
		if out = op.must("tokens", "revoke", toks[0].ID); !strings.Contains(out, "revoked") {
			t.Fatalf("revoke:\n%s", out)
		}
		if _, err := ident.Authenticate(ctx, secret, ""); leadcap.ErrorCode(err) != leadcap.EUNAUTHORIZED {
			t.Fatalf("revoked token still works: %v", err)
		}
		if out = op.must("tokens", "list"); !strings.Contains(out, "revoked") {
			t.Fatalf("list after revoke:\n%s", out)
		}
		for _, bad := range [][]string{
			{"tokens", "create", "--name", "x"},
			{"tokens", "create", "--email", "crm@example.com", "--name", "x", "--expires", "2y"},
			{"tokens", "create", "--email", "crm@example.com"},
			{"tokens", "revoke"},
			{"tokens", "revoke", "no-such-token"},
		} {
			if _, _, err := op.run(bad...); err == nil {
				t.Fatalf("%v: no error", bad)
			}
		}
	})
}

func TestAuditCommands(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		op := newOperator(t, dsn)
		ctx := context.Background()
		for _, email := range []string{"a@example.com", "b@example.com", "c@example.com"} {
			op.must("users", "create", "--email", email, "--role", "viewer")
		}
		op.must("users", "disable", "b@example.com")
		out := op.must("audit", "list", "--action", "user.update")
		if !strings.Contains(out, "status=active -> disabled") || !strings.Contains(out, "1 events") {
			t.Fatalf("audit list --action:\n%s", out)
		}
		var evs []leadcap.AuditEvent
		op.mustJSON(&evs, "audit", "list", "--user", "a@example.com")
		if len(evs) != 1 || evs[0].Action != "user.create" || evs[0].Actor != "cli" {
			t.Fatalf("audit list --user: %+v", evs)
		}
		if _, _, err := op.run("audit", "list", "--since", "yesterday"); err == nil {
			t.Fatal("bad --since accepted")
		}
		if out = op.must("audit", "verify"); !strings.Contains(out, "intact: 4 records") {
			t.Fatalf("verify:\n%s", out)
		}

		// Tamper with the database directly, as an intruder would.
		st, _ := op.service()
		drop := []string{`DROP TRIGGER audit_log_no_update`, `DROP TRIGGER audit_log_no_delete`}
		if st.Dialect() == store.Postgres {
			drop = []string{`DROP TRIGGER audit_log_no_change ON audit_log`}
		}
		for _, q := range drop {
			if err := st.ExecForTest(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.ExecForTest(ctx, `UPDATE audit_log SET actor = 'someone else' WHERE seq = 2`); err != nil {
			t.Fatal(err)
		}
		out, _, err := op.run("audit", "verify")
		if err == nil || cli.ExitCode(err) != 1 || !strings.Contains(out, "BROKEN at record 2") {
			t.Fatalf("verify after a change: %v\n%s", err, out)
		}
		// Put it back (recompute nothing) and delete another record instead.
		if err := st.ExecForTest(ctx, `UPDATE audit_log SET actor = 'cli' WHERE seq = 2`); err != nil {
			t.Fatal(err)
		}
		if out = op.must("audit", "verify"); !strings.Contains(out, "intact") {
			t.Fatalf("verify after restoring:\n%s", out)
		}
		if err := st.ExecForTest(ctx, `DELETE FROM audit_log WHERE seq = 3`); err != nil {
			t.Fatal(err)
		}
		out, _, err = op.run("audit", "verify", "--json")
		var rep store.AuditReport
		json.Unmarshal([]byte(out), &rep)
		if err == nil || rep.Broken == nil || rep.Broken.Seq != 3 || !strings.Contains(rep.Broken.Reason, "missing") {
			t.Fatalf("verify after a deletion: %v\n%s", err, out)
		}
	})
}
