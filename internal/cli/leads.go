package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/blob"
	"github.com/leadcap/leadcap/internal/config"
	"github.com/leadcap/leadcap/internal/crypto"
	"github.com/leadcap/leadcap/internal/erasure"
	"github.com/leadcap/leadcap/internal/export"
	"github.com/leadcap/leadcap/internal/intake"
	"github.com/leadcap/leadcap/internal/store"
)

const leadsUsage = `leads erase|archive [flags]

  erase --email EMAIL [--conference SLUG] | --id LEAD_ID  [--purge-exports] [--dry-run]
        the GDPR erasure of a person: their leads with submissions, notes, tags and search
        terms, and every version of their raw copies; lists the stored exports that may hold
        them (--purge-exports deletes those). The audit trail records it without personal data.
  archive --before DATE | --older-than 2y  [--conference SLUG] [--format ndjson|csv|json] -o FILE [--dry-run]
        writes the leads created before DATE to FILE (as leadcap export does), checks the file,
        then deletes the archived leads from the database. Their raw copies stay (raw data is
        kept for good); leads with a rating, tags or staff notes, which the file cannot hold,
        stay too.`

// Audit action of an archive: many leads deleted at once.
const auditLeadArchive = "lead.archive"

func runLeads(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "leads", leadsUsage)
	c := addCommon(fs)
	var o leadsOptions
	fs.StringVar(&o.email, "email", "", "the person's email (erase)")
	fs.StringVar(&o.id, "id", "", "one lead's id (erase)")
	fs.StringVar(&o.conference, "conference", "", "slug or id of one conference (default: every conference)")
	fs.BoolVar(&o.purgeExports, "purge-exports", false, "also delete the stored exports that may hold the person (erase)")
	fs.BoolVar(&o.dryRun, "dry-run", false, "show what would go, change nothing")
	fs.BoolVar(&o.vacuum, "vacuum", false, "SQLite: then rebuild the database file, so that no copy of the erased rows stays in its free space; writes wait meanwhile (erase)")
	fs.StringVar(&o.before, "before", "", "archive the leads created before this date (YYYY-MM-DD, UTC) or time (RFC 3339)")
	fs.StringVar(&o.olderThan, "older-than", "", "archive the leads older than this: 2y, 18mo or 400d")
	fs.StringVar(&o.format, "format", leadcap.FormatNDJSON, "archive file format: ndjson, csv or json")
	fs.StringVar(&o.out, "o", "", "archive file to write (archive)")
	fs.StringVar(&o.out, "out", "", "same as -o")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		fs.Usage()
		return errUsage
	}
	verb := pos[0]
	if verb != "erase" && verb != "archive" {
		return fmt.Errorf("leads: unknown verb %q (want erase or archive)", verb)
	}
	if len(pos) > 1 {
		return fmt.Errorf("leads %s: unexpected argument %q", verb, pos[1])
	}
	if verb == "erase" {
		err = o.checkErase()
	} else {
		err = o.checkArchive(time.Now())
	}
	if err != nil {
		return err
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
	if o.conference != "" {
		conf, err := st.Conference(ctx, o.conference)
		if err != nil {
			return fmt.Errorf("leads %s: --conference: %w", verb, err)
		}
		o.conferenceID = conf.ID
	}
	if verb == "archive" {
		return archiveLeads(ctx, env, c.json, cfg, st, o)
	}
	if o.vacuum && st.Dialect() != store.SQLite {
		return errors.New("leads erase: --vacuum rebuilds SQLite's file; on PostgreSQL run VACUUM FULL leads, submissions in a quiet hour")
	}
	objects, err := blob.OpenDir(cfg.BlobDir())
	if err != nil {
		return err
	}
	defer objects.Close()
	keys, err := crypto.Load(cfg.DataDir)
	if err != nil {
		return err
	}
	return eraseLeads(ctx, env, c.json, cfg, st, objects, &erasure.Log{Blob: objects, Keys: keys}, o)
}

type leadsOptions struct {
	email, id, conference, conferenceID string
	purgeExports, dryRun, vacuum        bool
	before, olderThan, format, out      string
	cutoff                              time.Time // archive: leads created before it
	emailKey                            string    // erase: intake.EmailKey of email
}

func (o *leadsOptions) checkErase() error {
	switch {
	case (o.email == "") == (o.id == ""):
		return errors.New("leads erase: give the person's --email, or one lead's --id")
	case o.id != "" && o.conference != "":
		return errors.New("leads erase: --conference goes with --email; a lead id names one lead already")
	case o.before != "" || o.olderThan != "" || o.out != "":
		return errors.New("leads erase: --before, --older-than and -o are archive's")
	case o.vacuum && o.dryRun:
		return errors.New("leads erase: --vacuum changes the database; leave it out of a dry run")
	}
	if o.email == "" {
		return nil
	}
	// The address as the booth form would have stored it, so that the
	// blind index finds it however the operator typed it.
	var l leadcap.Lead
	if _, err := intake.Correct(&l, &leadcap.Conference{}, intake.Correction{Email: &o.email}); err != nil {
		return fmt.Errorf("leads erase: --email %q %s", o.email, leadcap.ErrorFields(err)["email"])
	}
	o.emailKey = intake.EmailKey(l.Email)
	return nil
}

// erasedLead is one lead of an erasure, as the command shows it.
type erasedLead struct {
	ID          string    `json:"id"`
	Conference  string    `json:"conference"`
	CreatedAt   time.Time `json:"created_at"`
	RawKey      string    `json:"raw_key"`
	RawVersions int       `json:"raw_versions"`
}

// eraseReport is what an erasure did, or would do.
type eraseReport struct {
	DryRun  bool              `json:"dry_run"`
	Leads   []erasedLead      `json:"leads"`
	Exports []*leadcap.Export `json:"exports"` // stored exports that may hold the person
	Purged  []string          `json:"purged_exports"`
	// Recorded counts the erasures recorded in the object store
	// (erasure.Prefix), which a restore of an older backup applies again.
	Recorded int `json:"erasures_recorded"`
	// Vacuumed says the SQLite file was rebuilt (--vacuum).
	Vacuumed bool              `json:"vacuumed"`
	Warning  string            `json:"warning,omitempty"`
	slugs    map[string]string // conference id -> slug
	sqlite   bool
}

func eraseLeads(ctx context.Context, env *Env, asJSON bool, cfg config.Config, st *store.Store, objects blob.Store,
	records *erasure.Log, o leadsOptions) error {
	var leads []*leadcap.Lead
	if o.id != "" {
		l, err := st.Lead(ctx, o.id)
		if err != nil {
			return fmt.Errorf("leads erase: %w", err)
		}
		leads = append(leads, l)
	} else {
		var err error
		if leads, err = st.LeadsByEmail(ctx, o.emailKey, o.conferenceID); err != nil {
			return err
		}
	}
	rep := eraseReport{DryRun: o.dryRun, Leads: []erasedLead{}, Exports: []*leadcap.Export{}, Purged: []string{},
		sqlite: st.Dialect() == store.SQLite}
	var err error
	if rep.slugs, err = conferenceSlugs(ctx, st); err != nil {
		return err
	}
	for _, l := range leads {
		key := store.RawObjectKey(l.ConferenceID, l.ID)
		vs, err := objects.Versions(ctx, key)
		if err != nil && !errors.Is(err, blob.ErrNotFound) {
			return err
		}
		rep.Leads = append(rep.Leads, erasedLead{l.ID, rep.slugs[l.ConferenceID], l.CreatedAt, key, len(vs)})
		exports, err := st.ExportsWithLead(ctx, l)
		if err != nil {
			return err
		}
		for _, e := range exports {
			if !slices.ContainsFunc(rep.Exports, func(x *leadcap.Export) bool { return x.ID == e.ID }) {
				rep.Exports = append(rep.Exports, e)
			}
		}
	}
	if !o.dryRun && len(leads) > 0 {
		err = rep.erase(ctx, env, cfg, st, objects, records, o.purgeExports, o.vacuum)
	}
	if asJSON {
		if perr := printJSON(env.Stdout, rep); perr != nil {
			return perr
		}
	} else {
		rep.print(env.Stdout, o)
	}
	return err
}

// erase erases the report's leads, records each erasure in the object
// store (so that a restore erases the lead again), then purges the exports
// if asked to. An error stops it, but for a record that could not be
// stored: the erasure goes on, and the error names the leads at the end.
// What was done by then is in the report.
func (rep *eraseReport) erase(ctx context.Context, env *Env, cfg config.Config, st *store.Store, objects blob.Store,
	records *erasure.Log, purgeExports, vacuum bool) error {
	var unrecorded []error
	err := rep.eraseAll(ctx, env, cfg, st, objects, records, purgeExports, vacuum, &unrecorded)
	if len(unrecorded) > 0 {
		err = errors.Join(append(unrecorded, err)...)
	}
	return err
}

func (rep *eraseReport) eraseAll(ctx context.Context, env *Env, cfg config.Config, st *store.Store, objects blob.Store,
	records *erasure.Log, purgeExports, vacuum bool, unrecorded *[]error) error {
	var lease time.Time
	for i := range rep.Leads {
		l := &rep.Leads[i]
		e, err := st.EraseLead(ctx, l.ID, objects)
		if e.Lead == nil {
			return err
		}
		l.RawVersions = e.RawVersions
		if e.RawLeaseUntil.After(lease) {
			lease = e.RawLeaseUntil
		}
		if rerr := records.Record(ctx, erasure.Record{LeadID: l.ID, ConferenceID: e.Lead.ConferenceID, ErasedAt: time.Now()}); rerr == nil {
			rep.Recorded++
		} else {
			*unrecorded = append(*unrecorded, fmt.Errorf("leads erase: lead %s is erased, but the record of its erasure is not stored, so a restore of an older backup would bring it back (erase it again after one): %w", l.ID, rerr))
		}
		// The lead's id and conference: no personal data.
		if aerr := st.AppendAudit(ctx, leadcap.AuditEvent{Actor: export.ActorCLI, Action: leadcap.AuditLeadDelete,
			Target: "lead:" + l.ID, Result: leadcap.AuditSuccess, Detail: map[string]string{
				"conference_id": e.Lead.ConferenceID, "request": "erasure", "raw_versions": fmt.Sprint(e.RawVersions)}}); aerr != nil {
			return errors.Join(err, aerr)
		}
		if err != nil {
			return err
		}
	}
	// A raw copy an outbox worker held when its lead went may land after
	// the purge. The worker then removes it itself (outbox.Worker.RunOnce),
	// unless it stops between writing and removing it: killed, its machine
	// down, or the object store failing the removal. Once the lease is
	// over, a copy still to come is one its worker will remove, and what a
	// stopped worker left is there: purge again.
	if now := time.Now(); lease.After(now) {
		if limit := now.Add(cfg.OutboxLease); lease.After(limit) {
			lease = limit // a retry scheduled later is no copy in flight
		}
		fmt.Fprintf(env.Stderr, "waiting until %s: a raw copy of an erased lead may still be on its way to the object store\n",
			lease.Local().Format(time.TimeOnly))
		select {
		case <-ctx.Done():
		case <-time.After(time.Until(lease)):
		}
		for i := range rep.Leads {
			n, err := objects.Purge(context.WithoutCancel(ctx), rep.Leads[i].RawKey)
			if err != nil {
				return err
			}
			rep.Leads[i].RawVersions += n
		}
		if ctx.Err() != nil {
			var keys []string
			for _, l := range rep.Leads {
				keys = append(keys, l.RawKey)
			}
			return fmt.Errorf("leads erase: stopped before %s, until when a raw copy in flight may still land: then run leadcap objects purge on %s",
				lease.Local().Format(time.TimeOnly), strings.Join(keys, ", "))
		}
	}
	if purgeExports {
		s := export.NewService(ctx, export.Config{Store: st, Blob: objects, Auditor: export.StoreAuditor{Store: st},
			Log: slog.New(slog.NewTextHandler(env.Stderr, nil))})
		cli := export.Meta{Actor: export.Actor{Name: export.ActorCLI}}
		var running []string
		for _, e := range rep.Exports {
			if e.Status == leadcap.ExportRunning {
				running = append(running, e.ID)
				continue
			}
			if err := s.Delete(ctx, e.ID, cli); err != nil {
				return err
			}
			rep.Purged = append(rep.Purged, e.ID)
		}
		if len(running) > 0 {
			return fmt.Errorf("leads erase: exports %v were still running: delete them when they are done (leadcap exports delete ID)", running)
		}
	}
	if vacuum {
		fmt.Fprintln(env.Stderr, "rebuilding the database file; writes wait until it is done")
		if err := st.Vacuum(ctx); err != nil {
			return err
		}
		rep.Vacuumed = true
		return nil
	}
	// The WAL holds the pages of the erased rows as they were until it is
	// emptied.
	if err := st.TruncateWAL(ctx); err != nil {
		rep.Warning = "the database's WAL still holds older copies of the erased rows' pages (sealed) until the server's next checkpoint"
		return err
	}
	return nil
}

func (rep *eraseReport) print(w io.Writer, o leadsOptions) {
	what := fmt.Sprintf("%d %s with this email", len(rep.Leads), plural(len(rep.Leads), "lead", "leads"))
	if o.conference != "" {
		what += " at " + o.conference
	}
	if o.id != "" {
		what = "lead " + o.id
	}
	if len(rep.Leads) == 0 {
		fmt.Fprintf(w, "no lead has this email: nothing to erase\n")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LEAD\tCONFERENCE\tCREATED\tRAW COPY\tVERSIONS")
	for _, l := range rep.Leads {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", l.ID, l.Conference, when(l.CreatedAt), l.RawKey, l.RawVersions)
	}
	tw.Flush()
	verb := "erased"
	if rep.DryRun {
		verb = "would erase"
	}
	fmt.Fprintf(w, "%s %s: submissions, notes, tags and search terms, and every version of the raw copies\n", verb, what)
	if !rep.DryRun {
		fmt.Fprintf(w, "recorded %d %s under %s in the object store: a restore of an older backup erases them again\n",
			rep.Recorded, plural(rep.Recorded, "erasure", "erasures"), erasure.Prefix)
	}
	if len(rep.Exports) == 0 {
		fmt.Fprintln(w, "no stored export may hold them")
	} else {
		fmt.Fprintln(w, "\nstored exports that may hold them (made after their leads, of their conferences or of all):")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "EXPORT\tCONFERENCE\tCREATED\tSTATUS\tROWS\t")
		for _, e := range rep.Exports {
			conf := "all"
			if e.Filter.ConferenceID != "" {
				conf = rep.slugs[e.Filter.ConferenceID]
			}
			state := ""
			if slices.Contains(rep.Purged, e.ID) {
				state = "purged"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", e.ID, conf, when(e.CreatedAt), e.Status, e.Rows, state)
		}
		tw.Flush()
		switch {
		case len(rep.Purged) > 0:
			fmt.Fprintf(w, "purged %d exports: every version of their files, and their records\n", len(rep.Purged))
		case rep.DryRun && o.purgeExports:
			fmt.Fprintf(w, "would purge %d exports\n", len(rep.Exports))
		default:
			fmt.Fprintln(w, "review them, or purge them: leadcap exports delete ID, or this command again with --purge-exports")
		}
	}
	switch {
	case rep.DryRun:
		fmt.Fprintln(w, "dry run: nothing changed")
	case rep.Vacuumed:
		fmt.Fprintln(w, "rebuilt the database file: no copy of the erased rows is left in it")
	case rep.sqlite:
		fmt.Fprintln(w, "the database file may still hold copies of their index entries in its free space until --vacuum rebuilds it")
	}
	if rep.Warning != "" {
		fmt.Fprintln(w, "warning: "+rep.Warning)
	}
}

// conferenceSlugs maps every conference id to its slug.
func conferenceSlugs(ctx context.Context, st *store.Store) (map[string]string, error) {
	confs, err := st.Conferences(ctx)
	if err != nil {
		return nil, err
	}
	slugs := make(map[string]string, len(confs))
	for _, c := range confs {
		slugs[c.ID] = c.Slug
	}
	return slugs, nil
}
