package cli_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/leadcap/leadcap/internal/store/storetest"
)

// TestNoPersonalDataInLogsOrMetrics submits leads with known names, emails,
// phones and client addresses, makes validation fail on them and makes the
// server fail while storing them, then finds none of those values in the
// server's log output or in /metrics. It also checks the shape of the log:
// one JSON object a line, a request line with its id, route, status,
// duration and component for every request, and a component and request
// id on every error line of a request.
func TestNoPersonalDataInLogsOrMetrics(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		in := newInstance(t, dsn, map[string]string{"LEADCAP_TRUSTED_PROXIES": "127.0.0.1"})
		in.openConference()
		srv := in.serve()

		var secrets []string
		person := func(i int) (first, last, email, phone, ip string) {
			first, last = fmt.Sprintf("Quintessa%d", i), fmt.Sprintf("Marlowe%d", i)
			email = fmt.Sprintf("zanzibar.person%d@privacy-check.example", i)
			phone = fmt.Sprintf("+50162234%02d", i)
			ip = fmt.Sprintf("198.51.100.%d", 10+i)
			secrets = append(secrets, first, last, email, phone, strings.TrimPrefix(phone, "+501"), ip)
			return
		}
		submit := func(i int, edits map[string]any, want int) {
			t.Helper()
			first, last, email, phone, ip := person(i)
			m := map[string]any{"first_name": first, "last_name": last, "phone": phone, "company": "Privacy Check Ltd"}
			for k, v := range edits {
				m[k] = v
			}
			status, body := srv.post(t, lead(fmt.Sprint("privacy-", i), email, m), "X-Forwarded-For", ip)
			if status != want {
				t.Fatalf("submission %d: %d %s, want %d", i, status, body, want)
			}
		}
		for i := range 10 {
			submit(i, nil, 201)
		}
		// Validation errors on personal values: a bad email that is
		// still someone's, a phone too short, a name too long.
		submit(10, map[string]any{"email": "zanzibar.broken@@privacy-check.example"}, 422)
		secrets = append(secrets, "zanzibar.broken")
		submit(11, map[string]any{"phone": "+501 622"}, 422)
		long := "Quintessa" + strings.Repeat("x", 120)
		submit(12, map[string]any{"first_name": long}, 422)
		submit(13, map[string]any{"answers": map[string]any{"zanzibar.answer@privacy-check.example": "x"}}, 422)
		secrets = append(secrets, "zanzibar.answer")
		// Server errors while storing personal values.
		repair := in.breakCapture()
		for i := 14; i < 18; i++ {
			submit(i, nil, 500)
		}
		repair()
		submit(18, nil, 201)
		secrets = append(secrets, "privacy-check", "Privacy Check")

		metrics := srv.scrapeText(t)
		// The alarms and the outbox have run; stop the server so that
		// every line it would write is written.
		time.Sleep(200 * time.Millisecond)
		if err := srv.stop(); err != nil {
			t.Fatal(err)
		}
		logs := srv.logs.String()
		for _, s := range secrets {
			if strings.Contains(logs, s) {
				t.Errorf("the log contains %q", s)
			}
			if strings.Contains(metrics, s) {
				t.Errorf("/metrics contains %q", s)
			}
		}

		requests, errorLines, requestErrors := 0, 0, 0
		sc := bufio.NewScanner(strings.NewReader(logs))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var line map[string]any
			if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
				t.Fatalf("not a JSON log line: %q", sc.Text())
			}
			if line["component"] == nil || line["component"] == "" {
				t.Errorf("a line without component: %s", sc.Text())
			}
			if line["msg"] == "request" {
				requests++
				for _, k := range []string{"request_id", "route", "status", "duration_ms", "method"} {
					if line[k] == nil {
						t.Errorf("request line without %s: %s", k, sc.Text())
					}
				}
			}
			if line["level"] == "ERROR" {
				errorLines++
				if line["msg"] == "request failed" {
					requestErrors++
					if line["request_id"] == nil || line["component"] != "leads" {
						t.Errorf("request error without its request id or component: %s", sc.Text())
					}
				}
			}
		}
		// 19 submissions and a scrape; 4 failures logged as errors, each
		// with its request line at level ERROR too.
		if requests < 20 || requestErrors != 4 || errorLines < 8 {
			t.Fatalf("%d request lines, %d request errors, %d error lines:\n%s", requests, requestErrors, errorLines, logs)
		}
	})
}
