package cli

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/config"
	"github.com/leadcap/leadcap/internal/crypto"
	"github.com/leadcap/leadcap/internal/export"
	"github.com/leadcap/leadcap/internal/store"
)

const keysUsage = `keys list|rotate [flags]

  list     the encryption keys: which is primary, when each was added, what each still seals
  rotate   add a new primary key; older keys stay, so data sealed with them stays readable`

// auditKeysRotate is the audit action of a key rotation.
const auditKeysRotate = "keys.rotate"

func runKeys(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "keys", keysUsage)
	c := addCommon(fs)
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
	case verb != "list" && verb != "rotate":
		return fmt.Errorf("keys: unknown verb %q (want list or rotate)", verb)
	case len(rest) != 0:
		return fmt.Errorf("keys %s: unexpected argument %q", verb, rest[0])
	}
	cfg, err := c.load(env)
	if err != nil {
		return err
	}
	// Never create a key file here: keys of a mistyped data directory
	// would seal nothing the server can read.
	keys, err := crypto.Load(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("keys %s: %w (is --data-dir the server's data directory?)", verb, err)
	}
	st, err := openMigrated(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if verb == "rotate" {
		return rotateKeys(ctx, env, c.json, cfg, st, keys)
	}
	return listKeys(ctx, env, c.json, st, keys)
}

// keyReport is one key of keys list.
type keyReport struct {
	ID      uint32            `json:"id"`
	Status  string            `json:"status"`
	Primary bool              `json:"primary"`
	AddedAt *time.Time        `json:"added_at"` // null: the key file predates recording it
	Sealed  store.SealedCount `json:"sealed"`
}

// unknownKeyReport counts stored values sealed with a key the key file lacks.
type unknownKeyReport struct {
	Prefix string            `json:"prefix"` // hex of the value's first bytes
	KeyID  *uint32           `json:"key_id"` // null: the prefix names no key
	Sealed store.SealedCount `json:"sealed"`
}

func listKeys(ctx context.Context, env *Env, asJSON bool, st *store.Store, keys *crypto.KeyRing) error {
	counts, err := st.CountSealedByPrefix(ctx, crypto.KeyIDPrefixSize)
	if err != nil {
		return fmt.Errorf("keys list: %w", err)
	}
	byID := map[uint32]store.SealedCount{}
	var unknown []unknownKeyReport
	for prefix, n := range counts {
		id, err := crypto.KeyID([]byte(prefix))
		if err == nil {
			byID[id] = n
			continue
		}
		unknown = append(unknown, unknownKeyReport{Prefix: fmt.Sprintf("%x", prefix), Sealed: n})
	}
	var list []keyReport
	for _, k := range keys.Keys() {
		r := keyReport{ID: k.ID, Status: strings.ToLower(k.Status), Primary: k.Primary, Sealed: byID[k.ID]}
		if !k.AddedAt.IsZero() {
			at := k.AddedAt.UTC()
			r.AddedAt = &at
		}
		delete(byID, k.ID)
		list = append(list, r)
	}
	for id, n := range byID {
		unknown = append(unknown, unknownKeyReport{Prefix: fmt.Sprintf("01%08x", id), KeyID: &id, Sealed: n})
	}
	slices.SortFunc(unknown, func(a, b unknownKeyReport) int { return strings.Compare(a.Prefix, b.Prefix) })

	if asJSON {
		if unknown == nil {
			unknown = []unknownKeyReport{}
		}
		return printJSON(env.Stdout, map[string]any{"primary": keys.PrimaryKeyID(), "keys": list, "not_in_key_file": unknown})
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tPRIMARY\tADDED\tLEADS\tOTHER SEALED")
	for _, k := range list {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%d\n", k.ID, k.Status, yesNo(k.Primary), addedAt(k.AddedAt), k.Sealed.Leads, k.Sealed.Total()-k.Sealed.Leads)
	}
	tw.Flush()
	fmt.Fprintf(env.Stdout, "%d %s; ", len(list), plural(len(list), "key", "keys"))
	for _, k := range list {
		if k.Primary {
			fmt.Fprintf(env.Stdout, "the primary key %d was added %s", k.ID, addedAt(k.AddedAt))
			if k.AddedAt != nil {
				fmt.Fprintf(env.Stdout, ", %s", daysAgo(time.Since(*k.AddedAt)))
			}
		}
	}
	fmt.Fprintln(env.Stdout, ".\nOTHER SEALED: raw submissions, notes and MFA secrets in the database. Objects are not counted.")
	for _, u := range unknown {
		what := "a prefix that names no key"
		if u.KeyID != nil {
			what = fmt.Sprintf("key %d, which is not in %s", *u.KeyID, crypto.KeyFileName)
		}
		fmt.Fprintf(env.Stdout, "warning: %d stored values are sealed with %s: they cannot be read with this key file\n", u.Sealed.Total(), what)
	}
	return nil
}

// daysAgo says how long ago something was, in whole days.
func daysAgo(d time.Duration) string {
	switch days := int(d.Hours() / 24); days {
	case 0:
		return "today"
	case 1:
		return "1 day ago"
	default:
		return fmt.Sprintf("%d days ago", days)
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func addedAt(at *time.Time) string {
	if at == nil {
		return "unknown"
	}
	return when(*at)
}

func rotateKeys(ctx context.Context, env *Env, asJSON bool, cfg config.Config, st *store.Store, keys *crypto.KeyRing) error {
	previous := keys.PrimaryKeyID()
	id, err := keys.Rotate(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("keys rotate: %w", err)
	}
	n := len(keys.Keys())
	if err := st.AppendAudit(ctx, leadcap.AuditEvent{Actor: export.ActorCLI, Action: auditKeysRotate,
		Target: "key:" + strconv.FormatUint(uint64(id), 10), Result: leadcap.AuditSuccess,
		Detail: map[string]string{"previous_primary": strconv.FormatUint(uint64(previous), 10), "keys": strconv.Itoa(n)}}); err != nil {
		return fmt.Errorf("keys rotate: key %d is the new primary, but the audit trail did not record it: %w", id, err)
	}
	if asJSON {
		return printJSON(env.Stdout, map[string]any{"primary": id, "previous_primary": previous, "keys": n})
	}
	fmt.Fprintf(env.Stdout, "key %d is the new primary key (was %d); %s now holds %d keys.\n", id, previous, crypto.KeyFileName, n)
	fmt.Fprintln(env.Stdout, "Older keys stay: data sealed with them stays readable and is not re-encrypted.")
	fmt.Fprintln(env.Stdout, "Running servers on this data directory seal with the new key within a few seconds.")
	fmt.Fprintf(env.Stdout, "Copy %s to your key backup now (and to every other server sharing the database).\n",
		filepath.Join(cfg.DataDir, crypto.KeyFileName))
	return nil
}

// keyRefreshInterval is how often serve looks at the key file for a
// rotation made by another process; it costs one stat.
const keyRefreshInterval = 2 * time.Second

// refreshKeys reloads the key file whenever it changes, until ctx ends, so
// that a running server seals with a key rotated in by `leadcap keys
// rotate`, and logs each new primary key, whichever reload took it up (a
// server that meets data sealed with a key it lacks reloads at once: see
// crypto.KeyRing.Open). A bad file is logged once and the keys loaded stay.
func refreshKeys(ctx context.Context, keys *crypto.KeyRing, log *slog.Logger, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	primary, n := keys.PrimaryKeyID(), len(keys.Keys())
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if _, err := keys.Refresh(); err != nil {
			log.Error("key file refused; the keys loaded stay in use", "component", "crypto", "error", err)
		}
		if p, k := keys.PrimaryKeyID(), len(keys.Keys()); p != primary || k != n {
			primary, n = p, k
			log.Info("loaded new keys", "component", "crypto", "primary", primary, "keys", n)
		}
	}
}
