package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/identity"
	"github.com/leadcap/leadcap/internal/shield"
	"github.com/leadcap/leadcap/internal/store"
)

const shieldUsage = `shield block|allow|unblock|list|log|quarantine [TARGET...] [flags]

  block TARGET... [--note N] [--for 24h | --until TIME]
        TARGET is an IP address or a CIDR range, IPv4 or IPv6
  block --country RU,CN [--note N] [--for D]
  block --from FILE                   (one IP or CIDR a line; # starts a comment)
  allow TARGET... | --country CC      (allow rules win over block rules; a network
                                       allow rule also lifts the per-IP lead limit)
  unblock TARGET|ID... [--allow]      (removes the block rules of TARGET, or with
                                       --allow its allow rules; an ID removes that rule)
  list [--all]                        (--all: expired rules too)
  log [--since 1h] [--limit 50] [--follow]
                                      (the block record: refused requests per rule,
                                       client IP and second)
  quarantine [--conference SLUG] [--limit 50]
                                      (leads stored as suspected spam, with the reason)

A running server, and every server on a shared PostgreSQL, applies a rule
change within a second.`

func runShield(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "shield", shieldUsage)
	c := addCommon(fs)
	note := fs.String("note", "", "why the rule exists (block, allow)")
	forDur := fs.Duration("for", 0, "the rule expires after this long, e.g. 24h (block, allow)")
	until := fs.String("until", "", "the rule expires at this time, RFC 3339 (block, allow)")
	country := fs.String("country", "", "comma-separated ISO country codes instead of networks (block, allow)")
	from := fs.String("from", "", "file of IPs and CIDR ranges, one a line (block, allow)")
	allowRules := fs.Bool("allow", false, "remove allow rules instead of block rules (unblock)")
	all := fs.Bool("all", false, "list expired rules too (list)")
	since := fs.Duration("since", time.Hour, "show the block record of this long ago on (log)")
	limit := fs.Int("limit", 50, "most rows to show (log, quarantine)")
	follow := fs.Bool("follow", false, "keep printing new blocks until interrupted (log)")
	conference := fs.String("conference", "", "conference slug or id (quarantine)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		fs.Usage()
		return errUsage
	}
	verb, targets := pos[0], pos[1:]
	switch verb {
	case "block", "allow":
		if len(targets) == 0 && *country == "" && *from == "" {
			return fmt.Errorf("shield %s: give IP addresses or CIDR ranges, --country or --from", verb)
		}
	case "unblock":
		if len(targets) == 0 {
			return fmt.Errorf("shield unblock: give the rule's id, IP address, CIDR range or country")
		}
	case "list", "log", "quarantine":
		if len(targets) != 0 {
			return fmt.Errorf("shield %s: unexpected argument %q", verb, targets[0])
		}
	default:
		return fmt.Errorf("shield: unknown verb %q (want block, allow, unblock, list, log or quarantine)", verb)
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
	now := time.Now()

	switch verb {
	case "block", "allow":
		expires, err := expiry(now, *forDur, *until)
		if err != nil {
			return err
		}
		if *from != "" {
			more, err := readTargets(*from)
			if err != nil {
				return err
			}
			targets = append(targets, more...)
		}
		var rules []*leadcap.ShieldRule
		for _, t := range targets {
			rules = append(rules, &leadcap.ShieldRule{Action: verb, Network: t, Note: *note, ExpiresAt: expires})
		}
		for _, cc := range strings.Split(*country, ",") {
			if cc = strings.TrimSpace(cc); cc != "" {
				rules = append(rules, &leadcap.ShieldRule{Action: verb, Country: cc, Note: *note, ExpiresAt: expires})
			}
		}
		created, err := shield.AddRules(ctx, st, identity.CLI(), rules, now)
		if err != nil {
			return fmt.Errorf("shield %s: %w", verb, err)
		}
		if c.json {
			return printJSON(env.Stdout, rules)
		}
		if len(rules) <= 20 {
			printRules(env.Stdout, rules)
		}
		fmt.Fprintf(env.Stdout, "%d rules stored (%d new, %d replaced); running servers apply them within a second\n",
			len(rules), created, len(rules)-created)
		return nil
	case "unblock":
		return unblock(ctx, env, c.json, st, targets, *allowRules, now)
	case "list":
		rules, err := st.ShieldRules(ctx)
		if err != nil {
			return err
		}
		shown := []*leadcap.ShieldRule{}
		for _, r := range rules {
			if *all || r.Active(now) {
				shown = append(shown, r)
			}
		}
		if c.json {
			return printJSON(env.Stdout, shown)
		}
		printRules(env.Stdout, shown)
		fmt.Fprintf(env.Stdout, "%d rules\n", len(shown))
		return nil
	case "log":
		return blockLog(ctx, env, c.json, st, now.Add(-*since), *limit, *follow)
	}
	return quarantine(ctx, env, c.json, st, *conference, *limit)
}

// expiry returns when a rule given --for or --until expires (zero: never).
func expiry(now time.Time, d time.Duration, until string) (time.Time, error) {
	switch {
	case d != 0 && until != "":
		return time.Time{}, fmt.Errorf("give --for or --until, not both")
	case d < 0:
		return time.Time{}, fmt.Errorf("--for must be positive")
	case d > 0:
		return now.Add(d), nil
	case until != "":
		t, err := time.Parse(time.RFC3339, until)
		if err != nil {
			return time.Time{}, fmt.Errorf("--until: want a time like 2027-03-02T18:00:00Z, got %q", until)
		}
		return t, nil
	}
	return time.Time{}, nil
}

// readTargets reads one IP or CIDR range a line; blank lines and text
// after # are skipped.
func readTargets(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--from: %w", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		if _, err := shield.ParseNetwork(line); err != nil {
			return nil, fmt.Errorf("--from %s:%d: %w", path, n, err)
		}
		out = append(out, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("--from: %w", err)
	}
	return out, nil
}

func unblock(ctx context.Context, env *Env, asJSON bool, st *store.Store, targets []string, allowRules bool, now time.Time) error {
	rules, err := st.ShieldRules(ctx)
	if err != nil {
		return err
	}
	action := leadcap.ShieldBlock
	if allowRules {
		action = leadcap.ShieldAllow
	}
	var removed []*leadcap.ShieldRule
	for _, t := range targets {
		a := action
		if _, isID := parseID(t); isID {
			a = "" // an id names one rule, whatever its action
		}
		found, err := shield.FindRules(rules, t, a)
		if err != nil {
			return fmt.Errorf("shield unblock: %w", err)
		}
		if len(found) == 0 {
			return fmt.Errorf("shield unblock: no %s rule for %s", action, t)
		}
		for _, r := range found {
			gone, err := shield.RemoveRule(ctx, st, identity.CLI(), r.ID, now)
			if err != nil {
				return fmt.Errorf("shield unblock: %w", err)
			}
			removed = append(removed, gone)
		}
	}
	if asJSON {
		return printJSON(env.Stdout, removed)
	}
	for _, r := range removed {
		fmt.Fprintf(env.Stdout, "removed rule %d: %s %s\n", r.ID, r.Action, r.Target())
	}
	fmt.Fprintf(env.Stdout, "%d rules removed; running servers apply this within a second\n", len(removed))
	return nil
}

func parseID(s string) (int64, bool) {
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil && id > 0
}

func printRules(w io.Writer, rules []*leadcap.ShieldRule) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tACTION\tTARGET\tEXPIRES\tBY\tNOTE")
	for _, r := range rules {
		exp := "never"
		if !r.ExpiresAt.IsZero() {
			exp = r.ExpiresAt.UTC().Format("2006-01-02 15:04 UTC")
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Action, r.Target(), exp, r.CreatedBy, r.Note)
	}
	tw.Flush()
}

// blockLog prints the block record since a time and, with follow, the
// rows that arrive after, once a second, until ctx ends.
func blockLog(ctx context.Context, env *Env, asJSON bool, st *store.Store, since time.Time, limit int, follow bool) error {
	recs, err := st.ShieldBlocks(ctx, since, limit)
	if err != nil {
		return err
	}
	if asJSON && !follow {
		return printJSONList(env.Stdout, recs)
	}
	show := func(r leadcap.ShieldBlockRecord) {
		if asJSON {
			printJSON(env.Stdout, r)
			return
		}
		country := r.Country
		if country == "" {
			country = "-"
		}
		fmt.Fprintf(env.Stdout, "%s  %-16s  %-39s  %-2s  %6d  %s\n", r.At.Format("2006-01-02 15:04:05Z"), r.Rule, r.ClientIP,
			country, r.Count, r.Route)
	}
	if !asJSON {
		fmt.Fprintf(env.Stdout, "%-20s  %-16s  %-39s  %-2s  %6s  %s\n", "TIME", "RULE", "CLIENT IP", "CC", "COUNT", "ROUTE")
	}
	// Rows of one second may be written by several servers, each once a
	// second: following re-reads the last few seconds and skips rows
	// already shown.
	seen := map[int64]time.Time{}
	var last time.Time
	for _, r := range recs {
		show(r)
		seen[r.ID] = r.At
		last = r.At
	}
	if !follow {
		fmt.Fprintf(env.Stdout, "%d rows\n", len(recs))
		return nil
	}
	if last.IsZero() {
		last = time.Now().Add(-5 * time.Second)
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		from := last.Add(-5 * time.Second)
		recs, err := st.ShieldBlocks(ctx, from, 10000)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		for _, r := range recs {
			if _, ok := seen[r.ID]; ok {
				continue
			}
			show(r)
			seen[r.ID] = r.At
			if r.At.After(last) {
				last = r.At
			}
		}
		for id, at := range seen {
			if at.Before(from) {
				delete(seen, id)
			}
		}
	}
}

// quarantine lists the leads stored as suspected spam, newest last.
func quarantine(ctx context.Context, env *Env, asJSON bool, st *store.Store, conference string, limit int) error {
	f := store.LeadFilter{OnlySpam: true, Limit: limit}
	if conference != "" {
		c, err := st.Conference(ctx, conference)
		if err != nil {
			return err
		}
		f.ConferenceID = c.ID
	}
	leads, _, err := st.Leads(ctx, f)
	if err != nil {
		return err
	}
	if asJSON {
		return printJSONList(env.Stdout, leads)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LEAD\tCREATED\tREASON\tEMAIL\tNAME")
	for _, l := range leads {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", l.ID, l.CreatedAt.Format("2006-01-02 15:04"), l.SpamReason,
			l.Email, strings.TrimSpace(l.FirstName+" "+l.LastName))
	}
	tw.Flush()
	fmt.Fprintf(env.Stdout, "%d quarantined leads\n", len(leads))
	return nil
}
