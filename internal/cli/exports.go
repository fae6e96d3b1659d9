package cli

import (
	"context"
	"fmt"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/blob"
	"github.com/leadcap/leadcap/internal/config"
	"github.com/leadcap/leadcap/internal/crypto"
	"github.com/leadcap/leadcap/internal/export"
)

const exportsUsage = `exports list|delete|purge-expired [ID] [flags]

  list             the stored exports, newest first (made through the API)
  delete ID        remove one: every version of its file, and its record
  purge-expired    remove the exports past their retention, as the server does every hour`

func runExports(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "exports", exportsUsage)
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
	if want := map[string]int{"list": 0, "delete": 1, "purge-expired": 0}; want[verb] != len(rest) {
		if verb == "delete" {
			return fmt.Errorf("exports delete: want one export id")
		}
		if _, known := want[verb]; known {
			return fmt.Errorf("exports %s: unexpected argument %q", verb, rest[0])
		}
		return fmt.Errorf("exports: unknown verb %q (want list, delete or purge-expired)", verb)
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
	objects, err := blob.OpenDir(cfg.BlobDir())
	if err != nil {
		return err
	}
	defer objects.Close()
	auditor := export.StoreAuditor{Store: st}
	cli := export.Meta{Actor: export.Actor{Name: export.ActorCLI}}

	switch verb {
	case "list":
		list, err := st.Exports(ctx, "", 1000)
		if err != nil {
			return err
		}
		if c.json {
			return printJSONList(env.Stdout, list)
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tFORMAT\tCOLUMNS\tSTATUS\tROWS\tSIZE\tCREATED\tEXPIRES")
		for _, e := range list {
			status := e.Status
			if e.Status == leadcap.ExportRunning {
				status = fmt.Sprintf("running %d/%d", e.Rows, e.Total)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", e.ID, e.Format, e.Columns, status, e.Rows,
				humanBytes(e.Bytes), e.CreatedAt.Local().Format(time.DateTime), e.ExpiresAt.Local().Format(time.DateOnly))
		}
		tw.Flush()
		fmt.Fprintf(env.Stdout, "%d exports\n", len(list))
		return nil
	case "delete":
		keys, err := loadKeys(cfg)
		if err != nil {
			return err
		}
		s := export.NewService(ctx, export.Config{Store: st, Blob: objects, Keys: keys, Auditor: auditor,
			Log: slog.New(slog.NewTextHandler(env.Stderr, nil))})
		if err := s.Delete(ctx, rest[0], cli); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "export %s deleted\n", rest[0])
		return nil
	case "purge-expired":
		j := &export.Janitor{Store: st, Blob: objects, Auditor: auditor, Log: slog.New(slog.NewTextHandler(env.Stderr, nil))}
		n, err := j.RunOnce(ctx)
		if err != nil {
			return err
		}
		if c.json {
			return printJSON(env.Stdout, n)
		}
		fmt.Fprintf(env.Stdout, "%d expired exports removed, %d stalled exports failed\n", n.Expired, n.Stale)
		return nil
	}
	return nil
}

// loadKeys loads the key ring of cfg, which openMigrated made sure exists.
func loadKeys(cfg config.Config) (*crypto.KeyRing, error) {
	return crypto.Load(cfg.DataDir)
}
