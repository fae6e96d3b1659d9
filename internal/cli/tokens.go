package cli

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/identity"
)

const tokensUsage = `tokens create|list|revoke [ID] [flags]

  create --email E --name N [--expires 30d]   (prints the token once: send it as "Authorization: Bearer lct_...")
  list [--email E]
  revoke ID`

func runTokens(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "tokens", tokensUsage)
	c := addCommon(fs)
	email := fs.String("email", "", "the user the token acts as (create; filters list)")
	name := fs.String("name", "", "what the token is for, e.g. crm-sync (create)")
	expires := fs.String("expires", "90d", "lifetime, like 30d or 12h, up to 366d (create)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		fs.Usage()
		return errUsage
	}
	verb, rest := pos[0], pos[1:]
	switch {
	case verb != "create" && verb != "list" && verb != "revoke":
		return fmt.Errorf("tokens: unknown verb %q (want create, list or revoke)", verb)
	case verb == "revoke" && len(rest) != 1:
		return fmt.Errorf("tokens revoke: want the token's id (see tokens list)")
	case verb != "revoke" && len(rest) != 0:
		return fmt.Errorf("tokens %s: unexpected argument %q", verb, rest[0])
	case verb == "create" && *email == "":
		return fmt.Errorf("tokens create: --email is required")
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

	switch verb {
	case "create":
		ttl, err := identity.ParseTTL(*expires)
		if err != nil {
			return err
		}
		u, err := ident.User(ctx, *email)
		if err != nil {
			return err
		}
		secret, t, err := ident.CreateToken(ctx, identity.CLI(), u.ID, *name, ttl)
		if err != nil {
			return err
		}
		if c.json {
			return printJSON(env.Stdout, map[string]any{"token": secret, "info": t})
		}
		fmt.Fprintf(env.Stdout, "token %s (%s) for %s, expires %s\n%s\n", t.ID, t.Name, u.Email, t.ExpiresAt.Format(time.RFC3339), secret)
		fmt.Fprintln(env.Stdout, "It is shown only once: send it as \"Authorization: Bearer <token>\".")
		return nil
	case "list":
		userID := ""
		if *email != "" {
			u, err := ident.User(ctx, *email)
			if err != nil {
				return err
			}
			userID = u.ID
		}
		list, err := ident.Tokens(ctx, userID)
		if err != nil {
			return err
		}
		if c.json {
			return printJSON(env.Stdout, list)
		}
		emails := map[string]string{}
		users, err := ident.Users(ctx)
		if err != nil {
			return err
		}
		for _, u := range users {
			emails[u.ID] = u.Email
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tUSER\tNAME\tSTATE\tEXPIRES\tLAST USED")
		now := time.Now()
		for _, t := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, emails[t.UserID], t.Name, tokenState(t, now), when(t.ExpiresAt), when(t.LastUsedAt))
		}
		tw.Flush()
		fmt.Fprintf(env.Stdout, "%d tokens\n", len(list))
		return nil
	}
	t, err := ident.RevokeToken(ctx, identity.CLI(), "", rest[0])
	if err != nil {
		return err
	}
	if c.json {
		return printJSON(env.Stdout, t)
	}
	fmt.Fprintf(env.Stdout, "token %s (%s) revoked\n", t.ID, t.Name)
	return nil
}

func tokenState(t *leadcap.Token, now time.Time) string {
	switch {
	case !t.RevokedAt.IsZero():
		return "revoked"
	case !now.Before(t.ExpiresAt):
		return "expired"
	}
	return "active"
}
