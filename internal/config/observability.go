package config

import (
	"net/mail"
	"net/url"
	"os"
	"strings"
	"time"
)

// validateObservability checks the metrics and alarm settings.
func (c Config) validateObservability(bad func(name, format string, args ...any)) {
	if c.NodeName != "" && !validNodeName(c.NodeName) {
		bad("node_name", "want 1 to 64 letters, digits, '.', '_' or '-', got %q", c.NodeName)
	}
	if c.MetricsToken != "" && len(c.MetricsToken) < 16 {
		bad("metrics_token", "want at least 16 characters")
	}
	if c.AlarmInterval < 10*time.Millisecond || c.AlarmInterval > time.Minute {
		bad("alarm_interval", "want 10ms to 1m, got %s", c.AlarmInterval)
	}
	if c.AlarmWebhookURL != "" {
		u, err := url.Parse(c.AlarmWebhookURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("alarm_webhook_url", "want an http(s) URL")
		}
		if c.AlarmWebhookSecret == "" {
			bad("alarm_webhook_secret", "required with LEADCAP_ALARM_WEBHOOK_URL: the receiver checks the signature made with it")
		}
	}
	if c.AlarmWebhookSecret != "" && len(c.AlarmWebhookSecret) < 16 {
		bad("alarm_webhook_secret", "want at least 16 characters")
	}
	for _, a := range c.AlarmEmail {
		if !validAddress(a) {
			bad("alarm_email", "not an email address: %q", a)
		}
	}
	if c.SMTPURL != "" {
		u, err := url.Parse(c.SMTPURL)
		if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" {
			bad("smtp_url", "want smtp://[user:password@]host[:port] or smtps://...")
		}
	}
	if c.SMTPFrom != "" && !validAddress(c.SMTPFrom) {
		bad("smtp_from", "not an email address: %q", c.SMTPFrom)
	}
	if len(c.AlarmEmail) > 0 && (c.SMTPURL == "" || c.SMTPFrom == "") {
		bad("alarm_email", "needs LEADCAP_SMTP_URL and LEADCAP_SMTP_FROM to send")
	}
}

func validNodeName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '.' && r != '_' && r != '-' {
			return false
		}
	}
	return true
}

func validAddress(a string) bool {
	addr, err := mail.ParseAddress(a)
	return err == nil && addr.Name == "" && !strings.ContainsAny(a, "\r\n<>")
}

// Node returns the name of this server in alarms: NodeName, else the host
// name (cut to a valid node name), else "leadcap".
func (c Config) Node() string {
	if c.NodeName != "" {
		return c.NodeName
	}
	h, err := os.Hostname()
	if err != nil {
		return "leadcap"
	}
	h = strings.Map(func(r rune) rune {
		if validNodeName(string(r)) {
			return r
		}
		return '-'
	}, h)
	if len(h) > 64 {
		h = h[:64]
	}
	if h == "" {
		return "leadcap"
	}
	return h
}
