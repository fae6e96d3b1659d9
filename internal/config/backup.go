package config

import "time"

// backupSettings are the settings of scheduled backups.
func backupSettings(add func(name, help string, secret bool, get func(*Config) string, set func(*Config, string) error)) {
	add("backup_interval", "how often leadcap serve takes a backup into the object store, e.g. 1h or 15m; off: never", false,
		func(c *Config) string {
			if c.BackupInterval == 0 {
				return "off"
			}
			return c.BackupInterval.String()
		},
		func(c *Config, v string) error {
			if v == "off" {
				c.BackupInterval = 0
				return nil
			}
			_, set := dur(func(c *Config) *time.Duration { return &c.BackupInterval })
			return set(c, v)
		})
	g, s := daysOrDuration(func(c *Config) *time.Duration { return &c.BackupRetention })
	add("backup_retention", "how long backups are kept before leadcap serve removes them, e.g. 35d or 720h", false, g, s)
}

// validateBackup checks the backup settings.
func (c Config) validateBackup(bad func(name, format string, args ...any)) {
	if c.BackupInterval != 0 && c.BackupInterval < time.Second {
		bad("backup_interval", "want off or at least 1s, got %s", c.BackupInterval)
	}
	if c.BackupRetention < time.Hour {
		bad("backup_retention", "must be at least an hour")
	} else if c.BackupRetention < c.BackupInterval {
		bad("backup_retention", "must be at least LEADCAP_BACKUP_INTERVAL (%s)", c.BackupInterval)
	}
}
