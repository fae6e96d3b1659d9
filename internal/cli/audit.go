package cli

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/leadcap/leadcap/internal/store"
)

const auditUsage = `audit list|verify [flags]

  list [--actor EMAIL] [--user EMAIL] [--action auth] [--target T] [--result failure]
       [--since 2027-03-01T00:00:00Z] [--until ...] [--limit 100]
  verify      checks every record's hash and link; reports the first broken link`

func runAudit(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "audit", auditUsage)
	c := addCommon(fs)
	actorEmail := fs.String("actor", "", "only records by this user (email or id)")
	userEmail := fs.String("user", "", "only records about this user (email or id)")
	action := fs.String("action", "", "only this action and those under it (auth matches auth.login)")
	target := fs.String("target", "", "only records about this target, e.g. user:ID")
	result := fs.String("result", "", "only success, failure or denied")
	since := fs.String("since", "", "only records at or after this time (RFC 3339)")
	until := fs.String("until", "", "only records before this time (RFC 3339)")
	limit := fs.Int("limit", 100, "most records to show, newest first")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || (pos[0] != "list" && pos[0] != "verify") {
		fs.Usage()
		return errUsage
	}
	cfg, err := c.load(env)
	if err != nil {
		return err
	}
	st, err := openMigrated(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()

	if pos[0] == "verify" {
		return verifyAudit(ctx, env, st, c.json)
	}
	f := store.AuditFilter{Action: *action, Target: *target, Result: *result, Limit: *limit}
	if *actorEmail != "" {
		u, err := st.User(ctx, *actorEmail)
		if err != nil {
			return err
		}
		f.ActorID = u.ID
	}
	if *userEmail != "" {
		u, err := st.User(ctx, *userEmail)
		if err != nil {
			return err
		}
		f.Target = "user:" + u.ID
	}
	for _, tf := range []struct {
		flag string
		v    string
		dst  *time.Time
	}{{"since", *since, &f.Since}, {"until", *until, &f.Until}} {
		if tf.v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, tf.v)
		if err != nil {
			return fmt.Errorf("audit list: --%s: want a time like 2027-03-01T09:00:00Z, got %q", tf.flag, tf.v)
		}
		*tf.dst = t
	}
	events, _, err := st.AuditEvents(ctx, f)
	if err != nil {
		return err
	}
	return printAuditEvents(env, c.json, events)
}

// verifyAudit checks the whole trail, showing progress on stderr, and
// fails when a link is broken.
func verifyAudit(ctx context.Context, env *Env, st *store.Store, asJSON bool) error {
	start := time.Now()
	rep, err := st.VerifyAudit(ctx, func(n int64) { fmt.Fprintf(env.Stderr, "checked %d records...\n", n) })
	if err != nil {
		return err
	}
	if asJSON {
		if err := printJSON(env.Stdout, rep); err != nil {
			return err
		}
	} else if rep.Broken == nil {
		fmt.Fprintf(env.Stdout, "audit trail intact: %d records checked in %s, head at record %d\n",
			rep.Records, time.Since(start).Round(time.Millisecond), rep.Head)
	} else {
		fmt.Fprintf(env.Stdout, "audit trail BROKEN at record %d: %s\n%d records checked\n", rep.Broken.Seq, rep.Broken.Reason, rep.Records)
	}
	if rep.Broken != nil {
		return errors.New("audit verify: the audit trail has been tampered with")
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
