package access

import (
	"context"
	"strings"
	"testing"

	"github.com/leadcap/leadcap"
)

func TestRoleTable(t *testing.T) {
	tests := []struct {
		role  leadcap.Role
		perms []string
		can   []Permission
		not   []Permission
	}{
		{leadcap.RoleAdmin, nil, All(), nil},
		{leadcap.RoleStaff, nil,
			[]Permission{SignedIn, Self, LeadsRead, LeadsWrite, ConferencesRead, ConferencesWrite},
			[]Permission{LeadsExport, LeadsDelete, UsersManage, SettingsManage, AuditRead, ShieldManage}},
		{leadcap.RoleStaff, []string{"leads:export"},
			[]Permission{LeadsExport, LeadsWrite}, []Permission{LeadsDelete, UsersManage}},
		{leadcap.RoleViewer, nil,
			[]Permission{LeadsRead, ConferencesRead, Self},
			[]Permission{LeadsWrite, ConferencesWrite, LeadsExport, UsersManage}},
		// A grant that is not grantable (say, written into the database by
		// hand) does nothing.
		{leadcap.RoleViewer, []string{"users:manage"}, nil, []Permission{UsersManage}},
		{leadcap.Role("ghost"), nil, []Permission{SignedIn}, []Permission{LeadsRead}},
	}
	for _, tt := range tests {
		p := NewPrincipal(&leadcap.User{Role: tt.role, Permissions: tt.perms}, ViaSession, "")
		for _, perm := range tt.can {
			if !p.Can(perm) {
				t.Errorf("%s %v cannot %s", tt.role, tt.perms, perm)
			}
		}
		for _, perm := range tt.not {
			if p.Can(perm) {
				t.Errorf("%s %v can %s", tt.role, tt.perms, perm)
			}
		}
	}
}

func TestRestrictedPrincipal(t *testing.T) {
	p := NewPrincipal(&leadcap.User{Role: leadcap.RoleAdmin}, ViaSession, MustChangePassword)
	if !p.Can(SignedIn) || !p.Can(Public) || p.Can(Self) || p.Can(UsersManage) {
		t.Fatalf("restricted admin: %v", p.Permissions())
	}
	var anon *Principal
	if !anon.Can(Public) || anon.Can(SignedIn) {
		t.Fatal("anonymous")
	}
}

func TestCheckGrants(t *testing.T) {
	if err := CheckGrants("permissions", []string{"leads:export", "audit:read"}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"users:manage", "settings:manage", "self", "nonsense"} {
		err := CheckGrants("permissions", []string{bad})
		if leadcap.ErrorCode(err) != leadcap.EINVALID || !strings.Contains(leadcap.ErrorFields(err)["permissions"], bad) {
			t.Errorf("grant %q: %v", bad, err)
		}
	}
}

func TestCSRFInput(t *testing.T) {
	p := &Principal{CSRFToken: `a"b<c`}
	got := string(CSRFInput(WithPrincipal(context.Background(), p)))
	if got != `<input type="hidden" name="csrf_token" value="a&#34;b&lt;c">` {
		t.Fatalf("CSRFInput: %s", got)
	}
	if CSRFToken(context.Background()) != "" {
		t.Fatal("anonymous request has a CSRF token")
	}
}
