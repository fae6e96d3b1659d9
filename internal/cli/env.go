package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/leadcap/leadcap/internal/config"
	"github.com/leadcap/leadcap/internal/crypto"
	"github.com/leadcap/leadcap/internal/intake"
	"github.com/leadcap/leadcap/internal/store"
)

// common are the flags every command that touches data takes.
type common struct {
	cfg  *config.Flagged
	json bool
}

func addCommon(fs *flag.FlagSet) *common {
	c := &common{cfg: config.Flags(fs)}
	fs.BoolVar(&c.json, "json", false, "print JSON for scripts instead of a table")
	return c
}

func (c *common) load(env *Env) (config.Config, error) {
	return config.Load(c.cfg, env.Getenv)
}

// openStore opens the key ring and the database of cfg. A missing key file
// is created, with the data directory, on first use.
func openStore(ctx context.Context, cfg config.Config) (*store.Store, *crypto.KeyRing, error) {
	keys, _, err := crypto.LoadOrCreate(cfg.DataDir)
	if err != nil {
		return nil, nil, err
	}
	st, err := store.Open(ctx, cfg.DatabaseDSN(), store.Options{Sealer: keys, Merge: intake.MergeLead})
	if err != nil {
		return nil, nil, err
	}
	return st, keys, nil
}

// openMigrated opens the store and applies pending migrations, so that the
// operator's commands work on a fresh data directory as serve does.
func openMigrated(ctx context.Context, cfg config.Config) (*store.Store, error) {
	st, _, err := openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if _, err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, err
	}
	if err := st.CheckSchema(ctx); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printJSONList prints list as a JSON array, an empty one when it is nil.
func printJSONList[T any](w io.Writer, list []T) error {
	if list == nil {
		list = []T{}
	}
	return printJSON(w, list)
}

func runConfig(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "config", "config [flags]")
	c := addCommon(fs)
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	cfg, err := c.load(env)
	if err != nil {
		return err
	}
	if c.json {
		return printJSON(env.Stdout, cfg.Map())
	}
	return cfg.Write(env.Stdout)
}

func runMigrate(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "migrate", "migrate [flags]")
	c := addCommon(fs)
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	cfg, err := c.load(env)
	if err != nil {
		return err
	}
	st, _, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	applied, err := st.Migrate(ctx)
	if err != nil {
		return err
	}
	cur, _, err := st.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if c.json {
		return printJSON(env.Stdout, map[string]any{"applied": applied, "version": cur})
	}
	for _, name := range applied {
		fmt.Fprintf(env.Stdout, "applied %s\n", name)
	}
	fmt.Fprintf(env.Stdout, "%d migrations applied; schema version %d\n", len(applied), cur)
	return nil
}
