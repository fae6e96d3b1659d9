// Package config resolves leadcap's one typed configuration, once, at start:
// defaults, then an optional config file, then LEADCAP_* environment
// variables, then command-line flags. A secret may be read from a file named
// by the variable with _FILE appended (LEADCAP_DATABASE_URL_FILE).
package config

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config is the whole of leadcap's configuration.
type Config struct {
	Listen          string         // address of the HTTP listener
	DataDir         string         // SQLite database, object directory and key file
	DatabaseURL     string         // postgres://... ; empty: SQLite in DataDir
	BlobURL         string         // object store; empty: DataDir/objects
	PublicURL       string         // base URL of the booth form links and QR codes
	LogFormat       string         // json or text
	LogLevel        string         // debug, info, warn or error
	AdminEmail      string         // email of the first admin, created on first start
	TrustedProxies  []netip.Prefix // peers whose X-Forwarded-For is believed
	MaxBodyBytes    int64          // largest lead submission body
	ShutdownTimeout time.Duration  // how long SIGTERM waits for requests and workers
	OutboxInterval  time.Duration  // how often the outbox worker looks for work
	OutboxLease     time.Duration  // how long a claimed raw copy is left to its worker before another may take it
	ExportRetention time.Duration  // how long stored exports are kept
	ExportLinkTTL   time.Duration  // how long an export's download link works by default
	ExportSyncRows  int64          // exports of more leads run in the background
	KioskIdle       time.Duration  // kiosk mode: an untouched form is emptied after this
	KioskThanks     time.Duration  // kiosk mode: how long the thank-you screen shows
	BackupInterval  time.Duration  // how often serve takes a backup; 0: never
	BackupRetention time.Duration  // how long backups are kept

	// Observability: metrics, alarms and their notifications.
	NodeName           string         // this server's name in alarms; default the host name (see Node)
	MetricsAllow       []netip.Prefix // networks besides loopback that /metrics answers
	MetricsToken       string         // if set, /metrics also wants "Authorization: Bearer <token>"
	DebugListen        string         // loopback address of Go's profiler (net/http/pprof); empty: off
	AlarmInterval      time.Duration  // how often the alarm evaluator samples the metrics
	AlarmRules         string         // changes to the default alarm rules, e.g. api_5xx=10/5m,failed_logins=off
	AlarmWebhookURL    string         // where alarm changes are posted as signed JSON
	AlarmWebhookSecret string         // HMAC-SHA256 key of the webhook signature
	AlarmEmail         []string       // who gets alarm changes by email
	SMTPURL            string         // smtp://user:password@host:587 or smtps://...
	SMTPFrom           string         // sender address of leadcap's email
	// Identity: console sessions and passwords.
	SessionIdleTimeout time.Duration // a console session idle this long ends
	SessionMaxAge      time.Duration // a console session ends this long after sign-in
	TempPasswordTTL    time.Duration // a temporary password stops working after
	RequireAdminMFA    bool          // an admin without MFA can only enrol

	Shield Shield // abuse protection and HTTP hardening (shield.go)
}

// Default returns the zero-configuration settings.
func Default() Config {
	return Config{
		Listen:          ":8080",
		DataDir:         "./data",
		LogFormat:       "json",
		LogLevel:        "info",
		AdminEmail:      "admin@localhost",
		MaxBodyBytes:    64 << 10,
		ShutdownTimeout: 20 * time.Second,
		OutboxInterval:  time.Second,
		OutboxLease:     2 * time.Minute,
		ExportRetention: 365 * 24 * time.Hour,
		ExportLinkTTL:   15 * time.Minute,
		ExportSyncRows:  10_000,
		KioskIdle:       90 * time.Second,
		KioskThanks:     6 * time.Second,
		BackupInterval:  time.Hour,
		BackupRetention: 35 * 24 * time.Hour, // as DynamoDB's point-in-time recovery
		AlarmInterval:   5 * time.Second,

		SessionIdleTimeout: 2 * time.Hour,
		SessionMaxAge:      12 * time.Hour,
		TempPasswordTTL:    7 * 24 * time.Hour,
		RequireAdminMFA:    true,
		Shield:             defaultShield(),
	}
}

// setting describes one configuration value: its name in files and the
// environment (LEADCAP_ + upper-case), its flag, and how to read and write it.
type setting struct {
	name   string // e.g. "database_url"
	help   string
	secret bool
	get    func(*Config) string
	set    func(*Config, string) error
}

func str(p func(*Config) *string) (func(*Config) string, func(*Config, string) error) {
	return func(c *Config) string { return *p(c) }, func(c *Config, v string) error { *p(c) = v; return nil }
}

func dur(p func(*Config) *time.Duration) (func(*Config) string, func(*Config, string) error) {
	return func(c *Config) string { return p(c).String() }, func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("not a duration like 30s or 5m: %q", v)
		}
		*p(c) = d
		return nil
	}
}

func settings() []setting {
	var s []setting
	add := func(name, help string, secret bool, get func(*Config) string, set func(*Config, string) error) {
		s = append(s, setting{name, help, secret, get, set})
	}
	g, st := str(func(c *Config) *string { return &c.Listen })
	add("listen", "address to listen on", false, g, st)
	g, st = str(func(c *Config) *string { return &c.DataDir })
	add("data_dir", "directory for the SQLite database, objects and keys", false, g, st)
	g, st = str(func(c *Config) *string { return &c.DatabaseURL })
	add("database_url", "PostgreSQL URL (postgres://...); empty for SQLite in the data dir", true, g, st)
	g, st = str(func(c *Config) *string { return &c.BlobURL })
	add("blob_url", "object store; empty for a directory in the data dir", true, g, st)
	g, st = str(func(c *Config) *string { return &c.PublicURL })
	add("public_url", "public base URL of the booth forms, e.g. https://leads.example.com", false, g, st)
	g, st = str(func(c *Config) *string { return &c.LogFormat })
	add("log_format", "json or text", false, g, st)
	g, st = str(func(c *Config) *string { return &c.LogLevel })
	add("log_level", "debug, info, warn or error", false, g, st)
	g, st = str(func(c *Config) *string { return &c.AdminEmail })
	add("admin_email", "email of the first admin, created on first start", false, g, st)
	gp, sp := prefixes(func(c *Config) *[]netip.Prefix { return &c.TrustedProxies })
	add("trusted_proxies", "comma-separated IPs or CIDRs of reverse proxies whose X-Forwarded-For is used", false, gp, sp)
	add("max_body_bytes", "largest accepted lead submission, in bytes", false,
		func(c *Config) string { return strconv.FormatInt(c.MaxBodyBytes, 10) },
		func(c *Config, v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return fmt.Errorf("not a whole number: %q", v)
			}
			c.MaxBodyBytes = n
			return nil
		})
	gd, sd := dur(func(c *Config) *time.Duration { return &c.ShutdownTimeout })
	add("shutdown_timeout", "how long a stop waits for requests and workers", false, gd, sd)
	gd, sd = dur(func(c *Config) *time.Duration { return &c.OutboxInterval })
	add("outbox_interval", "how often the outbox worker looks for raw copies to write", false, gd, sd)
	gd, sd = dur(func(c *Config) *time.Duration { return &c.OutboxLease })
	add("outbox_lease", "how long raw copies a worker claimed wait for it (after a crash, for the next) before another takes them", false, gd, sd)
	gd, sd = daysOrDuration(func(c *Config) *time.Duration { return &c.ExportRetention })
	add("export_retention", "how long stored exports are kept before they are removed, e.g. 365d or 720h", false, gd, sd)
	gd, sd = dur(func(c *Config) *time.Duration { return &c.ExportLinkTTL })
	add("export_link_ttl", "how long an export's download link works unless asked otherwise", false, gd, sd)
	add("export_sync_rows", "exports of up to this many leads are written while the request waits; larger ones run in the background", false,
		func(c *Config) string { return strconv.FormatInt(c.ExportSyncRows, 10) },
		func(c *Config, v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return fmt.Errorf("not a whole number: %q", v)
			}
			c.ExportSyncRows = n
			return nil
		})
	gd, sd = dur(func(c *Config) *time.Duration { return &c.KioskIdle })
	add("kiosk_idle", "kiosk mode: an untouched booth form is emptied after this", false, gd, sd)
	gd, sd = dur(func(c *Config) *time.Duration { return &c.KioskThanks })
	add("kiosk_thanks", "kiosk mode: how long the thank-you screen shows", false, gd, sd)
	g, st = str(func(c *Config) *string { return &c.NodeName })
	add("node_name", "this server's name in alarms (default: the host name)", false, g, st)
	gp, sp = prefixes(func(c *Config) *[]netip.Prefix { return &c.MetricsAllow })
	add("metrics_allow", "comma-separated IPs or CIDRs besides loopback that /metrics answers", false, gp, sp)
	g, st = str(func(c *Config) *string { return &c.MetricsToken })
	add("metrics_token", "if set, /metrics also wants this bearer token", true, g, st)
	g, st = str(func(c *Config) *string { return &c.DebugListen })
	add("debug_listen", "loopback address for Go's profiler, e.g. 127.0.0.1:6060; empty: off", false, g, st)
	gd, sd = dur(func(c *Config) *time.Duration { return &c.AlarmInterval })
	add("alarm_interval", "how often the alarm evaluator samples the metrics", false, gd, sd)
	g, st = str(func(c *Config) *string { return &c.AlarmRules })
	add("alarm_rules", "changes to the default alarm rules: NAME=THRESHOLD/WINDOW, outbox_lag=DURATION or NAME=off, comma-separated", false, g, st)
	g, st = str(func(c *Config) *string { return &c.AlarmWebhookURL })
	add("alarm_webhook_url", "URL that alarm changes are posted to as signed JSON", true, g, st)
	g, st = str(func(c *Config) *string { return &c.AlarmWebhookSecret })
	add("alarm_webhook_secret", "key of the webhook's HMAC-SHA256 signature", true, g, st)
	add("alarm_email", "comma-separated addresses that get alarm changes by email", false,
		func(c *Config) string { return strings.Join(c.AlarmEmail, ",") },
		func(c *Config, v string) error {
			c.AlarmEmail = nil
			for _, a := range strings.Split(v, ",") {
				if a = strings.TrimSpace(a); a != "" {
					c.AlarmEmail = append(c.AlarmEmail, a)
				}
			}
			return nil
		})
	g, st = str(func(c *Config) *string { return &c.SMTPURL })
	add("smtp_url", "mail server: smtp://user:password@host:587 (STARTTLS) or smtps://user:password@host:465", true, g, st)
	g, st = str(func(c *Config) *string { return &c.SMTPFrom })
	add("smtp_from", "sender address of leadcap's email", false, g, st)
	gd, sd = dur(func(c *Config) *time.Duration { return &c.SessionIdleTimeout })
	add("session_idle_timeout", "a console session idle this long ends", false, gd, sd)
	gd, sd = dur(func(c *Config) *time.Duration { return &c.SessionMaxAge })
	add("session_max_age", "a console session ends this long after sign-in, however active", false, gd, sd)
	gd, sd = dur(func(c *Config) *time.Duration { return &c.TempPasswordTTL })
	add("temp_password_ttl", "a temporary password (new user, reset) stops working after this long", false, gd, sd)
	add("require_admin_mfa", "true: an admin without MFA can do nothing but enrol", false,
		func(c *Config) string { return strconv.FormatBool(c.RequireAdminMFA) },
		func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("want true or false, got %q", v)
			}
			c.RequireAdminMFA = b
			return nil
		})
	backupSettings(add)
	shieldSettings(add)
	return s
}

// days writes a whole number of days as "365d", anything else as a duration.
func days(d time.Duration) string {
	if d > 0 && d%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	return d.String()
}

// daysOrDuration reads and writes a duration as days or a duration.
func daysOrDuration(p func(*Config) *time.Duration) (func(*Config) string, func(*Config, string) error) {
	return func(c *Config) string { return days(*p(c)) }, func(c *Config, v string) error {
		d, err := parseDays(v)
		*p(c) = d
		return err
	}
}

// parseDays reads "365d" or a duration like "720h".
func parseDays(v string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(v, "d"); ok {
		if d, err := strconv.Atoi(n); err == nil && d > 0 && d < 100*366 {
			return time.Duration(d) * 24 * time.Hour, nil
		}
	} else if d, err := time.ParseDuration(v); err == nil {
		return d, nil
	}
	return 0, fmt.Errorf("not a number of days like 365d or a duration like 720h: %q", v)
}

// prefixes reads and writes a comma-separated list of IPs and CIDRs.
func prefixes(p func(*Config) *[]netip.Prefix) (func(*Config) string, func(*Config, string) error) {
	return func(c *Config) string {
			var out []string
			for _, pr := range *p(c) {
				out = append(out, pr.String())
			}
			return strings.Join(out, ",")
		},
		func(c *Config, v string) error {
			*p(c) = nil
			for _, f := range strings.Split(v, ",") {
				if f = strings.TrimSpace(f); f == "" {
					continue
				}
				pr, err := netip.ParsePrefix(f)
				if err != nil {
					a, aerr := netip.ParseAddr(f)
					if aerr != nil {
						return fmt.Errorf("not an IP or CIDR: %q", f)
					}
					pr = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
				}
				*p(c) = append(*p(c), pr.Masked())
			}
			return nil
		}
}

func envName(name string) string  { return "LEADCAP_" + strings.ToUpper(name) }
func flagName(name string) string { return strings.ReplaceAll(name, "_", "-") }

// Flags registers a flag for every setting on fs, plus --config. Call Load
// after fs.Parse.
func Flags(fs *flag.FlagSet) *Flagged {
	f := &Flagged{set: map[string]string{}}
	fs.StringVar(&f.file, "config", "", "config file of LEADCAP_NAME=value lines (default $LEADCAP_CONFIG)")
	for _, s := range settings() {
		fs.Func(flagName(s.name), s.help+" (env "+envName(s.name)+")", func(v string) error {
			f.set[s.name] = v
			return s.set(&Config{}, v) // check the value's form now, for a clear flag error
		})
	}
	return f
}

// Flagged holds the flags given on a command line.
type Flagged struct {
	file string
	set  map[string]string
}

// Load resolves the configuration: defaults < file < environment < flags.
// getenv is os.Getenv in production. Every bad value is named in the error.
func Load(f *Flagged, getenv func(string) string) (Config, error) {
	c := Default()
	var errs []error
	file := f.file
	if file == "" {
		file = getenv("LEADCAP_CONFIG")
	}
	byName := map[string]setting{}
	for _, s := range settings() {
		byName[s.name] = s
	}
	if file != "" {
		values, err := readFile(file)
		if err != nil {
			return c, err
		}
		for _, kv := range values {
			name := strings.ToLower(strings.TrimPrefix(kv.key, "LEADCAP_"))
			s, ok := byName[name]
			if !ok {
				errs = append(errs, fmt.Errorf("%s:%d: unknown setting %s", file, kv.line, kv.key))
				continue
			}
			if err := s.set(&c, kv.value); err != nil {
				errs = append(errs, fmt.Errorf("%s:%d: %s: %w", file, kv.line, kv.key, err))
			}
		}
	}
	for _, s := range settings() {
		env := envName(s.name)
		v := getenv(env)
		if path := getenv(env + "_FILE"); path != "" {
			b, err := os.ReadFile(path)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s_FILE: %w", env, err))
				continue
			}
			v = strings.TrimRight(string(b), "\r\n")
		}
		if v == "" {
			continue
		}
		if err := s.set(&c, v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", env, err))
		}
	}
	for name, v := range f.set {
		if err := byName[name].set(&c, v); err != nil {
			errs = append(errs, fmt.Errorf("--%s: %w", flagName(name), err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	return c, c.Validate()
}

type keyValue struct {
	key, value string
	line       int
}

// readFile reads NAME=value lines; blank lines and # comments are skipped,
// and a value may be quoted.
func readFile(path string) ([]keyValue, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var out []keyValue
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("config: %s:%d: want NAME=value, got %q", path, n, line)
		}
		v = strings.TrimSpace(v)
		if uq, err := strconv.Unquote(v); err == nil {
			v = uq
		}
		out = append(out, keyValue{strings.TrimSpace(k), v, n})
	}
	return out, sc.Err()
}

// Validate checks every setting and names each bad one.
func (c Config) Validate() error {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{envName(name)}, args...)...))
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		bad("listen", "want host:port like :8080, got %q", c.Listen)
	}
	if c.DataDir == "" {
		bad("data_dir", "must not be empty")
	}
	if c.DebugListen != "" {
		// The profiler shows the server's memory and command line to
		// whoever reaches it: never on a network address.
		host, _, err := net.SplitHostPort(c.DebugListen)
		ip, perr := netip.ParseAddr(host)
		if err != nil || (host != "localhost" && (perr != nil || !ip.IsLoopback())) {
			bad("debug_listen", "want a loopback host:port like 127.0.0.1:6060, got %q", c.DebugListen)
		}
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		bad("database_url", "want a postgres:// URL or nothing (SQLite in the data dir)")
	}
	if c.BlobURL != "" && !strings.HasPrefix(c.BlobURL, "file://") {
		bad("blob_url", "want file:///path or nothing (a directory in the data dir)")
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("public_url", "want an http(s) URL like https://leads.example.com, got %q", c.PublicURL)
		}
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		bad("log_format", "want json or text, got %q", c.LogFormat)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("log_level", "want debug, info, warn or error, got %q", c.LogLevel)
	}
	if !strings.Contains(c.AdminEmail, "@") {
		bad("admin_email", "want an email address, got %q", c.AdminEmail)
	}
	if c.MaxBodyBytes < 1024 || c.MaxBodyBytes > 10<<20 {
		bad("max_body_bytes", "want 1024 to 10485760, got %d", c.MaxBodyBytes)
	}
	if c.ShutdownTimeout <= 0 {
		bad("shutdown_timeout", "must be positive")
	}
	if c.OutboxInterval < 10*time.Millisecond {
		bad("outbox_interval", "must be at least 10ms")
	}
	if c.OutboxLease < time.Second {
		bad("outbox_lease", "must be at least 1s")
	}
	if c.ExportRetention < time.Hour {
		bad("export_retention", "must be at least an hour")
	}
	if c.ExportLinkTTL < time.Second || c.ExportLinkTTL > 7*24*time.Hour {
		bad("export_link_ttl", "want 1s to 168h (7 days), got %s", c.ExportLinkTTL)
	}
	if c.ExportSyncRows < 1 {
		bad("export_sync_rows", "must be at least 1")
	}
	if c.KioskIdle < time.Second || c.KioskIdle > 24*time.Hour {
		bad("kiosk_idle", "want 1s to 24h, got %s", c.KioskIdle)
	}
	if c.KioskThanks < time.Second || c.KioskThanks > time.Minute {
		bad("kiosk_thanks", "want 1s to 1m, got %s", c.KioskThanks)
	}
	c.validateObservability(bad)
	c.validateBackup(bad)
	if c.SessionIdleTimeout < time.Minute {
		bad("session_idle_timeout", "must be at least 1m")
	}
	if c.SessionMaxAge < c.SessionIdleTimeout {
		bad("session_max_age", "must be at least the idle timeout (%s)", c.SessionIdleTimeout)
	}
	if c.TempPasswordTTL < time.Hour || c.TempPasswordTTL > 90*24*time.Hour {
		bad("temp_password_ttl", "want 1h to 2160h (90 days)")
	}
	c.validateShield(bad)
	return errors.Join(errs...)
}

// DatabaseDSN returns the database to open: DatabaseURL, or the SQLite file
// in the data directory.
func (c Config) DatabaseDSN() string {
	if c.DatabaseURL != "" {
		return c.DatabaseURL
	}
	return filepath.Join(c.DataDir, "leadcap.db")
}

// SecureCookies reports whether cookies must be marked Secure even on a
// plain-HTTP request: the public URL is https, so TLS ends at a proxy in
// front of leadcap.
func (c Config) SecureCookies() bool { return strings.HasPrefix(c.PublicURL, "https://") }

// BlobDir returns the directory of the local object store.
func (c Config) BlobDir() string {
	if c.BlobURL != "" {
		return strings.TrimPrefix(c.BlobURL, "file://")
	}
	return filepath.Join(c.DataDir, "objects")
}

// Write prints every setting as NAME=value lines, secrets redacted.
func (c Config) Write(w io.Writer) error {
	for _, s := range settings() {
		v := s.get(&c)
		if s.secret && v != "" {
			v = redact(v)
		}
		if _, err := fmt.Fprintf(w, "%s=%s\n", envName(s.name), v); err != nil {
			return err
		}
	}
	return nil
}

// Map returns every setting by its environment name, secrets redacted.
func (c Config) Map() map[string]string {
	out := map[string]string{}
	for _, s := range settings() {
		v := s.get(&c)
		if s.secret && v != "" {
			v = redact(v)
		}
		out[envName(s.name)] = v
	}
	return out
}

// redact hides a secret; a URL keeps its scheme and host so an operator can
// tell which server it names.
func redact(v string) string {
	if u, err := url.Parse(v); err == nil && u.Scheme != "" && u.Host != "" {
		return u.Scheme + "://" + "REDACTED@" + u.Host + u.Path
	}
	return "REDACTED"
}
