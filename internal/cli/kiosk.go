package cli

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/crypto"
	"github.com/leadcap/leadcap/internal/kiosk"
)

const kioskUsage = `kiosk link --conference SLUG --label LABEL [--id ID] [--valid-for 720h]

  Prints a link that opens the conference's booth form in kiosk mode on a
  shared tablet, and stamps the tablet's leads with its device id (by
  default made from the label: "Tablet 3" gives tablet-3). The link is
  signed with the server's keys: a changed or made-up link is refused.`

func runKiosk(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "kiosk", kioskUsage)
	c := addCommon(fs)
	conference := fs.String("conference", "", "slug or id of the conference")
	label := fs.String("label", "", `what staff call the tablet, e.g. "Tablet 3"`)
	id := fs.String("id", "", "device id stamped on the leads (default: made from the label)")
	validFor := fs.Duration("valid-for", 30*24*time.Hour, "how long the link works")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] != "link" {
		fs.Usage()
		return errUsage
	}
	if *conference == "" || *label == "" {
		return fmt.Errorf("kiosk link: --conference and --label are required")
	}
	if *validFor <= 0 {
		return fmt.Errorf("kiosk link: --valid-for must be positive")
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
	d := kiosk.Device{ConferenceID: conf.ID, ID: *id, Label: strings.TrimSpace(*label),
		Expires: time.Now().Add(*validFor).UTC().Truncate(time.Second)}
	if d.ID == "" {
		d.ID = kiosk.DeviceID(d.Label)
	}
	token, err := kiosk.Sign(keys, d)
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
			"label": d.Label, "expires": d.Expires.Format(time.RFC3339)})
	}
	fmt.Fprintf(env.Stdout, "kiosk link for %q (device id %s) at %s, valid until %s:\n%s\n",
		d.Label, d.ID, conf.Slug, d.Expires.Format("2006-01-02 15:04 MST"), link)
	return nil
}
