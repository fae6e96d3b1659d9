// Package cli is leadcap's command line: the server and the operator's
// tools, one file per command group, all over the same packages.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/metrics"
)

// Env is what a command may touch of the outside world.
type Env struct {
	Getenv func(string) string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Ready, if set, is called by serve with its listening address once it
	// accepts connections (tests use it to find a port-0 server).
	Ready func(addr string)
	// Metrics, if set, is called by serve with the server's metrics before
	// it listens (tests record through it the events of code that does not
	// record them yet).
	Metrics func(*metrics.Metrics)
}

// command is one subcommand; run gets the arguments after its name.
type command struct {
	summary string
	run     func(ctx context.Context, env *Env, args []string) error
}

func commands() map[string]command {
	return map[string]command{
		"serve":       {"run the server: booth forms, console, API and background workers", runServe},
		"migrate":     {"apply database migrations", runMigrate},
		"config":      {"print the effective configuration, secrets redacted", runConfig},
		"version":     {"print the version", runVersion},
		"conferences": {"create, list, show, update, open and close conferences", runConferences},
		"export":      {"write leads to a CSV, JSON, NDJSON or XLSX file", runExport},
		"exports":     {"list, delete and purge expired stored exports", runExports},
		"shield":      {"block and allow IPs, ranges and countries; the block log; quarantined leads", runShield},
		"kiosk":       {"make, list and revoke signed kiosk device links for shared tablets", runKiosk},
		"alarms":      {"list alarms, show their history, send a test notification", runAlarms},
		"status":      {"the daily check: leads, errors, blocked requests, storage, alarms, backups", runStatus},
		"users":       {"create, list, show, disable, enable, reset and delete users; their auth events", runUsers},
		"tokens":      {"create, list and revoke personal access tokens for the API", runTokens},
		"audit":       {"list the audit trail; verify its hash chain", runAudit},
		"leads":       {"erase a person's leads (GDPR); archive old leads to a file", runLeads},
		"objects":     {"list, measure, get, restore and purge objects and their versions", runObjects},
		"backup":      {"take, list, verify and prune backups of the database", runBackup},
		"restore":     {"restore a backup, by time or key, into a new database", runRestore},
		"keys":        {"list the encryption keys and what each seals; rotate to a new primary key", runKeys},
	}
}

// Run runs the leadcap command line with args (without the program name).
func Run(ctx context.Context, args []string, env *Env) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(env.Stdout)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	cmd, ok := commands()[args[0]]
	if !ok {
		usage(env.Stderr)
		return fmt.Errorf("unknown command %q", args[0])
	}
	return cmd.run(ctx, env, args[1:])
}

// ErrorText is err as the command line shows it: a leadcap error by its
// message, without the "leadcap: code:" that its Error method starts with,
// and each invalid field on a line of its own.
func ErrorText(err error) string {
	var le *leadcap.Error
	if !errors.As(err, &le) {
		return err.Error()
	}
	var b strings.Builder
	b.WriteString(le.Message)
	names := make([]string, 0, len(le.Fields))
	for name := range le.Fields {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(&b, "\n  %s: %s", name, le.Fields[name])
	}
	return strings.Replace(err.Error(), le.Error(), b.String(), 1)
}

// errUsage means the usage was printed; the exit code is 2.
var errUsage = errors.New("usage")

// ExitCode maps an error from Run to a process exit code.
func ExitCode(err error) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	}
	return 1
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "leadcap %s: lead capture for trade shows and conferences\n\nUsage: leadcap COMMAND [flags]\n\nCommands:\n", leadcap.Version)
	cmds := commands()
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-12s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'leadcap COMMAND -h' for a command's flags. Every setting also comes from LEADCAP_* variables.")
}

// newFlags returns a flag set that prints its errors to env.Stderr.
func newFlags(env *Env, name, usageLine string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "Usage: leadcap %s\n\nFlags:\n", usageLine)
		fs.PrintDefaults()
	}
	return fs
}

// parseArgs parses flags that may come before or after positional arguments
// (leadcap conferences open SLUG --data-dir X).
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func runVersion(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "version", "version")
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "leadcap %s\n", leadcap.Version)
	return nil
}
