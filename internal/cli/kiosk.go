package cli

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/crypto"
	"github.com/leadcap/leadcap/internal/kiosk"
	"github.com/leadcap/leadcap/internal/store"
)

const kioskUsage = `kiosk link|list|revoke --conference SLUG [flags]

  link --label LABEL [--id ID] [--valid-for 720h]
      Prints a link that opens the conference's booth form in kiosk mode on
      a shared tablet, and stamps the tablet's leads with its device id (by
      default made from the label: "Tablet 3" gives tablet-3). The link is
      signed with the server's keys: a changed or made-up link is refused.
      A new link for a device replaces its older ones, which stop working;
      it also works for a revoked device, whose older links stay refused.
  list
      The conference's devices: id, label, issued, expires, and status
      (active, expired, revoked).
  revoke --device ID
      Refuses every link of the device issued so far, on every server
      within a second or two. Repeating it changes nothing.`

// kioskActor names the operator's commands in the records and audit trail.
const kioskActor = "cli"

func runKiosk(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "kiosk", kioskUsage)
	c := addCommon(fs)
	conference := fs.String("conference", "", "slug or id of the conference")
	label := fs.String("label", "", `what staff call the tablet, e.g. "Tablet 3" (link)`)
	id := fs.String("id", "", "device id stamped on the leads (link; default: made from the label)")
	validFor := fs.Duration("valid-for", 30*24*time.Hour, "how long the link works (link)")
	device := fs.String("device", "", "device id, as kiosk list shows it (revoke)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		fs.Usage()
		return errUsage
	}
	verb := pos[0]
	switch {
	case verb != "link" && verb != "list" && verb != "revoke":
		return fmt.Errorf("kiosk: unknown verb %q (want link, list or revoke)", verb)
	case len(pos) > 1:
		return fmt.Errorf("kiosk %s: unexpected argument %q", verb, pos[1])
	case *conference == "":
		return fmt.Errorf("kiosk %s: --conference is required", verb)
	case verb == "link" && *label == "":
		return fmt.Errorf("kiosk link: --label is required")
	case verb == "link" && *validFor <= 0:
		return fmt.Errorf("kiosk link: --valid-for must be positive")
	case verb == "revoke" && *device == "":
		return fmt.Errorf("kiosk revoke: --device is required (see kiosk list)")
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
	conf, err := st.Conference(ctx, *conference)
	if err != nil {
		return err
	}
	keys, err := crypto.Load(cfg.DataDir)
	if err != nil {
		return err
	}
	links := kiosk.NewLinks(keys, st)
	switch verb {
	case "list":
		return kioskList(ctx, env, c.json, st, conf)
	case "revoke":
		return kioskRevoke(ctx, env, c.json, links, conf, *device)
	}

	d := kiosk.Device{ConferenceID: conf.ID, ID: *id, Label: strings.TrimSpace(*label),
		Expires: time.Now().Add(*validFor).UTC().Truncate(time.Second)}
	if d.ID == "" {
		d.ID = kiosk.DeviceID(d.Label)
	}
	token, d, err := links.Issue(ctx, d, kioskActor)
	if err != nil {
		return err
	}
	link := strings.TrimRight(cfg.PublicURL, "/") + "/c/" + conf.Slug + "?device=" + url.QueryEscape(token)
	if cfg.PublicURL == "" {
		fmt.Fprintln(env.Stderr, "note: LEADCAP_PUBLIC_URL is not set; put the server's address before the link")
	}
	if conf.Status != leadcap.StatusOpen {
		fmt.Fprintf(env.Stderr, "note: conference %s is %s; the link shows its form once it is open\n", conf.Slug, conf.Status)
	}
	if c.json {
		return printJSON(env.Stdout, map[string]string{"url": link, "conference": conf.Slug, "device_id": d.ID,
			"label": d.Label, "issued": d.Issued.Format(time.RFC3339Nano), "expires": d.Expires.Format(time.RFC3339)})
	}
	fmt.Fprintf(env.Stdout, "kiosk link for %q (device id %s) at %s, valid until %s:\n%s\n",
		d.Label, d.ID, conf.Slug, d.Expires.Format("2006-01-02 15:04 MST"), link)
	return nil
}

// kioskLinkView is a device's record as list and revoke print it in JSON.
type kioskLinkView struct {
	DeviceID  string     `json:"device_id"`
	Label     string     `json:"label"`
	Status    string     `json:"status"`
	Issued    *time.Time `json:"issued"` // null: no link recorded (revoked by id only)
	IssuedBy  string     `json:"issued_by,omitempty"`
	Expires   *time.Time `json:"expires"`
	Revoked   *time.Time `json:"revoked,omitempty"` // only when the current link is revoked
	RevokedBy string     `json:"revoked_by,omitempty"`
}

func newKioskLinkView(l *store.KioskLink, now time.Time) kioskLinkView {
	v := kioskLinkView{DeviceID: l.DeviceID, Label: l.Label, Status: l.Status(now), IssuedBy: l.IssuedBy}
	opt := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		return &t
	}
	v.Issued, v.Expires = opt(l.Issued), opt(l.Expires)
	if v.Status == store.KioskRevoked {
		v.Revoked, v.RevokedBy = opt(l.Revoked), l.RevokedBy
	}
	return v
}

func kioskList(ctx context.Context, env *Env, asJSON bool, st *store.Store, conf *leadcap.Conference) error {
	list, err := st.KioskLinks(ctx, conf.ID)
	if err != nil {
		return err
	}
	now := time.Now()
	views := make([]kioskLinkView, len(list))
	counts := map[string]int{}
	for i, l := range list {
		views[i] = newKioskLinkView(l, now)
		counts[views[i].Status]++
	}
	if asJSON {
		return printJSONList(env.Stdout, views)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DEVICE\tLABEL\tSTATUS\tISSUED\tEXPIRES\tREVOKED")
	for _, v := range views {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", v.DeviceID, v.Label, v.Status, optWhen(v.Issued), optWhen(v.Expires), optWhen(v.Revoked))
	}
	tw.Flush()
	fmt.Fprintf(env.Stdout, "%d devices at %s: %d active, %d expired, %d revoked\n", len(views), conf.Slug,
		counts[store.KioskActive], counts[store.KioskExpired], counts[store.KioskRevoked])
	return nil
}

// optWhen prints an optional time for a table: "-" for none.
func optWhen(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04Z")
}

func kioskRevoke(ctx context.Context, env *Env, asJSON bool, links *kiosk.Links, conf *leadcap.Conference, device string) error {
	rec, changed, err := links.Revoke(ctx, conf.ID, device, kioskActor)
	if err != nil {
		return err
	}
	v := newKioskLinkView(rec, time.Now())
	if asJSON {
		return printJSON(env.Stdout, struct {
			kioskLinkView
			Changed bool `json:"changed"`
		}{v, changed})
	}
	switch {
	case !changed:
		fmt.Fprintf(env.Stdout, "device %s at %s was revoked already, on %s\n", device, conf.Slug, optWhen(v.Revoked))
	case rec.Issued.IsZero():
		fmt.Fprintf(env.Stdout, "device %s at %s revoked, but no link was recorded for it (check the id with kiosk list): "+
			"links of it signed before leadcap recorded links are refused\n", device, conf.Slug)
	default:
		fmt.Fprintf(env.Stdout, "device %s (%s) at %s revoked: its links are refused within %s\n", device, rec.Label, conf.Slug, 2*kiosk.RevocationTTL)
	}
	return nil
}
