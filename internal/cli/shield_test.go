package cli_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/cli"
	"github.com/leadcap/leadcap/internal/store/storetest"
)

func TestShieldCommands(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		env := backendEnv(t, dsn)
		out := mustRun(t, env, "shield", "block", "192.0.2.0/24", "2001:db8::/32", "--note", "spam wave", "--for", "24h")
		if !strings.Contains(out, "2 rules stored (2 new, 0 replaced)") || !strings.Contains(out, "192.0.2.0/24") || !strings.Contains(out, "spam wave") {
			t.Fatalf("block:\n%s", out)
		}
		mustRun(t, env, "shield", "block", "--country", "ru,CN")
		mustRun(t, env, "shield", "allow", "192.0.2.9")
		list := filepath.Join(t.TempDir(), "list.txt")
		os.WriteFile(list, []byte("# from the incident report\n198.51.100.7\n\n203.0.113.0/24  # whole range\n"), 0o600)
		if out := mustRun(t, env, "shield", "block", "--from", list, "--note", "incident 42"); !strings.Contains(out, "2 rules stored (2 new") {
			t.Fatalf("block --from:\n%s", out)
		}
		// Blocking again replaces: same id, new note and no expiry.
		if out := mustRun(t, env, "shield", "block", "192.0.2.0/24", "--note", "still"); !strings.Contains(out, "(0 new, 1 replaced)") {
			t.Fatalf("block again:\n%s", out)
		}
		var rules []leadcap.ShieldRule
		if err := json.Unmarshal([]byte(mustRun(t, env, "shield", "list", "--json")), &rules); err != nil {
			t.Fatal(err)
		}
		byTarget := map[string]leadcap.ShieldRule{}
		for _, r := range rules {
			byTarget[r.Action+" "+r.Target()] = r
		}
		if len(rules) != 7 || byTarget["block 192.0.2.0/24"].Note != "still" || !byTarget["block 192.0.2.0/24"].ExpiresAt.IsZero() ||
			byTarget["block country:RU"].CreatedBy != "cli" || byTarget["allow 192.0.2.9/32"].ID == 0 ||
			byTarget["block 2001:db8::/32"].ExpiresAt.IsZero() || byTarget["block 203.0.113.0/24"].Note != "incident 42" {
			t.Fatalf("rules: %+v", rules)
		}
		if out := mustRun(t, env, "shield", "list"); !strings.Contains(out, "country:CN") || !strings.Contains(out, "7 rules") {
			t.Fatalf("list:\n%s", out)
		}
		// Unblock by target, by country, and an allow rule by --allow.
		mustRun(t, env, "shield", "unblock", "203.0.113.0/24", "country:cn")
		if out := mustRun(t, env, "shield", "unblock", "192.0.2.9", "--allow"); !strings.Contains(out, "removed rule") {
			t.Fatalf("unblock --allow:\n%s", out)
		}
		if out := mustRun(t, env, "shield", "list"); strings.Contains(out, "203.0.113.0/24") || strings.Contains(out, "CN") ||
			strings.Contains(out, "192.0.2.9") || !strings.Contains(out, "4 rules") {
			t.Fatalf("after unblock:\n%s", out)
		}
		// Every change is in the audit trail.
		if out := mustRun(t, env, "audit", "list", "--action", "shield"); strings.Count(out, "shield.rule.add") != 5 || strings.Count(out, "shield.rule.remove") != 3 {
			t.Fatalf("audit:\n%s", out)
		}
		// Mistakes are named.
		for _, tt := range []struct {
			args []string
			want string
		}{
			{[]string{"shield", "block", "192.0.2.5/24"}, "did you mean 192.0.2.0/24"},
			{[]string{"shield", "block", "example.com"}, "not an IP address or CIDR range"},
			{[]string{"shield", "block", "--country", "XX"}, "country"},
			{[]string{"shield", "block", "192.0.2.1", "--for", "1h", "--until", "2030-01-01T00:00:00Z"}, "not both"},
			{[]string{"shield", "unblock", "198.51.100.99"}, "no block rule"},
			{[]string{"shield", "block"}, "give IP addresses"},
			{[]string{"shield", "nuke"}, "unknown verb"},
		} {
			_, errOut, err := leadcapRun(t, env, tt.args...)
			if err == nil || !strings.Contains(err.Error()+errOut, tt.want) {
				t.Errorf("%v: %v %s, want %q", tt.args, err, errOut, tt.want)
			}
		}
	})
}

// serveInProcess runs `leadcap serve` with env on a free loopback port
// until the test ends, and returns its base URL and log.
func serveInProcess(t *testing.T, env map[string]string) (string, *syncBuffer) {
	t.Helper()
	env["LEADCAP_LISTEN"] = "127.0.0.1:0"
	logs := &syncBuffer{}
	ready := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- cli.Run(ctx, []string{"serve"}, &cli.Env{
			Getenv: func(k string) string { return env[k] },
			Stdin:  strings.NewReader(""), Stdout: logs, Stderr: logs,
			Ready: func(addr string) { ready <- addr },
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	select {
	case addr := <-ready:
		return "http://" + addr, logs
	case err := <-done:
		t.Fatalf("serve: %v\n%s", err, logs)
	case <-time.After(20 * time.Second):
		t.Fatalf("serve did not start:\n%s", logs)
	}
	return "", nil
}

func status(t *testing.T, url string) int {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// TestShieldRuleStopsRunningServer: a rule added with the CLI stops a
// running server's traffic within a second; the block shows in the log
// line, in `shield log` and `shield log --follow`; unblock lets it in again.
func TestShieldRuleStopsRunningServer(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		env := backendEnv(t, dsn)
		url, logs := serveInProcess(t, env)
		// A second server on the same database, as behind a load balancer.
		other, _ := serveInProcess(t, maps.Clone(env))
		page := url + "/api/v1/me"
		for _, u := range []string{page, other + "/api/v1/me"} {
			if got := status(t, u); got != 401 {
				t.Fatalf("before the rule: %d", got)
			}
		}
		mustRun(t, env, "shield", "block", "127.0.0.1", "--note", "test", "--for", "1h")
		added := time.Now()
		for _, u := range []string{page, other + "/api/v1/me"} {
			for status(t, u) != 403 {
				if time.Since(added) > time.Second {
					t.Fatalf("%s still serves 127.0.0.1 a second after the rule was added", u)
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
		t.Logf("both servers blocked %s after `leadcap shield block` returned", time.Since(added).Round(time.Millisecond))
		if got := status(t, url+"/healthz"); got != 200 {
			t.Fatalf("health check blocked: %d", got)
		}
		// One structured line per block, with the rule, IP, country and route.
		var line map[string]any
		for _, l := range strings.Split(logs.String(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "shield block" {
				line = m
			}
		}
		if line == nil || line["client_ip"] != "127.0.0.1" || line["route"] != "GET /api/v1/me" ||
			!strings.HasPrefix(line["rule"].(string), "rule-") || line["level"] != "WARN" {
			t.Fatalf("block log line: %v", line)
		}

		// Follow the block record while more requests are refused.
		ctx, stop := context.WithCancel(context.Background())
		follow := &syncBuffer{}
		followed := make(chan error, 1)
		go func() {
			followed <- cli.Run(ctx, []string{"shield", "log", "--follow", "--since", "1m"}, &cli.Env{
				Getenv: func(k string) string { return env[k] }, Stdin: strings.NewReader(""), Stdout: follow, Stderr: follow})
		}()
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(follow.String(), "127.0.0.1") && time.Now().Before(deadline) {
			status(t, page)
			time.Sleep(200 * time.Millisecond)
		}
		stop()
		if err := <-followed; err != nil {
			t.Fatal(err)
		}
		if out := follow.String(); !strings.Contains(out, "rule-") || !strings.Contains(out, "GET /api/v1/me") {
			t.Fatalf("shield log --follow:\n%s", out)
		}
		if out := mustRun(t, env, "shield", "log"); !strings.Contains(out, "127.0.0.1") || !strings.Contains(out, "rows") {
			t.Fatalf("shield log:\n%s", out)
		}

		mustRun(t, env, "shield", "unblock", "127.0.0.1")
		removed := time.Now()
		for status(t, page) == 403 {
			if time.Since(removed) > time.Second {
				t.Fatal("still blocked a second after unblock")
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// TestSlowHeaderClient: a client that sends its headers a byte a second
// is cut off by the read-header timeout, while other requests are served.
func TestSlowHeaderClient(t *testing.T) {
	env := backendEnv(t, storetest.SQLite(t))
	env["LEADCAP_HTTP_READ_HEADER_TIMEOUT"] = "1s"
	url, _ := serveInProcess(t, env)
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cut := make(chan time.Duration, 1)
	start := time.Now()
	go func() {
		// A byte a second, and never the blank line that ends the headers.
		for _, b := range []byte("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaa") {
			if _, err := conn.Write([]byte{b}); err != nil {
				break
			}
			time.Sleep(time.Second)
		}
	}()
	go func() {
		// The server ends the connection: EOF (or a 408 first).
		io.Copy(io.Discard, bufio.NewReader(conn))
		cut <- time.Since(start)
	}()
	served := 0
	for {
		select {
		case d := <-cut:
			if d > 3*time.Second {
				t.Fatalf("slow client cut off only after %s", d)
			}
			if served < 5 {
				t.Fatalf("only %d requests served meanwhile", served)
			}
			t.Logf("slow client cut off after %s; %d requests served meanwhile", d.Round(time.Millisecond), served)
			return
		case <-time.After(100 * time.Millisecond):
		}
		begin := time.Now()
		if got := status(t, url+"/healthz"); got != 200 {
			t.Fatalf("healthz: %d", got)
		}
		if d := time.Since(begin); d > 500*time.Millisecond {
			t.Fatalf("a normal request took %s while the slow client hung on", d)
		}
		served++
		if time.Since(start) > 10*time.Second {
			t.Fatal("the slow client was never cut off")
		}
	}
}

// TestConferenceDefencesAndQuarantine: the defences are switched per
// conference with the CLI, and `shield quarantine` shows what they caught.
func TestConferenceDefencesAndQuarantine(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		env := backendEnv(t, dsn)
		mustRun(t, env, "conferences", "create", "--slug", "expo", "--name", "Expo", "--country", "BZ",
			"--proof-of-work", "on", "--honeypot", "off")
		var c leadcap.Conference
		json.Unmarshal([]byte(mustRun(t, env, "conferences", "show", "expo", "--json")), &c)
		if !c.Defences.ProofOfWork || !c.Defences.HoneypotOff || c.Defences.RenderTokenOff {
			t.Fatalf("defences after create: %+v", c.Defences)
		}
		out := mustRun(t, env, "conferences", "update", "expo", "--honeypot", "on", "--proof-of-work", "off", "--render-token", "on")
		if !strings.Contains(out, "honeypot on, fill time on, render token on, proof of work off") {
			t.Fatalf("update:\n%s", out)
		}
		if _, _, err := leadcapRun(t, env, "conferences", "update", "expo", "--honeypot", "maybe"); err == nil || !strings.Contains(err.Error(), "want on or off") {
			t.Fatalf("bad switch: %v", err)
		}
		mustRun(t, env, "conferences", "open", "expo")

		srv, _ := serveInProcess(t, env)
		body := `{"conference":"expo","submission_id":"q-1","first_name":"Bot","last_name":"Net","email":"bot@spam.example",` +
			`"consent":{"contact":true},"website":"http://spam.example"}`
		res, err := http.Post(srv+"/api/v1/leads", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 201 {
			t.Fatalf("spam answered %d, not as a lead", res.StatusCode)
		}
		out = mustRun(t, env, "shield", "quarantine", "--conference", "expo")
		if !strings.Contains(out, "honeypot") || !strings.Contains(out, "bot@spam.example") || !strings.Contains(out, "1 quarantined leads") {
			t.Fatalf("quarantine:\n%s", out)
		}
		if out := mustRun(t, env, "conferences", "list"); !strings.Contains(out, "expo") {
			t.Fatalf("list:\n%s", out)
		}

		// With the proof of work on, a tablet's signed device link (from
		// `leadcap kiosk link`) stands in for it; a made-up one does not.
		mustRun(t, env, "conferences", "update", "expo", "--proof-of-work", "on", "--fill-time", "off")
		var link struct {
			URL string `json:"url"`
		}
		json.Unmarshal([]byte(mustRun(t, env, "kiosk", "link", "--conference", "expo", "--label", "Tablet 1", "--json")), &link)
		device, _ := url.QueryUnescape(link.URL[strings.Index(link.URL, "device=")+len("device="):])
		var tok struct {
			RenderToken string `json:"render_token"`
			PowBits     int    `json:"pow_bits"`
		}
		deadline := time.Now().Add(3 * time.Second)
		for tok.PowBits == 0 && time.Now().Before(deadline) { // the server's conference cache
			res, err := http.Get(srv + "/api/v1/conferences/expo/form-token")
			if err != nil {
				t.Fatal(err)
			}
			json.NewDecoder(res.Body).Decode(&tok)
			res.Body.Close()
			time.Sleep(100 * time.Millisecond)
		}
		if tok.PowBits == 0 {
			t.Fatal("the form token carries no challenge")
		}
		for _, tt := range []struct{ sub, device, want string }{
			{"k-1", device, ""},
			{"k-2", device[:len(device)-2] + "xx", "pow_missing"},
		} {
			body := fmt.Sprintf(`{"conference":"expo","submission_id":%q,"first_name":"Kim","last_name":"Lee","email":"%s@example.com",`+
				`"consent":{"contact":true},"source":"kiosk","render_token":%q,"device_token":%q}`, tt.sub, tt.sub, tok.RenderToken, tt.device)
			res, err := http.Post(srv+"/api/v1/leads", "application/json", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 201 {
				t.Fatalf("%s: %d", tt.sub, res.StatusCode)
			}
			out := mustRun(t, env, "shield", "quarantine", "--conference", "expo")
			if got := strings.Contains(out, tt.sub+"@example.com"); got != (tt.want != "") || (tt.want != "" && !strings.Contains(out, tt.want)) {
				t.Fatalf("%s: quarantine:\n%s", tt.sub, out)
			}
		}
	})
}
