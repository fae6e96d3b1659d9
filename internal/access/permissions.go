// Package access says who may do what: the permissions, the one table from
// role to permissions, and the signed-in caller (Principal) that the server
// puts in each request's context, with its CSRF token for forms.
package access

import (
	"slices"

	"github.com/leadcap/leadcap"
)

// Permission names one thing a caller may do. Every route declares the one
// it needs.
type Permission string

// Permissions. Public, SignedIn, Self and Monitoring are not granted by
// role: Public needs no caller at all, SignedIn any signed-in caller (even
// one who must first change a temporary password or enrol in MFA), Self any
// caller in good standing acting on their own account, and Monitoring a
// client on an operator's network (see below).
const (
	Public   Permission = "public"
	SignedIn Permission = "signed-in"
	Self     Permission = "self"
	// Monitoring needs no user either: such a route answers only loopback
	// and the networks of LEADCAP_METRICS_ALLOW, with the bearer token
	// LEADCAP_METRICS_TOKEN when one is set (Prometheus scrapes it).
	Monitoring Permission = "monitoring"

	LeadsRead        Permission = "leads:read"
	LeadsWrite       Permission = "leads:write" // notes, ratings, tags; trusted lead sources
	LeadsDelete      Permission = "leads:delete"
	LeadsRectify     Permission = "leads:rectify" // correct a lead's fields (audited)
	LeadsExport      Permission = "leads:export"
	ConferencesRead  Permission = "conferences:read"
	ConferencesWrite Permission = "conferences:write"
	UsersManage      Permission = "users:manage"
	AuditRead        Permission = "audit:read"
	SettingsManage   Permission = "settings:manage"
	ShieldManage     Permission = "shield:manage"
	AlarmsRead       Permission = "alarms:read" // the built-in alarms and their history
)

// roleTable is the one table from role to permissions.
func roleTable() map[leadcap.Role][]Permission {
	return map[leadcap.Role][]Permission{
		leadcap.RoleAdmin: {LeadsRead, LeadsWrite, LeadsDelete, LeadsExport, ConferencesRead, ConferencesWrite,
			UsersManage, AuditRead, SettingsManage, ShieldManage, AlarmsRead, LeadsRectify},
		leadcap.RoleStaff:  {LeadsRead, LeadsWrite, ConferencesRead, ConferencesWrite},
		leadcap.RoleViewer: {LeadsRead, ConferencesRead},
	}
}

// RolePermissions returns the permissions role grants, beyond SignedIn and
// Self which every role has.
func RolePermissions(role leadcap.Role) []Permission {
	return slices.Clone(roleTable()[role])
}

// Grantable returns the permissions an admin may grant to a user on top of
// their role. Managing users, settings and the shield is not among them:
// whoever needs those should be an admin.
func Grantable() []Permission {
	return []Permission{LeadsRead, LeadsWrite, LeadsDelete, LeadsExport, ConferencesRead, ConferencesWrite, AuditRead, AlarmsRead, LeadsRectify}
}

// All returns every permission, in a stable order.
func All() []Permission {
	return append([]Permission{Public, SignedIn, Self, Monitoring}, roleTable()[leadcap.RoleAdmin]...)
}

// Known reports whether p is one of All.
func Known(p Permission) bool { return slices.Contains(All(), p) }

// CheckGrants returns an EINVALID error naming the field when a permission
// in perms is unknown or not grantable.
func CheckGrants(field string, perms []string) error {
	for _, p := range perms {
		if !slices.Contains(Grantable(), Permission(p)) {
			return leadcap.FieldErrors(map[string]string{field: "cannot grant " + quote(p) + "; grantable: " + grantableList()})
		}
	}
	return nil
}

func grantableList() string {
	s := ""
	for i, p := range Grantable() {
		if i > 0 {
			s += ", "
		}
		s += string(p)
	}
	return s
}

func quote(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return `"` + s + `"`
}

// Of returns the permissions of u: its role's, those granted to it, and
// SignedIn and Self. It is the caller's business to cut them down while
// the user must change a password or enrol in MFA (see Principal).
func Of(u *leadcap.User) []Permission {
	out := append([]Permission{SignedIn, Self}, roleTable()[u.Role]...)
	for _, p := range u.Permissions {
		if pp := Permission(p); slices.Contains(Grantable(), pp) && !slices.Contains(out, pp) {
			out = append(out, pp)
		}
	}
	return out
}
