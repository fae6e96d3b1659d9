package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/alarms"
	"github.com/leadcap/leadcap/internal/config"
	"github.com/leadcap/leadcap/internal/metrics"
	"github.com/leadcap/leadcap/internal/store"
)

const alarmsUsage = `alarms list|history|test [flags]

  list                          every alarm of every server, its state and value
  history [--alarm NAME] [--node NAME] [--limit N]
                                changes of state, newest first
  test                          send a test notification to the webhook and email`

// alarmChannels returns the notification channels cfg configures.
func alarmChannels(cfg config.Config) ([]alarms.Channel, error) {
	var out []alarms.Channel
	if cfg.AlarmWebhookURL != "" {
		w, err := alarms.NewWebhook(cfg.AlarmWebhookURL, []byte(cfg.AlarmWebhookSecret), "leadcap/"+leadcap.Version)
		if err != nil {
			return nil, fmt.Errorf("LEADCAP_ALARM_WEBHOOK_URL: %w", err)
		}
		out = append(out, w)
	}
	if len(cfg.AlarmEmail) > 0 {
		e, err := alarms.NewEmail(cfg.SMTPURL, cfg.SMTPFrom, cfg.AlarmEmail)
		if err != nil {
			return nil, fmt.Errorf("LEADCAP_ALARM_EMAIL: %w", err)
		}
		e.Hello = cfg.Node()
		out = append(out, e)
	}
	return out, nil
}

// newAlarms builds serve's alarm evaluator and notification dispatcher.
func newAlarms(cfg config.Config, log *slog.Logger, m *metrics.Metrics, st *store.Store) (*alarms.Evaluator, *alarms.Dispatcher, error) {
	rules, err := alarms.ParseRules(cfg.AlarmRules)
	if err != nil {
		return nil, nil, fmt.Errorf("config: LEADCAP_ALARM_RULES: %w", err)
	}
	channels, err := alarmChannels(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("config: %w", err)
	}
	d := alarms.NewDispatcher(log, m, channels...)
	e := &alarms.Evaluator{Node: cfg.Node(), Rules: rules, Source: m.Gatherer(), Metrics: m, Store: st,
		Log: log, Interval: cfg.AlarmInterval}
	if len(channels) > 0 {
		e.Notify = d.Enqueue
	}
	return e, d, nil
}

func runAlarms(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "alarms", alarmsUsage)
	c := addCommon(fs)
	var name, node string
	var limit int
	fs.StringVar(&name, "alarm", "", "history: only this alarm")
	fs.StringVar(&node, "node", "", "only this server's alarms")
	fs.IntVar(&limit, "limit", 50, "history: how many changes, newest first (at most 1000)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return errUsage
	}
	cfg, err := c.load(env)
	if err != nil {
		return err
	}
	switch pos[0] {
	case "test":
		return alarmsTest(ctx, env, c, cfg)
	case "list", "history":
	default:
		return fmt.Errorf("alarms: unknown verb %q (want list, history or test)", pos[0])
	}
	st, err := openMigrated(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if pos[0] == "list" {
		list, err := st.Alarms(ctx, node)
		if err != nil {
			return err
		}
		return printAlarms(env, c.json, list, time.Now())
	}
	if limit < 1 || limit > 1000 {
		return errors.New("alarms history: --limit wants 1 to 1000")
	}
	events, err := st.AlarmHistory(ctx, store.AlarmHistoryFilter{Node: node, Alarm: name, Limit: limit})
	if err != nil {
		return err
	}
	if c.json {
		return printJSONList(env.Stdout, events)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AT\tNODE\tALARM\tCHANGE\tSUMMARY")
	for _, e := range events {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s -> %s\t%s\n", e.At.Local().Format("2006-01-02 15:04:05"), e.Node, e.Name,
			e.Previous, e.State, e.Summary)
	}
	tw.Flush()
	fmt.Fprintf(env.Stdout, "%d changes\n", len(events))
	return nil
}

// alarmView is an alarm as the list prints it in JSON.
type alarmView struct {
	leadcap.Alarm
	Stale bool `json:"stale"`
}

func printAlarms(env *Env, asJSON bool, list []leadcap.Alarm, now time.Time) error {
	if asJSON {
		out := []alarmView{}
		for _, a := range list {
			out = append(out, alarmView{a, a.Stale(now)})
		}
		return printJSON(env.Stdout, out)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tALARM\tSTATE\tSINCE\tNOW\tCHECKED")
	firing := 0
	for _, a := range list {
		state := a.State
		if a.Stale(now) {
			state += " (stale)"
		} else if a.Firing(now) {
			firing++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s ago\n", a.Node, a.Name, state, a.Since.Local().Format("2006-01-02 15:04"),
			a.Summary, now.Sub(a.CheckedAt).Round(time.Second))
	}
	tw.Flush()
	fmt.Fprintf(env.Stdout, "%d alarms, %d firing\n", len(list), firing)
	return nil
}

// alarmsTest sends a test notification on every configured channel, each
// with its retries, and reports each outcome.
func alarmsTest(ctx context.Context, env *Env, c *common, cfg config.Config) error {
	channels, err := alarmChannels(cfg)
	if err != nil {
		return err
	}
	if len(channels) == 0 {
		return errors.New("alarms test: no channel configured: set LEADCAP_ALARM_WEBHOOK_URL (and _SECRET) or LEADCAP_ALARM_EMAIL (with LEADCAP_SMTP_URL and LEADCAP_SMTP_FROM)")
	}
	log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	d := alarms.NewDispatcher(log, nil)
	d.Attempts = 3
	n := alarms.Notification{Alarm: "test", Rule: "test", State: leadcap.AlarmOK, Node: cfg.Node(), At: time.Now().UTC(),
		Summary: "a test notification sent by leadcap alarms test", Test: true}
	results := map[string]string{}
	var failed []error
	for _, ch := range channels {
		if err := d.Deliver(ctx, ch, n); err != nil {
			results[ch.Name()] = err.Error()
			failed = append(failed, err)
		} else {
			results[ch.Name()] = "sent"
		}
	}
	if c.json {
		if err := printJSON(env.Stdout, results); err != nil {
			return err
		}
	} else {
		for _, ch := range channels {
			fmt.Fprintf(env.Stdout, "%-8s %s\n", ch.Name(), results[ch.Name()])
		}
		fmt.Fprintf(env.Stdout, "%d of %d channels reached\n", len(channels)-len(failed), len(channels))
	}
	return errors.Join(failed...)
}
