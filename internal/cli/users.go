package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/identity"
)

const usersUsage = `users create|list|show|disable|enable|reset-password|set-role|delete|mfa-reset|auth-events [EMAIL] [flags]

  create --email E --role admin|staff|viewer [--name N] [--permissions leads:export,...]
         (prints a temporary password, shown once; it must be changed at first sign-in)
  list
  show EMAIL
  disable EMAIL | enable EMAIL        (disable ends sessions and revokes tokens at once)
  reset-password EMAIL                (prints a new temporary password; sessions end)
  set-role EMAIL ROLE [--permissions P,...]
  delete EMAIL
  mfa-reset EMAIL                     (turns MFA off for a user who lost their authenticator)
  auth-events EMAIL [--limit 60]      (sign-ins, MFA and password changes, tokens)`

func runUsers(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "users", usersUsage)
	c := addCommon(fs)
	email := fs.String("email", "", "email of the new user (create)")
	role := fs.String("role", "", "admin, staff or viewer (create, set-role)")
	name := fs.String("name", "", "display name (create)")
	perms := fs.String("permissions", "", "comma-separated permissions granted beyond the role, e.g. leads:export")
	limit := fs.Int("limit", 60, "most events to show (auth-events)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		fs.Usage()
		return errUsage
	}
	verb, rest := pos[0], pos[1:]
	want := map[string]int{"create": 0, "list": 0, "show": 1, "disable": 1, "enable": 1, "reset-password": 1,
		"set-role": 1, "delete": 1, "mfa-reset": 1, "auth-events": 1}
	n, ok := want[verb]
	if !ok {
		return fmt.Errorf("users: unknown verb %q (want create, list, show, disable, enable, reset-password, set-role, delete, mfa-reset or auth-events)", verb)
	}
	if verb == "set-role" && len(rest) == 2 && *role == "" {
		*role, rest = rest[1], rest[:1]
	}
	if len(rest) != n {
		if n == 0 {
			return fmt.Errorf("users %s: unexpected argument %q", verb, rest[0])
		}
		return fmt.Errorf("users %s: want the user's email", verb)
	}
	cfg, err := c.load(env)
	if err != nil {
		return err
	}
	st, ident, err := openIdentity(ctx, env, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	cli := identity.CLI()
	var permList *[]string
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "permissions" {
			list := splitList(*perms)
			permList = &list
		}
	})

	switch verb {
	case "create":
		in := identity.NewUser{Email: *email, Name: *name, Role: *role}
		if permList != nil {
			in.Permissions = *permList
		}
		u, temp, err := ident.CreateUser(ctx, cli, in)
		if err != nil {
			return err
		}
		return printTempPassword(env, c.json, u, temp, u.PasswordExpiresAt, "created")
	case "list":
		list, err := ident.Users(ctx)
		if err != nil {
			return err
		}
		if c.json {
			return printJSON(env.Stdout, list)
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "EMAIL\tNAME\tROLE\tSTATUS\tMFA\tLAST SIGN-IN")
		for _, u := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", u.Email, dash(u.Name), roleText(u), statusText(u), onOff(u.MFAEnabled), when(u.LastLoginAt))
		}
		tw.Flush()
		fmt.Fprintf(env.Stdout, "%d users\n", len(list))
		return nil
	}

	u, err := ident.User(ctx, rest[0])
	if err != nil {
		return err
	}
	switch verb {
	case "show":
		return printUser(env, c.json, u, "")
	case "disable", "enable":
		status := map[string]string{"disable": leadcap.UserDisabled, "enable": leadcap.UserActive}[verb]
		if u, err = ident.UpdateUser(ctx, cli, u.ID, identity.UserChange{Status: &status}); err != nil {
			return err
		}
		return printUser(env, c.json, u, verb+"d")
	case "set-role":
		if *role == "" {
			return errors.New("users set-role: give the role: users set-role EMAIL ROLE")
		}
		if u, err = ident.UpdateUser(ctx, cli, u.ID, identity.UserChange{Role: role, Permissions: permList}); err != nil {
			return err
		}
		return printUser(env, c.json, u, "updated")
	case "reset-password":
		temp, expires, err := ident.ResetPassword(ctx, cli, u.ID)
		if err != nil {
			return err
		}
		u.MustChangePassword, u.PasswordExpiresAt = true, expires
		return printTempPassword(env, c.json, u, temp, expires, "has a new temporary password")
	case "delete":
		if err := ident.DeleteUser(ctx, cli, u.ID); err != nil {
			return err
		}
		if c.json {
			return printJSON(env.Stdout, map[string]any{"deleted": u.Email, "id": u.ID})
		}
		fmt.Fprintf(env.Stdout, "user %s deleted\n", u.Email)
		return nil
	case "mfa-reset":
		if u, err = ident.ResetMFA(ctx, cli, u.ID); err != nil {
			return err
		}
		return printUser(env, c.json, u, "has MFA turned off")
	case "auth-events":
		events, _, err := ident.AuthEvents(ctx, u.ID, *limit, 0)
		if err != nil {
			return err
		}
		return printAuditEvents(env, c.json, events)
	}
	return nil
}

func splitList(s string) []string {
	out := []string{}
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func printTempPassword(env *Env, asJSON bool, u *leadcap.User, temp string, expires time.Time, did string) error {
	if asJSON {
		return printJSON(env.Stdout, map[string]any{"user": u, "temporary_password": temp, "temporary_password_expires_at": expires})
	}
	fmt.Fprintf(env.Stdout, "user %s %s (%s)\ntemporary password: %s\n", u.Email, did, u.Role, temp)
	fmt.Fprintf(env.Stdout, "It is shown only once, works only to choose a new password, and expires %s.\n", expires.Format(time.RFC3339))
	return nil
}

func printUser(env *Env, asJSON bool, u *leadcap.User, did string) error {
	if asJSON {
		return printJSON(env.Stdout, u)
	}
	if did != "" {
		fmt.Fprintf(env.Stdout, "user %s %s\n", u.Email, did)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "id\t%s\nemail\t%s\nname\t%s\nrole\t%s\nstatus\t%s\nmfa\t%s\n", u.ID, u.Email, dash(u.Name),
		roleText(u), statusText(u), onOff(u.MFAEnabled))
	pw := "set " + when(u.PasswordChangedAt)
	if u.MustChangePassword {
		pw = "temporary, expires " + when(u.PasswordExpiresAt)
	}
	fmt.Fprintf(tw, "password\t%s\nlast sign-in\t%s\ncreated\t%s\n", pw, when(u.LastLoginAt), when(u.CreatedAt))
	return tw.Flush()
}

func roleText(u *leadcap.User) string {
	if len(u.Permissions) == 0 {
		return string(u.Role)
	}
	return string(u.Role) + " +" + strings.Join(u.Permissions, ",")
}

func statusText(u *leadcap.User) string {
	if u.Status == leadcap.UserActive && u.MustChangePassword {
		return "active (temporary password)"
	}
	return u.Status
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func when(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

func printAuditEvents(env *Env, asJSON bool, events []*leadcap.AuditEvent) error {
	if asJSON {
		return printJSON(env.Stdout, events)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tTIME\tACTOR\tACTION\tTARGET\tRESULT\tIP\tDETAIL")
	for _, ev := range events {
		var detail []string
		for _, k := range sortedKeys(ev.Detail) {
			detail = append(detail, k+"="+ev.Detail[k])
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", ev.Seq, when(ev.At), ev.Actor, ev.Action, dash(ev.Target),
			ev.Result, dash(ev.ClientIP), strings.Join(detail, " "))
	}
	tw.Flush()
	fmt.Fprintf(env.Stdout, "%d events\n", len(events))
	return nil
}
