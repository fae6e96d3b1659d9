package config_test

import (
	"strings"
	"testing"
	"time"
)

func TestBackupSettings(t *testing.T) {
	c, err := load(t, nil, nil)
	if err != nil || c.BackupInterval != time.Hour || c.BackupRetention != 35*24*time.Hour {
		t.Fatalf("defaults: %v %v, %v", c.BackupInterval, c.BackupRetention, err)
	}
	if m := c.Map(); m["LEADCAP_BACKUP_INTERVAL"] != "1h0m0s" || m["LEADCAP_BACKUP_RETENTION"] != "35d" {
		t.Errorf("shown as %q and %q", m["LEADCAP_BACKUP_INTERVAL"], m["LEADCAP_BACKUP_RETENTION"])
	}
	c, err = load(t, []string{"--backup-interval", "15m"}, map[string]string{"LEADCAP_BACKUP_RETENTION": "7d"})
	if err != nil || c.BackupInterval != 15*time.Minute || c.BackupRetention != 7*24*time.Hour {
		t.Fatalf("set: %v %v, %v", c.BackupInterval, c.BackupRetention, err)
	}
	c, err = load(t, nil, map[string]string{"LEADCAP_BACKUP_INTERVAL": "off"})
	if err != nil || c.BackupInterval != 0 || c.Map()["LEADCAP_BACKUP_INTERVAL"] != "off" {
		t.Fatalf("off: %v, %v", c.BackupInterval, err)
	}
	for _, env := range []map[string]string{
		{"LEADCAP_BACKUP_INTERVAL": "hourly"},
		{"LEADCAP_BACKUP_INTERVAL": "100ms"},
		{"LEADCAP_BACKUP_RETENTION": "forever"},
		{"LEADCAP_BACKUP_RETENTION": "30m"},
		{"LEADCAP_BACKUP_RETENTION": "2h", "LEADCAP_BACKUP_INTERVAL": "3h"},
	} {
		_, err := load(t, nil, env)
		want := "LEADCAP_BACKUP_INTERVAL"
		if _, ok := env["LEADCAP_BACKUP_RETENTION"]; ok {
			want = "LEADCAP_BACKUP_RETENTION"
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: error %v, want one naming %s", env, err, want)
		}
	}
}
