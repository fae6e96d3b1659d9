package config_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leadcap/leadcap/internal/config"
)

func load(t *testing.T, args []string, env map[string]string) (config.Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	f := config.Flags(fs)
	if err := fs.Parse(args); err != nil {
		return config.Config{}, err
	}
	return config.Load(f, func(k string) string { return env[k] })
}

func TestDefaultsNeedNothing(t *testing.T) {
	c, err := load(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != ":8080" || c.DataDir != "./data" || c.DatabaseDSN() != filepath.Join("data", "leadcap.db") || c.BlobDir() != filepath.Join("data", "objects") {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestExportSettings(t *testing.T) {
	c, err := load(t, nil, nil)
	if err != nil || c.ExportRetention != 365*24*time.Hour || c.ExportLinkTTL != 15*time.Minute || c.ExportSyncRows != 10000 {
		t.Fatalf("defaults: %v %v %v, %v", c.ExportRetention, c.ExportLinkTTL, c.ExportSyncRows, err)
	}
	if c.Map()["LEADCAP_EXPORT_RETENTION"] != "365d" {
		t.Errorf("retention shown as %q", c.Map()["LEADCAP_EXPORT_RETENTION"])
	}
	c, err = load(t, []string{"--export-retention", "30d", "--export-link-ttl", "1h"}, map[string]string{"LEADCAP_EXPORT_SYNC_ROWS": "500"})
	if err != nil || c.ExportRetention != 30*24*time.Hour || c.ExportLinkTTL != time.Hour || c.ExportSyncRows != 500 {
		t.Fatalf("set: %v %v %v, %v", c.ExportRetention, c.ExportLinkTTL, c.ExportSyncRows, err)
	}
	if c, _ := load(t, nil, map[string]string{"LEADCAP_EXPORT_RETENTION": "36h"}); c.ExportRetention != 36*time.Hour {
		t.Errorf("retention as a duration: %v", c.ExportRetention)
	}
}

func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "leadcap.conf")
	os.WriteFile(file, []byte("# comment\nLEADCAP_LISTEN=:7000\nLEADCAP_LOG_LEVEL=debug\nLEADCAP_DATA_DIR=\"/from/file\"\n"), 0o600)
	secret := filepath.Join(dir, "db")
	os.WriteFile(secret, []byte("postgres://leadcap:s3cret@db.example:5432/leads\n"), 0o600)
	env := map[string]string{
		"LEADCAP_CONFIG":            file,
		"LEADCAP_LOG_LEVEL":         "warn",
		"LEADCAP_DATABASE_URL_FILE": secret,
		"LEADCAP_TRUSTED_PROXIES":   "10.0.0.0/8, 192.0.2.1, ::ffff:198.51.100.7",
	}
	c, err := load(t, []string{"--data-dir", "/from/flag"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != ":7000" { // file
		t.Errorf("listen %q from the file", c.Listen)
	}
	if c.LogLevel != "warn" { // env beats file
		t.Errorf("log level %q: env should beat the file", c.LogLevel)
	}
	if c.DataDir != "/from/flag" { // flag beats file
		t.Errorf("data dir %q: flag should win", c.DataDir)
	}
	if c.DatabaseURL != "postgres://leadcap:s3cret@db.example:5432/leads" {
		t.Errorf("database url from _FILE: %q", c.DatabaseURL)
	}
	if len(c.TrustedProxies) != 3 || c.TrustedProxies[2].String() != "198.51.100.7/32" {
		t.Errorf("trusted proxies %v", c.TrustedProxies)
	}
	var out strings.Builder
	c.Write(&out)
	if strings.Contains(out.String(), "s3cret") || !strings.Contains(out.String(), "LEADCAP_DATABASE_URL=postgres://REDACTED@db.example:5432/leads") {
		t.Errorf("secret not redacted:\n%s", out.String())
	}
	if c.Map()["LEADCAP_DATABASE_URL"] == c.DatabaseURL {
		t.Error("Map does not redact the database URL")
	}
}

func TestBadSettingsAreNamed(t *testing.T) {
	tests := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{nil, map[string]string{"LEADCAP_LISTEN": "8080"}, "LEADCAP_LISTEN"},
		{nil, map[string]string{"LEADCAP_LOG_FORMAT": "xml"}, "LEADCAP_LOG_FORMAT"},
		{nil, map[string]string{"LEADCAP_DATABASE_URL": "mysql://x"}, "LEADCAP_DATABASE_URL"},
		{nil, map[string]string{"LEADCAP_SHUTDOWN_TIMEOUT": "soon"}, "LEADCAP_SHUTDOWN_TIMEOUT"},
		{nil, map[string]string{"LEADCAP_MAX_BODY_BYTES": "12"}, "LEADCAP_MAX_BODY_BYTES"},
		{nil, map[string]string{"LEADCAP_TRUSTED_PROXIES": "10.0.0.0/99"}, "LEADCAP_TRUSTED_PROXIES"},
		{nil, map[string]string{"LEADCAP_PUBLIC_URL": "ftp://x"}, "LEADCAP_PUBLIC_URL"},
		{nil, map[string]string{"LEADCAP_DATABASE_URL_FILE": "/no/such/file"}, "LEADCAP_DATABASE_URL_FILE"},
		{[]string{"--outbox-interval", "1ns"}, nil, "LEADCAP_OUTBOX_INTERVAL"},
		{nil, map[string]string{"LEADCAP_OUTBOX_LEASE": "100ms"}, "LEADCAP_OUTBOX_LEASE"},
		{nil, map[string]string{"LEADCAP_EXPORT_RETENTION": "a year"}, "LEADCAP_EXPORT_RETENTION"},
		{nil, map[string]string{"LEADCAP_EXPORT_RETENTION": "1m"}, "LEADCAP_EXPORT_RETENTION"},
		{nil, map[string]string{"LEADCAP_EXPORT_LINK_TTL": "8d"}, "LEADCAP_EXPORT_LINK_TTL"},
		{nil, map[string]string{"LEADCAP_EXPORT_LINK_TTL": "169h"}, "LEADCAP_EXPORT_LINK_TTL"},
		{nil, map[string]string{"LEADCAP_EXPORT_SYNC_ROWS": "0"}, "LEADCAP_EXPORT_SYNC_ROWS"},
		{nil, map[string]string{"LEADCAP_DEBUG_LISTEN": ":6060"}, "LEADCAP_DEBUG_LISTEN"},
		{nil, map[string]string{"LEADCAP_DEBUG_LISTEN": "0.0.0.0:6060"}, "LEADCAP_DEBUG_LISTEN"},
		{nil, map[string]string{"LEADCAP_DEBUG_LISTEN": "10.0.0.5:6060"}, "LEADCAP_DEBUG_LISTEN"},
		{nil, map[string]string{"LEADCAP_DEBUG_LISTEN": "127.0.0.1"}, "LEADCAP_DEBUG_LISTEN"},
	}
	for _, ok := range []string{"127.0.0.1:6060", "[::1]:6060", "localhost:6060"} {
		if _, err := load(t, nil, map[string]string{"LEADCAP_DEBUG_LISTEN": ok}); err != nil {
			t.Errorf("LEADCAP_DEBUG_LISTEN=%s refused: %v", ok, err)
		}
	}
	for _, tt := range tests {
		_, err := load(t, tt.args, tt.env)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v %v: error %v, want one naming %s", tt.args, tt.env, err, tt.want)
		}
	}
	// A bad flag value fails at parse time, naming the flag.
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(&strings.Builder{})
	config.Flags(fs)
	if err := fs.Parse([]string{"--shutdown-timeout", "never"}); err == nil || !strings.Contains(err.Error(), "shutdown-timeout") {
		t.Errorf("bad flag: %v", err)
	}
}

func TestConfigFileErrors(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"unknown":  "LEADCAP_NOPE=1\n",
		"no equal": "LEADCAP_LISTEN\n",
	} {
		file := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
		os.WriteFile(file, []byte(body), 0o600)
		if _, err := load(t, []string{"--config", file}, nil); err == nil || !strings.Contains(err.Error(), file) {
			t.Errorf("%s: %v, want an error naming the file", name, err)
		}
	}
}
