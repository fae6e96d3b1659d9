package config

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func load(t *testing.T, env map[string]string) (Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	f := Flags(fs)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	return Load(f, func(k string) string { return env[k] })
}

func TestObservabilitySettings(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(secretFile, []byte("token-from-a-file-0123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := map[string]string{
		"LEADCAP_NODE_NAME":            "web-1.example",
		"LEADCAP_METRICS_ALLOW":        "10.0.0.0/8, 192.0.2.7",
		"LEADCAP_METRICS_TOKEN_FILE":   secretFile,
		"LEADCAP_ALARM_INTERVAL":       "2s",
		"LEADCAP_ALARM_RULES":          "api_5xx=5/1m",
		"LEADCAP_ALARM_WEBHOOK_URL":    "https://hooks.example.com/leadcap?key=abc",
		"LEADCAP_ALARM_WEBHOOK_SECRET": "a-webhook-secret-of-length",
		"LEADCAP_ALARM_EMAIL":          "ops@example.com, oncall@example.com",
		"LEADCAP_SMTP_URL":             "smtp://alerts:pw@mail.example.com:587",
		"LEADCAP_SMTP_FROM":            "leadcap@example.com",
	}
	c, err := load(t, good)
	if err != nil {
		t.Fatal(err)
	}
	if c.Node() != "web-1.example" || len(c.MetricsAllow) != 2 || c.MetricsAllow[1].String() != "192.0.2.7/32" ||
		c.MetricsToken != "token-from-a-file-0123" || c.AlarmInterval != 2*time.Second || len(c.AlarmEmail) != 2 {
		t.Fatalf("config: %+v", c)
	}
	var b strings.Builder
	c.Write(&b)
	for _, secret := range []string{"token-from-a-file", "a-webhook-secret", "key=abc", "alerts:pw"} {
		if strings.Contains(b.String(), secret) {
			t.Errorf("config dump shows %q:\n%s", secret, b.String())
		}
	}

	tests := []struct {
		change map[string]string
		want   string // in the error
	}{
		{map[string]string{"LEADCAP_NODE_NAME": "web 1"}, "LEADCAP_NODE_NAME"},
		{map[string]string{"LEADCAP_METRICS_ALLOW": "10.0.0.0/33"}, "LEADCAP_METRICS_ALLOW: not an IP or CIDR"},
		{map[string]string{"LEADCAP_METRICS_TOKEN_FILE": "", "LEADCAP_METRICS_TOKEN": "short"}, "LEADCAP_METRICS_TOKEN: want at least 16"},
		{map[string]string{"LEADCAP_ALARM_INTERVAL": "5ms"}, "LEADCAP_ALARM_INTERVAL: want 10ms to 1m"},
		{map[string]string{"LEADCAP_ALARM_INTERVAL": "2m"}, "LEADCAP_ALARM_INTERVAL: want 10ms to 1m"},
		{map[string]string{"LEADCAP_ALARM_WEBHOOK_URL": "ftp://x"}, "LEADCAP_ALARM_WEBHOOK_URL: want an http(s) URL"},
		{map[string]string{"LEADCAP_ALARM_WEBHOOK_SECRET": ""}, "LEADCAP_ALARM_WEBHOOK_SECRET: required"},
		{map[string]string{"LEADCAP_ALARM_EMAIL": "ops@example.com, nobody"}, `LEADCAP_ALARM_EMAIL: not an email address: "nobody"`},
		{map[string]string{"LEADCAP_SMTP_URL": ""}, "LEADCAP_ALARM_EMAIL: needs LEADCAP_SMTP_URL"},
		{map[string]string{"LEADCAP_SMTP_URL": "http://mail.example.com"}, "LEADCAP_SMTP_URL: want smtp://"},
		{map[string]string{"LEADCAP_SMTP_FROM": "Leadcap <leadcap@example.com>"}, "LEADCAP_SMTP_FROM: not an email address"},
	}
	for _, tt := range tests {
		env := map[string]string{}
		for k, v := range good {
			env[k] = v
		}
		for k, v := range tt.change {
			env[k] = v
		}
		_, err := load(t, env)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: %v, want an error with %q", tt.change, err, tt.want)
		}
	}
}

func TestNodeDefaultsToHostName(t *testing.T) {
	c := Default()
	h, _ := os.Hostname()
	if n := c.Node(); n == "" || len(n) > 64 || !validNodeName(n) || (validNodeName(h) && n != h) {
		t.Fatalf("Node() = %q on host %q", n, h)
	}
}
