package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/intake"
	"github.com/leadcap/leadcap/internal/store"
)

const conferencesUsage = `conferences create|list|show|update|open|close [SLUG] [flags]

  create --slug S --name N [--country CC --start DATE --end DATE --questions FILE ...]
  list
  show SLUG
  update SLUG [--name N ...]      (a changed --consent-text makes a new consent version)
  open SLUG | close SLUG`

// conferenceFlags are the editable fields; only flags given are applied.
type conferenceFlags struct {
	slug, name, venue, country, timeZone, start, end, status string
	questions, interests, consent                            string
	// Form abuse defences: "on" or "off".
	honeypot, fillTime, renderToken, pow string
}

func (f *conferenceFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.slug, "slug", "", "URL name: lower-case letters, digits and dashes (default: made from --name)")
	fs.StringVar(&f.name, "name", "", "conference name")
	fs.StringVar(&f.venue, "venue", "", "venue")
	fs.StringVar(&f.country, "country", "", "ISO country code, the default region of phone numbers")
	fs.StringVar(&f.timeZone, "time-zone", "", "IANA time zone, e.g. America/Belize")
	fs.StringVar(&f.start, "start", "", "first day, YYYY-MM-DD")
	fs.StringVar(&f.end, "end", "", "last day, YYYY-MM-DD")
	fs.StringVar(&f.status, "status", "", "draft, open or closed")
	fs.StringVar(&f.questions, "questions", "", "JSON file with the qualifying questions (an array)")
	fs.StringVar(&f.interests, "interests", "", "comma-separated interests offered on the form")
	fs.StringVar(&f.consent, "consent-text", "", "consent text shown beside the consent boxes")
	fs.StringVar(&f.honeypot, "honeypot", "", "on or off: quarantine submissions that fill the hidden honeypot field (default on)")
	fs.StringVar(&f.fillTime, "fill-time", "", "on or off: quarantine submissions sent too soon after the form was shown (default on)")
	fs.StringVar(&f.renderToken, "render-token", "", "on or off: quarantine submissions without a valid signed render token (default on)")
	fs.StringVar(&f.pow, "proof-of-work", "", "on or off: ask the form's JavaScript for a proof of work with each submission (default off)")
}

// parseOnOff reads an on/off flag value.
func parseOnOff(flag, v string) (bool, error) {
	switch strings.ToLower(v) {
	case "on":
		return true, nil
	case "off":
		return false, nil
	}
	return false, fmt.Errorf("--%s: want on or off, got %q", flag, v)
}

// apply copies the flags that were set onto c.
func (f *conferenceFlags) apply(fs *flag.FlagSet, c *leadcap.Conference) error {
	var err error
	fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "slug":
			c.Slug = f.slug
		case "name":
			c.Name = f.name
		case "venue":
			c.Venue = f.venue
		case "country":
			c.Country = strings.ToUpper(f.country)
		case "time-zone":
			c.TimeZone = f.timeZone
		case "start":
			c.StartDate = f.start
		case "end":
			c.EndDate = f.end
		case "status":
			c.Status = f.status
		case "interests":
			c.Interests = nil
			for _, v := range strings.Split(f.interests, ",") {
				if v = strings.TrimSpace(v); v != "" {
					c.Interests = append(c.Interests, leadcap.Choice{Value: v, Label: v})
				}
			}
		case "consent-text":
			c.Consent.Text = f.consent
		case "honeypot", "fill-time", "render-token", "proof-of-work":
			v := map[string]string{"honeypot": f.honeypot, "fill-time": f.fillTime, "render-token": f.renderToken, "proof-of-work": f.pow}[fl.Name]
			on, ferr := parseOnOff(fl.Name, v)
			if ferr != nil {
				err = ferr
				return
			}
			d := &c.Defences
			*map[string]*bool{"honeypot": &d.HoneypotOff, "fill-time": &d.FillTimeOff, "render-token": &d.RenderTokenOff,
				"proof-of-work": &d.ProofOfWork}[fl.Name] = on == (fl.Name == "proof-of-work")
		case "questions":
			var b []byte
			if b, err = os.ReadFile(f.questions); err != nil {
				err = fmt.Errorf("--questions: %w", err)
				return
			}
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.DisallowUnknownFields()
			var qs []leadcap.Question
			if derr := dec.Decode(&qs); derr != nil {
				err = fmt.Errorf("--questions %s: want a JSON array of questions: %w", f.questions, derr)
				return
			}
			c.Questions = qs
		}
	})
	return err
}

func runConferences(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "conferences", conferencesUsage)
	c := addCommon(fs)
	var f conferenceFlags
	f.register(fs)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		fs.Usage()
		return errUsage
	}
	verb, rest := pos[0], pos[1:]
	needSlug := map[string]bool{"show": true, "update": true, "open": true, "close": true}
	if needSlug[verb] && len(rest) != 1 {
		return fmt.Errorf("conferences %s: want one conference slug or id", verb)
	}
	if !needSlug[verb] && len(rest) != 0 {
		return fmt.Errorf("conferences %s: unexpected argument %q", verb, rest[0])
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

	switch verb {
	case "create":
		conf := &leadcap.Conference{Status: leadcap.StatusDraft}
		if err := f.apply(fs, conf); err != nil {
			return err
		}
		if conf.Slug == "" {
			conf.Slug = intake.NormalizeSlug(conf.Name) // "Belize Expo" -> belize-expo
		}
		if conf.Consent.Text == "" {
			conf.Consent.Text = "I agree that " + conf.Name + " exhibitors may contact me about my enquiry."
		}
		if err := saveConference(ctx, st, conf, true); err != nil {
			return err
		}
		return printConference(env, c.json, conf, "created")
	case "list":
		list, err := st.Conferences(ctx)
		if err != nil {
			return err
		}
		if c.json {
			return printJSONList(env.Stdout, list)
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SLUG\tNAME\tSTATUS\tDATES\tCOUNTRY\tLEADS")
		for _, conf := range list {
			n, err := st.CountLeads(ctx, conf.ID)
			if err != nil {
				return err
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\n", conf.Slug, conf.Name, conf.Status, dates(conf), conf.Country, n)
		}
		tw.Flush()
		fmt.Fprintf(env.Stdout, "%d conferences\n", len(list))
		return nil
	case "show", "update", "open", "close":
		conf, err := st.Conference(ctx, rest[0])
		if err != nil {
			return err
		}
		switch verb {
		case "show":
			return printConference(env, c.json, conf, "")
		case "open":
			conf.Status = leadcap.StatusOpen
		case "close":
			conf.Status = leadcap.StatusClosed
		case "update":
			if err := f.apply(fs, conf); err != nil {
				return err
			}
		}
		if err := saveConference(ctx, st, conf, false); err != nil {
			return err
		}
		return printConference(env, c.json, conf, map[string]string{"open": "opened", "close": "closed", "update": "updated"}[verb])
	}
	return fmt.Errorf("conferences: unknown verb %q (want create, list, show, update, open or close)", verb)
}

// saveConference validates and stores conf; ValidateConference also hashes
// its consent text, which decides whether the text is a new version.
func saveConference(ctx context.Context, st *store.Store, conf *leadcap.Conference, create bool) error {
	if err := intake.ValidateConference(conf); err != nil {
		return err
	}
	if create {
		return st.CreateConference(ctx, conf)
	}
	return st.UpdateConference(ctx, conf)
}

func dates(c *leadcap.Conference) string {
	if c.StartDate == "" {
		return "-"
	}
	return c.StartDate + " to " + c.EndDate
}

func printConference(env *Env, asJSON bool, c *leadcap.Conference, did string) error {
	if asJSON {
		return printJSON(env.Stdout, c)
	}
	if did != "" {
		fmt.Fprintf(env.Stdout, "conference %s %s\n", c.Slug, did)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "id\t%s\nslug\t%s\nname\t%s\nstatus\t%s\nvenue\t%s\ncountry\t%s\ntime zone\t%s\ndates\t%s\n",
		c.ID, c.Slug, c.Name, c.Status, c.Venue, c.Country, c.TimeZone, dates(c))
	fmt.Fprintf(tw, "consent\tversion %d: %s\n", c.Consent.Version, c.Consent.Text)
	fmt.Fprintf(tw, "defences\t%s\n", defences(c.Defences))
	for i, q := range c.Questions {
		req := ""
		if q.Required {
			req = ", required"
		}
		fmt.Fprintf(tw, "question %d\t%s (%s%s): %s\n", i+1, q.ID, q.Type, req, q.Label)
	}
	return tw.Flush()
}

// defences says which form abuse defences a conference keeps on.
func defences(d leadcap.FormDefences) string {
	return fmt.Sprintf("honeypot %s, fill time %s, render token %s, proof of work %s",
		onOff(!d.HoneypotOff), onOff(!d.FillTimeOff), onOff(!d.RenderTokenOff), onOff(d.ProofOfWork))
}
