package cli_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/alarms"
	"github.com/leadcap/leadcap/internal/alarms/alarmtest"
	"github.com/leadcap/leadcap/internal/store/storetest"
)

// TestDefaultAlarmsEndToEnd drives every default alarm of a running server
// to ALARM and back to OK, with windows shortened by configuration, and
// checks that each change reaches a webhook receiver (signature checked)
// and an SMTP server, and is kept in the history.
//
// Server errors, component errors and the outbox lag are caused by real
// traffic against a broken database or object store; failed sign-ins and
// throttles by guessing a password over HTTP; shield blocks by requests
// from a range an operator blocked with the CLI.
func TestDefaultAlarmsEndToEnd(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		secret := "webhook-secret-for-tests"
		rc := alarmtest.NewReceiver(t, []byte(secret))
		mail := alarmtest.NewSMTP(t, "alerts", "smtp-password")
		in := newInstance(t, dsn, map[string]string{
			// Windows of a few seconds: long enough that a loaded machine
			// still fits each burst of events in one, short enough to clear.
			"LEADCAP_ALARM_RULES":          "api_5xx=3/5s,component_errors=3/5s,throttles=3/5s,shield_blocks=5/5s,outbox_lag=1s,failed_logins=3/5s",
			"LEADCAP_ALARM_WEBHOOK_URL":    rc.URL + "/hook",
			"LEADCAP_ALARM_WEBHOOK_SECRET": secret,
			"LEADCAP_ALARM_EMAIL":          "ops@example.com",
			"LEADCAP_SMTP_URL":             mail.URL(),
			"LEADCAP_SMTP_FROM":            "leadcap@example.com",
			"LEADCAP_TRUSTED_PROXIES":      "127.0.0.1",
		})
		in.openConference()
		srv := in.serve()

		// changes counts the notifications of alarm entering state.
		seen := map[string]int{}
		expect := func(alarm, state string) {
			t.Helper()
			key := alarm + " " + state
			seen[key]++
			n := seen[key]
			waitFor(t, 60*time.Second, "webhook "+key, func() bool {
				count := 0
				for _, c := range rc.Calls() {
					if c.Notification.Alarm == alarm && c.Notification.State == state && c.Notification.Node == "node-a" {
						count++
					}
				}
				return count >= n
			})
			subject := fmt.Sprintf("[leadcap] %s %s on node-a", state, alarm)
			waitFor(t, 30*time.Second, "email "+key, func() bool {
				count := 0
				for _, m := range mail.Mails() {
					if m.Subject == subject && strings.Join(m.To, ",") == "ops@example.com" {
						count++
					}
				}
				return count >= n
			})
		}
		firing := func() map[string]bool {
			var list []leadcap.Alarm
			if err := json.Unmarshal([]byte(in.must("alarms", "list", "--json")), &list); err != nil {
				t.Fatal(err)
			}
			out := map[string]bool{}
			for _, a := range list {
				if a.State == leadcap.AlarmFired {
					out[a.Name] = true
				}
			}
			return out
		}

		// 1. Server errors: capture fails inside the database.
		repair := in.breakCapture()
		for i := range 4 {
			status, body := srv.post(t, lead(fmt.Sprint("broken-", i), fmt.Sprintf("p%d@example.com", i), nil))
			if status != 500 || !strings.Contains(body, `"internal error"`) {
				t.Fatalf("broken capture answered %d %s", status, body)
			}
		}
		expect("api_5xx", leadcap.AlarmFired)
		expect("component_errors.leads", leadcap.AlarmFired)
		if f := firing(); !f["api_5xx"] || !f["component_errors.leads"] {
			t.Fatalf("alarms list while firing: %v", f)
		}
		// While they fire, the daily check says so with exit code 1.
		out, err := in.run("status", "--server", srv.url)
		if err == nil || !strings.Contains(out, "ALARM  api_5xx") {
			t.Fatalf("status while firing: %v\n%s", err, out)
		}
		repair()
		if status, _ := srv.post(t, lead("repaired", "ok@example.com", nil)); status != 201 {
			t.Fatalf("after repair: %d", status)
		}
		expect("api_5xx", leadcap.AlarmOK)
		expect("component_errors.leads", leadcap.AlarmOK)

		// 2. The outbox lags while the object store refuses writes, and
		// its failed copies are errors of the outbox component.
		repair = in.breakObjectStore()
		for i := range 4 {
			if status, body := srv.post(t, lead(fmt.Sprint("lag-", i), fmt.Sprintf("lag%d@example.com", i), nil)); status != 201 {
				t.Fatalf("submit: %d %s", status, body)
			}
		}
		expect("outbox_lag", leadcap.AlarmFired)
		expect("component_errors.outbox", leadcap.AlarmFired)
		repair()
		expect("outbox_lag", leadcap.AlarmOK)
		expect("component_errors.outbox", leadcap.AlarmOK)

		// 3. Password guessing: wrong passwords are failed sign-ins, and
		// once the account's bucket is empty (10 tries) they are throttled.
		statuses := map[int]int{}
		for range 14 {
			statuses[srv.login(t, "admin@localhost", "not the password")]++
		}
		if statuses[401] != 10 || statuses[429] != 4 {
			t.Fatalf("sign-in answers: %v", statuses)
		}
		expect("failed_logins", leadcap.AlarmFired)
		expect("throttles", leadcap.AlarmFired)
		expect("failed_logins", leadcap.AlarmOK)
		expect("throttles", leadcap.AlarmOK)

		// 4. Shield blocks: an operator blocks a range with the CLI, and
		// requests forwarded (by the trusted proxy on loopback) from an
		// address in it are refused.
		in.must("shield", "block", "198.51.100.0/24", "--note", "alarm test")
		waitFor(t, 10*time.Second, "block rule in force", func() bool {
			status, _ := srv.post(t, lead("blocked-probe", "probe@example.com", nil), "X-Forwarded-For", "198.51.100.9")
			return status == 403
		})
		for i := range 6 {
			if status, _ := srv.post(t, lead(fmt.Sprint("blocked-", i), "blocked@example.com", nil), "X-Forwarded-For", "198.51.100.9"); status != 403 {
				t.Fatalf("request from a blocked range answered %d", status)
			}
		}
		expect("shield_blocks", leadcap.AlarmFired)
		expect("shield_blocks", leadcap.AlarmOK)

		if rc.Rejected() != 0 {
			t.Fatalf("%d webhook calls with a bad signature", rc.Rejected())
		}
		// A notification that fires carries what to do.
		c, _ := rc.WaitFor(time.Second, func(n alarms.Notification) bool { return n.Alarm == "throttles" && n.State == leadcap.AlarmFired })
		if c.Notification.Action == "" || c.Notification.Window != "5s" || c.Notification.Threshold != 3 || c.Notification.Previous != leadcap.AlarmOK {
			t.Fatalf("notification: %+v", c.Notification)
		}

		// The history, as the CLI shows it, while the server runs.
		var history []leadcap.AlarmEvent
		if err := json.Unmarshal([]byte(in.must("alarms", "history", "--json", "--limit", "100")), &history); err != nil {
			t.Fatal(err)
		}
		changes := map[string]int{}
		for _, e := range history {
			changes[e.Name+" "+e.State]++
		}
		// A slow machine (the race detector) can stretch a burst of events
		// over more than one window, so an alarm may fire and clear more
		// than once; each must have fired at least as often as expected
		// and ended as often as it fired.
		for key, n := range seen {
			if changes[key] < n {
				t.Errorf("history has %d of %q, want at least %d (%v)", changes[key], key, n, changes)
			}
		}
		for key, n := range changes {
			if name, ok := strings.CutSuffix(key, " "+leadcap.AlarmFired); ok && changes[name+" "+leadcap.AlarmOK] != n {
				t.Errorf("%s fired %d times but returned to OK %d times (%v)", name, n, changes[name+" "+leadcap.AlarmOK], changes)
			}
		}
		if list := in.must("alarms", "list"); !strings.Contains(list, "node-a") || !strings.Contains(list, "0 firing") {
			t.Fatalf("alarms list after all returned to OK:\n%s", list)
		}
		if out, err := in.run("status", "--server", srv.url); err != nil || !strings.Contains(out, "ALARMS: 0 firing") {
			t.Fatalf("status once all are OK: %v\n%s", err, out)
		}
		if err := srv.stop(); err != nil {
			t.Fatal(err)
		}
	})
}

// TestAlarmsTestCommand sends a test notification to both channels, and
// reports a channel that cannot be reached.
func TestAlarmsTestCommand(t *testing.T) {
	rc := alarmtest.NewReceiver(t, []byte("webhook-secret-for-tests"))
	mail := alarmtest.NewSMTP(t, "", "")
	in := newInstance(t, storetest.SQLite(t), map[string]string{
		"LEADCAP_ALARM_WEBHOOK_URL": rc.URL, "LEADCAP_ALARM_WEBHOOK_SECRET": "webhook-secret-for-tests",
		"LEADCAP_ALARM_EMAIL": "ops@example.com", "LEADCAP_SMTP_URL": mail.URL(), "LEADCAP_SMTP_FROM": "leadcap@example.com",
	})
	out := in.must("alarms", "test")
	if !strings.Contains(out, "webhook  sent") || !strings.Contains(out, "email    sent") || !strings.Contains(out, "2 of 2 channels reached") {
		t.Fatalf("alarms test:\n%s", out)
	}
	if calls := rc.Calls(); len(calls) != 1 || !calls[0].Notification.Test || calls[0].Notification.Node != "node-a" {
		t.Fatalf("webhook calls: %+v", calls)
	}
	if m := mail.Mails(); len(m) != 1 || m[0].Subject != "[leadcap] test notification from node-a" {
		t.Fatalf("mails: %+v", m)
	}

	// A webhook that refuses the signature fails the command, naming it.
	in.env["LEADCAP_ALARM_WEBHOOK_SECRET"] = "another-secret-entirely"
	out, err := in.run("alarms", "test")
	if err == nil || !strings.Contains(out, "1 of 2 channels reached") || !strings.Contains(err.Error(), "401") {
		t.Fatalf("with a wrong secret: %v\n%s", err, out)
	}
	// Nothing configured: a clear error.
	bare := newInstance(t, storetest.SQLite(t), nil)
	if _, err := bare.run("alarms", "test"); err == nil || !strings.Contains(err.Error(), "no channel configured") {
		t.Fatalf("no channel: %v", err)
	}
	// Bad rules stop serve with the setting named.
	bad := newInstance(t, storetest.SQLite(t), map[string]string{"LEADCAP_ALARM_RULES": "api_5xx=lots"})
	if _, err := bad.run("serve", "--listen", "127.0.0.1:0"); err == nil || !strings.Contains(err.Error(), "LEADCAP_ALARM_RULES") {
		t.Fatalf("bad rules: %v", err)
	}
}
