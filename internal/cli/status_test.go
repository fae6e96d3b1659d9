package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/blob"
	"github.com/leadcap/leadcap/internal/crypto"
	"github.com/leadcap/leadcap/internal/store"
	"github.com/leadcap/leadcap/internal/store/storetest"
)

// statusJSON is the part of `leadcap status --json` the tests read.
type statusJSON struct {
	Leads struct {
		Today     int64 `json:"today"`
		Last7Days int64 `json:"last_7_days"`
	} `json:"leads"`
	Server struct {
		Reachable        bool    `json:"reachable"`
		Problem          string  `json:"problem"`
		Requests         float64 `json:"requests"`
		ServerErrors     float64 `json:"server_errors"`
		ErrorRatePercent float64 `json:"error_rate_percent"`
		ShieldBlocks     float64 `json:"shield_blocks"`
		RateLimited      float64 `json:"rate_limited"`
		FailedLogins     float64 `json:"failed_logins"`
		Components       []struct {
			Name     string  `json:"name"`
			Requests float64 `json:"requests"`
			Errors   float64 `json:"errors"`
		} `json:"components"`
	} `json:"server"`
	Storage struct {
		DatabaseBytes int64 `json:"database_bytes"`
		ObjectBytes   int64 `json:"object_bytes"`
	} `json:"storage"`
	Alarms struct {
		Total  int             `json:"total"`
		Firing []leadcap.Alarm `json:"firing"`
		Stale  []leadcap.Alarm `json:"stale"`
	} `json:"alarms"`
	Backup struct {
		Exists     bool    `json:"exists"`
		AgeSeconds float64 `json:"age_seconds"`
	} `json:"backup"`
}

func TestStatusWithARunningServer(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		in := newInstance(t, dsn, map[string]string{"LEADCAP_METRICS_TOKEN": "a-long-metrics-token"})
		in.openConference()
		srv := in.serve()
		for i := range 3 {
			if status, _ := srv.post(t, lead(fmt.Sprint("st-", i), fmt.Sprintf("st%d@example.com", i), nil)); status != 201 {
				t.Fatalf("submit: %d", status)
			}
		}
		repair := in.breakCapture()
		srv.post(t, lead("st-broken", "broken@example.com", nil))
		repair()
		srv.metrics.ShieldBlock("geo")
		srv.metrics.RateLimited("ip")
		srv.metrics.RateLimited("ip")
		srv.metrics.FailedLogin()
		// The outbox copies the leads and the evaluator stores its alarms.
		waitFor(t, 10*time.Second, "the raw copies", func() bool {
			var s statusJSON
			json.Unmarshal([]byte(in.must("status", "--json", "--server", srv.url)), &s)
			return s.Storage.ObjectBytes > 0 && s.Alarms.Total > 0
		})

		var s statusJSON
		if err := json.Unmarshal([]byte(in.must("status", "--json", "--server", srv.url)), &s); err != nil {
			t.Fatal(err)
		}
		if s.Leads.Today != 3 || s.Leads.Last7Days != 3 || !s.Server.Reachable || s.Server.Requests != 4 ||
			s.Server.ServerErrors != 1 || s.Server.ErrorRatePercent != 25 || s.Server.ShieldBlocks != 1 ||
			s.Server.RateLimited != 2 || s.Server.FailedLogins != 1 || s.Storage.DatabaseBytes == 0 || len(s.Alarms.Firing) != 0 {
			t.Fatalf("status: %+v", s)
		}
		leads := s.Server.Components[0]
		for _, c := range s.Server.Components {
			if c.Name == "leads" {
				leads = c
			}
		}
		if leads.Name != "leads" || leads.Requests != 4 || leads.Errors != 1 {
			t.Fatalf("components: %+v", s.Server.Components)
		}

		table := in.must("status", "--server", srv.url)
		for _, want := range []string{"LEADS", "today        3", "API errors (5xx)  1", "25.00%", "blocked requests  3",
			"ERRORS BY COMPONENT", "leads", "STORAGE", "last backup   none", "ALARMS: 0 firing"} {
			if !strings.Contains(table, want) {
				t.Errorf("status lacks %q:\n%s", want, table)
			}
		}

		// Without the token the server refuses, and status says why.
		delete(in.env, "LEADCAP_METRICS_TOKEN")
		out := in.must("status", "--server", srv.url)
		if !strings.Contains(out, "401 Unauthorized") {
			t.Fatalf("status without the token:\n%s", out)
		}
	})
}

func TestStatusWithoutServer(t *testing.T) {
	in := newInstance(t, storetest.SQLite(t), map[string]string{"LEADCAP_LISTEN": "127.0.0.1:1"})
	in.openConference()
	out := in.must("status")
	if !strings.Contains(out, "not reachable: server not reachable at http://127.0.0.1:1/metrics") ||
		!strings.Contains(out, "figures are unavailable") || !strings.Contains(out, "ALARMS: 0 firing of 0") {
		t.Fatalf("status:\n%s", out)
	}

	// A backup under backups/ is found and its age shown.
	dataDir := in.env["LEADCAP_DATA_DIR"]
	objects, err := blob.OpenDir(filepath.Join(dataDir, "objects"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := objects.Put(context.Background(), "backups/2027-03-01/leadcap.db", strings.NewReader("snapshot")); err != nil {
		t.Fatal(err)
	}
	objects.Close()

	// A server that stopped while its alarm fired leaves a stale ALARM:
	// shown, not counted as firing. A fresh one fires: exit code 1.
	keys, err := crypto.Load(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), filepath.Join(dataDir, "leadcap.db"), store.Options{Sealer: keys})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	old := time.Now().Add(-time.Hour)
	alarm := leadcap.Alarm{Node: "gone", Name: "api_5xx", State: leadcap.AlarmFired, Threshold: 10, Window: 5 * time.Minute,
		Summary: "12 in 5m0s > 10", Since: old, CheckedAt: old}
	if err := st.SaveAlarms(context.Background(), []leadcap.Alarm{alarm}); err != nil {
		t.Fatal(err)
	}
	var s statusJSON
	if err := json.Unmarshal([]byte(in.must("status", "--json")), &s); err != nil {
		t.Fatal(err)
	}
	if s.Server.Reachable || s.Server.Problem == "" || !s.Backup.Exists || s.Backup.AgeSeconds > 60 ||
		len(s.Alarms.Stale) != 1 || len(s.Alarms.Firing) != 0 {
		t.Fatalf("status: %+v", s)
	}
	out = in.must("status")
	if !strings.Contains(out, "stale  api_5xx  gone") || !strings.Contains(out, "last backup   0s ago") {
		t.Fatalf("status:\n%s", out)
	}

	alarm.Node, alarm.CheckedAt = "live", time.Now()
	if err := st.SaveAlarms(context.Background(), []leadcap.Alarm{alarm}); err != nil {
		t.Fatal(err)
	}
	out, err = in.run("status")
	if err == nil || err.Error() != "status: 1 alarm firing" || !strings.Contains(out, "ALARM  api_5xx  live") {
		t.Fatalf("status with a firing alarm: %v\n%s", err, out)
	}
	if _, err := in.run("status", "extra"); err == nil {
		t.Fatal("status accepted an argument")
	}
}
