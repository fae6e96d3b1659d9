package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/ratelimit"
	"github.com/leadcap/leadcap/internal/shield"
	"github.com/leadcap/leadcap/internal/store"
	"github.com/leadcap/leadcap/internal/store/storetest"
	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// sameBackend returns a fresh database of dsn's backend.
func sameBackend(t *testing.T, dsn string) string {
	if strings.HasPrefix(dsn, "postgres") {
		return storetest.Postgres(t)
	}
	return storetest.SQLite(t)
}

// syncBuffer is a log the server writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// lines returns the JSON log lines whose msg is msg.
func (s *syncBuffer) lines(msg string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(s.b.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// waitStatus repeats a request until it answers want, and returns how long
// that took; it fails the test after limit.
func waitStatus(t *testing.T, limit time.Duration, want int, do func() reply) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		r := do()
		if r.status == want {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("still %d after %s, want %d: %s", r.status, limit, want, r.raw)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestShieldRulesOverHTTP(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		logs := &syncBuffer{}
		ts := newTestServerWith(t, dsn, setup{log: logs})
		ts.mustConference(t, "expo", leadcap.StatusOpen)
		admin := ts.mustLogin(t, ts.mustAccount(t, leadcap.RoleAdmin), "10.0.0.2")

		add := func(body map[string]any) reply {
			t.Helper()
			r := admin.do(t, "POST", "/api/v1/shield/rules", body)
			if r.status != 201 {
				t.Fatalf("add rule %v: %d %s", body, r.status, r.raw)
			}
			return r
		}
		add(map[string]any{"action": "allow", "network": "192.0.2.9"})
		add(map[string]any{"action": "block", "network": "198.51.100.7"})
		add(map[string]any{"action": "block", "network": "2001:db8::/32"})
		add(map[string]any{"action": "block", "network": "2001:db8:ffff::9"})
		// Added last, so that once it applies every rule above does too.
		cidr4 := add(map[string]any{"action": "block", "network": "192.0.2.0/24", "note": "spam wave", "for": "24h"})
		// The running server applies it within a second.
		postFrom := func(ip string, n int) reply {
			return ts.newClient(ip).do(t, "POST", "/api/v1/leads", lead(map[string]any{
				"submission_id": fmt.Sprintf("r-%s-%d", strings.NewReplacer(".", "_", ":", "_").Replace(ip), n),
				"email":         fmt.Sprintf("r%d@example.com", n)}))
		}
		took := waitStatus(t, time.Second, 403, func() reply { return postFrom("192.0.2.5", 0) })
		t.Logf("rule applied %s after the API answered", took)
		if cidr4.str("network") != "192.0.2.0/24" || cidr4.str("note") != "spam wave" || cidr4.str("created_by") == "" || cidr4.str("expires_at") == "" {
			t.Fatalf("rule answer: %s", cidr4.raw)
		}
		// The same rule again replaces it: 200, same id.
		again := admin.do(t, "POST", "/api/v1/shield/rules", map[string]any{"action": "block", "network": "192.0.2.0/24", "note": "still spamming"})
		if again.status != 200 || again.body["id"] != cidr4.body["id"] || again.str("expires_at") != "" {
			t.Fatalf("replace: %d %s", again.status, again.raw)
		}
		for _, tt := range []struct {
			body  map[string]any
			field string
		}{
			{map[string]any{"action": "block", "network": "192.0.2.5/24"}, "network"},
			{map[string]any{"action": "deny", "network": "192.0.2.0/24"}, "action"},
			{map[string]any{"action": "block", "country": "XX"}, "country"},
			{map[string]any{"action": "block", "network": "192.0.2.0/24", "for": "soon"}, "for"},
			{map[string]any{"action": "block", "network": "192.0.2.0/24", "expires_at": "tomorrow"}, "expires_at"},
			{map[string]any{"action": "block", "network": "192.0.2.0/24", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"},
			{map[string]any{"action": "block", "network": "192.0.2.0/24", "note": strings.Repeat("n", 201)}, "note"},
		} {
			bad := admin.do(t, "POST", "/api/v1/shield/rules", tt.body)
			if bad.status != 422 || bad.field(tt.field) == "" {
				t.Errorf("%v: %d %s, want 422 naming %s", tt.body, bad.status, bad.raw, tt.field)
			}
		}

		tests := []struct {
			ip, method, path string
			want             int
		}{
			{"192.0.2.5", "POST", "/api/v1/leads", 403},        // IPv4 CIDR
			{"192.0.2.200", "GET", "/api/v1/me", 403},          // the console too
			{"192.0.2.9", "POST", "/api/v1/leads", 201},        // allow wins over the range's block
			{"198.51.100.7", "POST", "/api/v1/leads", 403},     // IPv4 address
			{"198.51.100.8", "POST", "/api/v1/leads", 201},     // its neighbour
			{"2001:db8:1::5", "POST", "/api/v1/leads", 403},    // IPv6 CIDR
			{"2001:db8:ffff::9", "POST", "/api/v1/leads", 403}, // IPv6 address
			{"2001:db9::1", "POST", "/api/v1/leads", 201},      // outside
			{"::ffff:192.0.2.5", "POST", "/api/v1/leads", 403}, // IPv4-mapped is the same client
			{"192.0.2.5", "GET", "/healthz", 200},              // health checks always answer
		}
		for i, tt := range tests {
			c := ts.newClient(tt.ip)
			var body any
			if tt.method == "POST" {
				body = lead(map[string]any{"submission_id": fmt.Sprint("t-", i), "email": fmt.Sprintf("t%d@example.com", i)})
			}
			r := c.do(t, tt.method, tt.path, body)
			if r.status != tt.want {
				t.Errorf("%s %s from %s: %d, want %d: %s", tt.method, tt.path, tt.ip, r.status, tt.want, r.raw)
			}
			if tt.want == 403 && (r.errCode() != leadcap.EFORBIDDEN || r.errMessage() == "") {
				t.Errorf("403 body: %s", r.raw)
			}
		}

		// Each block is one log line with the rule, client IP, country and
		// route; request lines carry no client IP.
		blocks := logs.lines("shield block")
		if len(blocks) < 6 {
			t.Fatalf("%d block log lines, want one per blocked request", len(blocks))
		}
		found := false
		for _, l := range blocks {
			if l["client_ip"] == "198.51.100.7" && l["route"] == "POST /api/v1/leads" && strings.HasPrefix(fmt.Sprint(l["rule"]), "rule-") {
				_, hasCountry := l["country"]
				found = hasCountry
			}
		}
		if !found {
			t.Errorf("no block line for 198.51.100.7 with rule, route and country: %v", blocks)
		}
		for _, l := range logs.lines("request") {
			for k, v := range l {
				if s, ok := v.(string); ok && (strings.Contains(s, "192.0.2.") || strings.Contains(s, "198.51.100.")) {
					t.Errorf("request line carries a client IP in %s: %v", k, l)
				}
			}
		}

		// The metric counts blocks per rule.
		if got := scrape(t, ts, fmt.Sprintf(`leadcap_shield_blocks_total{rule="rule-%v"}`, cidr4.body["id"])); got < 3 {
			t.Errorf("blocks counted for the /24's rule: %v", got)
		}

		// The block record: aggregated per rule and IP, flushed each second.
		var recs []any
		deadline := time.Now().Add(3 * time.Second)
		for len(recs) == 0 && time.Now().Before(deadline) {
			r := admin.do(t, "GET", "/api/v1/shield/blocks", nil)
			recs, _ = r.body["blocks"].([]any)
			time.Sleep(100 * time.Millisecond)
		}
		if len(recs) == 0 {
			t.Fatal("the block record stays empty")
		}

		// Listing, removal (effective within a second) and the audit trail.
		list := admin.do(t, "GET", "/api/v1/shield/rules", nil)
		if rules, _ := list.body["rules"].([]any); len(rules) != 5 {
			t.Fatalf("list: %s", list.raw)
		}
		del := admin.do(t, "DELETE", fmt.Sprint("/api/v1/shield/rules/", cidr4.body["id"]), nil)
		if del.status != 200 || del.str("network") != "192.0.2.0/24" {
			t.Fatalf("delete: %d %s", del.status, del.raw)
		}
		if r := admin.do(t, "DELETE", fmt.Sprint("/api/v1/shield/rules/", cidr4.body["id"]), nil); r.status != 404 {
			t.Fatalf("delete again: %d", r.status)
		}
		waitStatus(t, time.Second, 201, func() reply { return postFrom("192.0.2.5", 1) })
		events, _, err := ts.store.AuditEvents(context.Background(), store.AuditFilter{Action: "shield"})
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, e := range events {
			actions = append(actions, e.Action+" "+e.Detail["target"])
			if e.Actor == "" || e.ClientIP != "10.0.0.2" || e.Result != leadcap.AuditSuccess {
				t.Errorf("audit event: %+v", e)
			}
		}
		if !slices.Contains(actions, "shield.rule.add 192.0.2.0/24") || !slices.Contains(actions, "shield.rule.remove 192.0.2.0/24") || len(events) != 7 {
			t.Fatalf("audit: %v", actions)
		}
	})
}

// TestShieldRealPeers blocks the TCP peer itself, IPv4 and IPv6, with no
// proxy in between.
func TestShieldRealPeers(t *testing.T) {
	for _, tt := range []struct{ listen, network string }{
		{"127.0.0.1:0", "127.0.0.1"},
		{"[::1]:0", "::1"},
	} {
		t.Run(tt.network, func(t *testing.T) {
			ts := newTestServerWith(t, storetest.SQLite(t), setup{listen: tt.listen,
				shield: func(o *shield.Options) { o.TrustedProxies = nil }})
			ts.mustConference(t, "expo", leadcap.StatusOpen)
			c := ts.newClient("")
			if r := c.do(t, "GET", "/api/v1/conferences/expo/form-token", nil); r.status != 200 {
				t.Fatalf("before: %d", r.status)
			}
			if _, err := ts.store.PutShieldRule(context.Background(), &leadcap.ShieldRule{Action: "block", Network: tt.network + "/" +
				strconv.Itoa(netip.MustParseAddr(tt.network).BitLen()), CreatedBy: "test"}); err != nil {
				t.Fatal(err)
			}
			waitStatus(t, time.Second, 403, func() reply { return c.do(t, "GET", "/api/v1/conferences/expo/form-token", nil) })
		})
	}
}

func TestShieldExpiredRule(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ts := newTestServer(t, dsn)
		ts.mustConference(t, "expo", leadcap.StatusOpen)
		r := &leadcap.ShieldRule{Action: "block", Network: "203.0.113.0/24", CreatedBy: "test", ExpiresAt: ts.clock.now().Add(time.Minute)}
		if _, err := ts.store.PutShieldRule(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		c := ts.newClient("203.0.113.50")
		waitStatus(t, time.Second, 403, func() reply { return c.do(t, "GET", "/api/v1/conferences/expo/form-token", nil) })
		version := ts.shield.RulesVersion()
		ts.clock.add(61 * time.Second)
		if r := c.do(t, "GET", "/api/v1/conferences/expo/form-token", nil); r.status != 200 {
			t.Fatalf("expired rule still applies: %d %s", r.status, r.raw)
		}
		if ts.shield.RulesVersion() != version {
			t.Fatal("the rules were reloaded: expiry must not need a reload")
		}
	})
}

// TestShieldForwardedFor: a client cannot pick its IP with
// X-Forwarded-For unless its peer is a trusted proxy.
func TestShieldForwardedFor(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		direct := newTestServerWith(t, dsn, setup{shield: func(o *shield.Options) { o.TrustedProxies = nil }})
		direct.mustConference(t, "expo", leadcap.StatusOpen)
		var loopback *leadcap.ShieldRule
		for _, n := range []string{"203.0.113.7/32", "127.0.0.1/32"} {
			loopback = &leadcap.ShieldRule{Action: "block", Network: n, CreatedBy: "test"}
			if _, err := direct.store.PutShieldRule(ctx, loopback); err != nil {
				t.Fatal(err)
			}
		}
		if err := direct.shield.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		// Loopback is blocked; claiming another address changes nothing.
		for _, xff := range []string{"", "198.51.100.1", "198.51.100.1, 10.0.0.1", "192.0.2.9"} {
			if r := direct.newClient(xff).do(t, "GET", "/api/v1/conferences/expo/form-token", nil); r.status != 403 {
				t.Errorf("spoofed X-Forwarded-For %q from an untrusted peer: %d", xff, r.status)
			}
		}
		if _, err := direct.store.DeleteShieldRule(ctx, loopback.ID); err != nil {
			t.Fatal(err)
		}
		direct.shield.Reload(ctx)
		// Claiming a blocked address does not get anyone else blocked either.
		if r := direct.newClient("203.0.113.7").do(t, "GET", "/api/v1/conferences/expo/form-token", nil); r.status != 200 {
			t.Errorf("untrusted X-Forwarded-For believed: %d", r.status)
		}

		// Behind a trusted proxy (loopback here) the forwarded address is
		// the client: for the rules, and in the lead's consent record.
		proxied := newTestServer(t, sameBackend(t, dsn))
		proxied.mustConference(t, "expo", leadcap.StatusOpen)
		if _, err := proxied.store.PutShieldRule(ctx, &leadcap.ShieldRule{Action: "block", Network: "203.0.113.7/32", CreatedBy: "test"}); err != nil {
			t.Fatal(err)
		}
		proxied.shield.Reload(ctx)
		if r := proxied.newClient("6.6.6.6, 203.0.113.7").do(t, "GET", "/api/v1/conferences/expo/form-token", nil); r.status != 403 {
			t.Errorf("trusted proxy's X-Forwarded-For ignored: %d", r.status)
		}
		tok := proxied.formToken(t, "expo")
		r := proxied.newClient("203.0.113.8").do(t, "POST", "/api/v1/leads", lead(map[string]any{"render_token": tok}))
		if r.status != 201 {
			t.Fatalf("lead: %d %s", r.status, r.raw)
		}
		l, err := proxied.store.Lead(ctx, r.str("id"))
		if err != nil || l.Consent.IP != "203.0.113.8" || l.Spam {
			t.Fatalf("lead consent IP %q spam %v: %v", l.Consent.IP, l.Spam, err)
		}
	})
}

// writeMMDB writes a small MaxMind-format country database.
func writeMMDB(t *testing.T, countries map[string]string) string {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoLite2-Country", IncludeReservedNetworks: true, RecordSize: 24})
	if err != nil {
		t.Fatal(err)
	}
	for network, cc := range countries {
		_, n, err := net.ParseCIDR(network)
		if err != nil {
			t.Fatal(err)
		}
		if err := tree.Insert(n, mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String(cc)}}); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "country.mmdb")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tree.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestShieldCountryRules(t *testing.T) {
	mmdb := writeMMDB(t, map[string]string{
		"192.0.2.0/24":     "RU",
		"198.51.100.0/24":  "BZ",
		"203.0.113.0/24":   "DE",
		"2001:db8:1::/48":  "RU",
		"2001:db8:2::/48":  "BZ",
		"100.64.0.0/16":    "RU",
		"100.65.0.0/16":    "BZ",
		"2001:db8:99::/48": "DE",
	})
	storetest.Each(t, func(t *testing.T, dsn string) {
		logs := &syncBuffer{}
		ts := newTestServerWith(t, dsn, setup{log: logs, shield: func(o *shield.Options) { o.GeoIPPath = mmdb }})
		ts.mustConference(t, "expo", leadcap.StatusOpen)
		admin := ts.mustLogin(t, ts.mustAccount(t, leadcap.RoleAdmin), "10.0.0.2")
		// The rule waited for below comes last, so that once it applies
		// the others do too.
		for _, body := range []map[string]any{
			{"action": "block", "network": "198.51.100.0/24"},
			{"action": "allow", "country": "BZ"},
			{"action": "block", "country": "ru", "note": "spam wave"},
		} {
			if r := admin.do(t, "POST", "/api/v1/shield/rules", body); r.status != 201 {
				t.Fatalf("add %v: %d %s", body, r.status, r.raw)
			}
		}
		get := func(ip string) int {
			return ts.newClient(ip).do(t, "GET", "/api/v1/conferences/expo/form-token", nil).status
		}
		waitStatus(t, time.Second, 403, func() reply { return reply{status: get("192.0.2.1")} })
		for ip, want := range map[string]int{
			"192.0.2.77":    403, // RU
			"100.64.3.4":    403, // RU
			"2001:db8:1::1": 403, // RU, IPv6
			"203.0.113.5":   200, // DE
			"198.51.100.5":  200, // BZ: the country allow wins over the network block
			"2001:db8:2::1": 200, // BZ, IPv6
			"100.66.0.1":    200, // not in the database
		} {
			if got := get(ip); got != want {
				t.Errorf("%s: %d, want %d", ip, got, want)
			}
		}
		var ru bool
		for _, l := range logs.lines("shield block") {
			ru = ru || (l["client_ip"] == "192.0.2.77" && l["country"] == "RU")
		}
		if !ru {
			t.Error("block line without the country")
		}
	})
}

func TestShieldRateLimits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ts := newTestServerWith(t, dsn, setup{shield: func(o *shield.Options) {
			o.LeadsPerIP = ratelimit.Config{Burst: 3, Every: time.Minute}
			o.LeadsPerConference = ratelimit.Config{Burst: 6, Every: time.Minute}
			o.APIPerToken = ratelimit.Config{Burst: 2, Every: time.Minute}
		}})
		ts.mustConference(t, "expo", leadcap.StatusOpen)
		ts.mustConference(t, "other", leadcap.StatusOpen)
		tok := ts.formToken(t, "expo")
		n := 0
		post := func(ip, conf string) reply {
			n++
			return ts.newClient(ip).do(t, "POST", "/api/v1/leads", lead(map[string]any{"conference": conf, "render_token": tok,
				"submission_id": fmt.Sprint("rl-", n), "email": fmt.Sprintf("rl%d@example.com", n)}))
		}
		for i := range 3 {
			if r := post("192.0.2.1", "expo"); r.status != 201 {
				t.Fatalf("lead %d: %d %s", i, r.status, r.raw)
			}
		}
		r := post("192.0.2.1", "expo")
		retry, _ := strconv.Atoi(r.header.Get("Retry-After"))
		if r.status != 429 || r.errCode() != leadcap.ETOOMANY || retry < 1 || retry > 60 {
			t.Fatalf("4th lead from one IP: %d Retry-After %q %s", r.status, r.header.Get("Retry-After"), r.raw)
		}
		// An IPv6 client's /64 is one client.
		for i := range 3 {
			post(fmt.Sprintf("2001:db8:5::%d", i+1), "other")
		}
		if r := post("2001:db8:5::99", "other"); r.status != 429 {
			t.Fatalf("4th lead from one /64: %d", r.status)
		}
		// Another address is not limited by the first one's bucket, but
		// the conference's bucket (6) is now empty for every address.
		if r := post("192.0.2.2", "expo"); r.status != 201 {
			t.Fatalf("other IP: %d %s", r.status, r.raw)
		}
		if r := post("192.0.2.3", "expo"); r.status != 201 {
			t.Fatalf("other IP: %d %s", r.status, r.raw)
		}
		if r := post("192.0.2.4", "expo"); r.status != 201 {
			t.Fatalf("other IP: %d %s", r.status, r.raw)
		}
		if r := post("192.0.2.5", "expo"); r.status != 429 || r.header.Get("Retry-After") == "" {
			t.Fatalf("7th lead for one conference: %d %s", r.status, r.raw)
		}
		// A network allow rule exempts a venue's NAT from the per-IP limit.
		if _, err := ts.store.PutShieldRule(context.Background(), &leadcap.ShieldRule{Action: "allow", Network: "192.0.2.1/32", CreatedBy: "test"}); err != nil {
			t.Fatal(err)
		}
		ts.shield.Reload(context.Background())
		if r := post("192.0.2.1", "other"); r.status != 201 {
			t.Fatalf("allow-listed NAT: %d %s", r.status, r.raw)
		}
		// API calls per bearer token.
		staff := ts.mustToken(t, ts.mustAccount(t, leadcap.RoleStaff), "10.0.0.3")
		for range 2 {
			if r := staff.do(t, "GET", "/api/v1/me", nil); r.status != 200 {
				t.Fatalf("token call: %d", r.status)
			}
		}
		if r := staff.do(t, "GET", "/api/v1/me", nil); r.status != 429 || r.header.Get("Retry-After") == "" {
			t.Fatalf("3rd token call: %d %s", r.status, r.raw)
		}
		// Each 429 counts once: the limits before the handler as "shield",
		// the conference's as "leads"; none is a rule's block.
		if got := scrape(t, ts, `leadcap_rate_limited_total{scope="shield"}`); got != 3 {
			t.Errorf("rate-limited by the shield: %v, want 3", got)
		}
		if got := scrape(t, ts, `leadcap_rate_limited_total{scope="leads"}`); got != 1 {
			t.Errorf("rate-limited by conference: %v, want 1", got)
		}
		if got := scrape(t, ts, `leadcap_shield_blocks_total`); got != 0 {
			t.Errorf("rate limits counted as rule blocks: %v", got)
		}
	})
}

// scrape reads /metrics from loopback and returns the sum of the samples
// whose line starts with series.
func scrape(t *testing.T, ts *testServer, series string) float64 {
	t.Helper()
	res, err := http.Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("/metrics: %d %s", res.StatusCode, b)
	}
	sum := 0.0
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, series) && (line[len(series)] == ' ' || line[len(series)] == '{') {
			v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
			if err != nil {
				t.Fatalf("metric line %q: %v", line, err)
			}
			sum += v
		}
	}
	return sum
}

// leadOf returns the stored lead of a capture answer.
func leadOf(t *testing.T, ts *testServer, r reply) *leadcap.Lead {
	t.Helper()
	l, err := ts.store.Lead(context.Background(), r.str("id"))
	if err != nil {
		t.Fatalf("lead %q of %s: %v", r.str("id"), r.raw, err)
	}
	return l
}

func TestFormDefences(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ts := newTestServer(t, dsn)
		expo := ts.mustConference(t, "expo", leadcap.StatusOpen)
		ts.mustConference(t, "other", leadcap.StatusOpen)
		// A token from a server with other keys is a forgery here.
		stranger := newTestServer(t, storetest.SQLite(t))
		stranger.mustConference(t, "expo", leadcap.StatusOpen)
		foreign := stranger.formToken(t, "expo")

		ctx := context.Background()
		res, err := http.Get(ts.URL + "/api/v1/conferences/expo/form-token")
		if err != nil {
			t.Fatal(err)
		}
		var ft shield.FormToken
		json.NewDecoder(res.Body).Decode(&ft)
		res.Body.Close()
		if res.Header.Get("Cache-Control") != "no-store" || ft.RenderToken == "" || ft.PowBits != 0 ||
			ft.ExpiresAt.Sub(ts.clock.now()) < 13*24*time.Hour {
			t.Fatalf("form token: %+v %v", ft, res.Header)
		}
		otherTok := ts.formToken(t, "other")
		good := ts.formToken(t, "expo")
		res, err = http.Get(ts.URL + "/api/v1/conferences/expo/form-token")
		if err != nil {
			t.Fatal(err)
		}
		json.NewDecoder(res.Body).Decode(&ft)
		res.Body.Close()
		fresh := ft.RenderToken // rendered now: too fast until the clock moves
		tampered := strings.Replace(good, "."+expo.ID+".", "."+strings.Replace(expo.ID, expo.ID[:1], "f", 1)+".", 1)

		n := 0
		submit := func(edits map[string]any) reply {
			n++
			e := map[string]any{"submission_id": fmt.Sprint("d-", n), "email": fmt.Sprintf("d%d@example.com", n)}
			for k, v := range edits {
				e[k] = v
			}
			return ts.newClient("192.0.2.1").do(t, "POST", "/api/v1/leads", lead(e))
		}
		real := submit(map[string]any{"render_token": good})
		if real.status != 201 || leadOf(t, ts, real).Spam {
			t.Fatalf("real lead: %d %s", real.status, real.raw)
		}
		keys := func(r reply) []string {
			return slices.Sorted(func(yield func(string) bool) {
				for k := range r.body {
					if !yield(k) {
						return
					}
				}
			})
		}
		tests := []struct {
			name   string
			edits  map[string]any
			reason string
		}{
			{"honeypot", map[string]any{"render_token": good, "website": "http://cheap-pills.example"}, shield.ReasonHoneypot},
			{"too fast", map[string]any{"render_token": fresh}, shield.ReasonTooFast},
			{"missing token", map[string]any{}, shield.ReasonRenderTokenMissing},
			{"forged token", map[string]any{"render_token": foreign}, shield.ReasonRenderTokenInvalid},
			{"tampered token", map[string]any{"render_token": tampered}, shield.ReasonRenderTokenInvalid},
			{"junk token", map[string]any{"render_token": "r1.not.a.token"}, shield.ReasonRenderTokenInvalid},
			{"another conference's token", map[string]any{"render_token": otherTok}, shield.ReasonRenderTokenInvalid},
		}
		for _, tt := range tests {
			r := submit(tt.edits)
			if r.status != real.status || !slices.Equal(keys(r), keys(real)) || r.str("status") != leadcap.ResultCreated {
				t.Errorf("%s: the client sees %d %s, unlike a real lead's %d %s", tt.name, r.status, r.raw, real.status, real.raw)
				continue
			}
			if l := leadOf(t, ts, r); !l.Spam || l.SpamReason != tt.reason {
				t.Errorf("%s: stored spam=%v reason %q, want %q", tt.name, l.Spam, l.SpamReason, tt.reason)
			}
		}
		// A form-encoded submission (the booth form without JavaScript)
		// takes the same checks.
		form := "conference=expo&submission_id=form-hp&first_name=Bo&last_name=Li&email=bo%40example.com" +
			"&answers.size=solo&consent_contact=on&website=x&render_token=" + good
		res, err = http.Post(ts.URL+"/api/v1/leads", "application/x-www-form-urlencoded", strings.NewReader(form))
		if err != nil {
			t.Fatal(err)
		}
		fr := reply{status: res.StatusCode}
		json.NewDecoder(res.Body).Decode(&fr.body)
		res.Body.Close()
		if fr.status != 201 || leadOf(t, ts, fr).SpamReason != shield.ReasonHoneypot {
			t.Fatalf("form-encoded honeypot: %d %+v", fr.status, fr.body)
		}
		// A token a week old (a lead queued offline) is accepted; one past
		// its expiry is quarantined.
		ts.clock.add(7 * 24 * time.Hour)
		if r := submit(map[string]any{"render_token": good}); leadOf(t, ts, r).Spam {
			t.Fatalf("week-old token: %s", leadOf(t, ts, r).SpamReason)
		}
		ts.clock.add(8 * 24 * time.Hour)
		if r := submit(map[string]any{"render_token": good}); leadOf(t, ts, r).SpamReason != shield.ReasonRenderTokenExpired {
			t.Fatalf("expired token: %+v", leadOf(t, ts, r))
		}
		// Admins see the quarantine, with the reasons.
		admin := ts.mustLogin(t, ts.mustAccount(t, leadcap.RoleAdmin), "10.0.0.2")
		qr := admin.do(t, "GET", "/api/v1/shield/quarantine?conference=expo&limit=100", nil)
		if ql, _ := qr.body["leads"].([]any); qr.status != 200 || len(ql) != len(tests)+2 || !strings.Contains(qr.raw, `"spam_reason":"too_fast"`) {
			t.Fatalf("quarantine: %d %s", qr.status, qr.raw)
		}
		// Spam stays out of listings (and so exports) unless asked for, and
		// never changes a real lead with the same email.
		clean, _, _ := ts.store.Leads(ctx, store.LeadFilter{ConferenceID: expo.ID, Limit: 100})
		all, _, _ := ts.store.Leads(ctx, store.LeadFilter{ConferenceID: expo.ID, IncludeSpam: true, Limit: 100})
		if len(clean) != 2 || len(all) != len(tests)+4 {
			t.Fatalf("%d clean and %d in all, want 2 and %d", len(clean), len(all), len(tests)+4)
		}
		hijack := submit(map[string]any{"email": "d1@example.com", "company": "Spam Inc", "website": "x", "render_token": good})
		if hijack.str("id") != real.str("id") {
			t.Fatalf("same email, other lead: %s", hijack.raw)
		}
		if l := leadOf(t, ts, real); l.Company != "Acme" || l.Spam || len(l.History) != 2 {
			t.Fatalf("spam changed a real lead: company %q spam %v history %d", l.Company, l.Spam, len(l.History))
		}
	})
}

// TestFormDefenceSwitches: each defence is off for a conference that says
// so, and server-wide when the server says so.
func TestFormDefenceSwitches(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ts := newTestServer(t, dsn)
		c := ts.mustConference(t, "lax", leadcap.StatusOpen)
		c.Defences = leadcap.FormDefences{HoneypotOff: true, FillTimeOff: true, RenderTokenOff: true}
		if err := ts.store.UpdateConference(context.Background(), c); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1100 * time.Millisecond) // capture's conference cache
		r := ts.newClient("192.0.2.1").do(t, "POST", "/api/v1/leads", lead(map[string]any{"conference": "lax", "website": "x"}))
		if r.status != 201 || leadOf(t, ts, r).Spam {
			t.Fatalf("conference with defences off: %d %+v", r.status, leadOf(t, ts, r))
		}

		off := newTestServerWith(t, storetest.SQLite(t), setup{forms: func(o *shield.FormOptions) {
			o.Defences = shield.Defences{} // everything off server-wide
		}})
		off.mustConference(t, "expo", leadcap.StatusOpen)
		r = off.newClient("192.0.2.1").do(t, "POST", "/api/v1/leads", lead(map[string]any{"website": "x"}))
		if r.status != 201 || leadOf(t, off, r).Spam {
			t.Fatalf("server with defences off: %d %+v", r.status, leadOf(t, off, r))
		}
	})
}

func TestProofOfWork(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ts := newTestServerWith(t, dsn, setup{forms: func(o *shield.FormOptions) {
			o.Defences.PowBits = 12 // fast enough for a test, still real work
			o.VerifyDevice = func(_ context.Context, token, conferenceID string) (string, error) {
				if token == "kiosk-"+conferenceID {
					return "tablet-1", nil
				}
				return "", nil // proves nothing
			}
		}})
		c := ts.mustConference(t, "expo", leadcap.StatusOpen)
		c.Defences.ProofOfWork = true
		if err := ts.store.UpdateConference(context.Background(), c); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1100 * time.Millisecond) // capture's conference cache
		res, err := http.Get(ts.URL + "/api/v1/conferences/expo/form-token")
		if err != nil {
			t.Fatal(err)
		}
		var ft shield.FormToken
		json.NewDecoder(res.Body).Decode(&ft)
		res.Body.Close()
		if ft.PowBits != 12 {
			t.Fatalf("form token without a challenge: %+v", ft)
		}
		ts.clock.add(shield.DefaultMinFillTime)
		tok := ft.RenderToken
		nonce := shield.SolvePow(tok, 12)
		wrong := nonce + "1"
		for shield.PowDigest(tok, wrong)[0] == 0 && shield.PowDigest(tok, wrong)[1]>>4 == 0 {
			wrong += "1" // by chance a solution too: take another
		}

		n := 0
		submit := func(edits map[string]any) (reply, *leadcap.Lead) {
			n++
			e := map[string]any{"submission_id": fmt.Sprint("p-", n), "email": fmt.Sprintf("p%d@example.com", n), "render_token": tok}
			for k, v := range edits {
				e[k] = v
			}
			r := ts.newClient("192.0.2.1").do(t, "POST", "/api/v1/leads", lead(e))
			if r.status != 201 {
				t.Fatalf("%v: %d %s", edits, r.status, r.raw)
			}
			return r, leadOf(t, ts, r)
		}
		solved, l := submit(map[string]any{"pow_nonce": nonce})
		if l.Spam {
			t.Fatalf("solved: %s", l.SpamReason)
		}
		for _, tt := range []struct {
			name   string
			edits  map[string]any
			reason string
		}{
			{"wrong", map[string]any{"pow_nonce": wrong}, shield.ReasonPowWrong},
			{"not a number", map[string]any{"pow_nonce": "abc"}, shield.ReasonPowWrong},
			{"missing", map[string]any{}, shield.ReasonPowMissing},
			{"replayed", map[string]any{"pow_nonce": nonce}, shield.ReasonPowReplayed},
			{"kiosk with a bad device token", map[string]any{"device_token": "kiosk-nope"}, shield.ReasonPowMissing},
		} {
			if _, l := submit(tt.edits); l.SpamReason != tt.reason {
				t.Errorf("%s: spam %v reason %q, want %q", tt.name, l.Spam, l.SpamReason, tt.reason)
			}
		}
		// An offline client retrying its own submission is not a replay:
		// it gets the first answer.
		retry := ts.newClient("192.0.2.1").do(t, "POST", "/api/v1/leads", lead(map[string]any{
			"submission_id": "p-1", "email": "p1@example.com", "render_token": tok, "pow_nonce": nonce}))
		if retry.status != 201 || retry.str("id") != solved.str("id") || leadOf(t, ts, retry).Spam {
			t.Fatalf("retry: %d %s", retry.status, retry.raw)
		}
		// A kiosk set up by staff skips the challenge.
		if _, l := submit(map[string]any{"device_token": "kiosk-" + c.ID}); l.Spam {
			t.Fatalf("kiosk: %s", l.SpamReason)
		}
		// An integration with a token that may write leads skips every
		// defence; a viewer's token does not.
		integration := ts.mustToken(t, ts.mustAccount(t, leadcap.RoleStaff), "10.0.0.5")
		r := integration.do(t, "POST", "/api/v1/leads", lead(map[string]any{"submission_id": "api-1", "email": "api@example.com", "website": "x"}))
		if r.status != 201 || leadOf(t, ts, r).Spam {
			t.Fatalf("integration: %d %+v", r.status, leadOf(t, ts, r))
		}
		viewer := ts.mustToken(t, ts.mustAccount(t, leadcap.RoleViewer), "10.0.0.6")
		r = viewer.do(t, "POST", "/api/v1/leads", lead(map[string]any{"submission_id": "api-2", "email": "api2@example.com"}))
		if r.status != 201 || leadOf(t, ts, r).SpamReason != shield.ReasonRenderTokenMissing {
			t.Fatalf("viewer token: %d %+v", r.status, leadOf(t, ts, r))
		}
	})
}

// TestSecurityHeaders: the admin surface is never cached; HSTS is sent
// under TLS, direct or ended at a trusted proxy.
func TestSecurityHeaders(t *testing.T) {
	ts := newTestServer(t, storetest.SQLite(t))
	ts.mustConference(t, "expo", leadcap.StatusOpen)
	tok := ts.formToken(t, "expo")
	c := ts.newClient("")
	for _, tt := range []struct {
		method, path string
		body         any
		noStore      bool
	}{
		{"GET", "/api/v1/me", nil, true},
		{"GET", "/api/v1/users", nil, true},
		{"POST", "/api/v1/auth/login", map[string]string{"email": "a@example.com", "password": "x"}, true},
		{"GET", "/api/v1/conferences/expo/form-token", nil, true},
		{"GET", "/readyz", nil, true},
		{"POST", "/api/v1/leads", lead(map[string]any{"render_token": tok}), false},
		{"GET", "/c/expo", nil, false},
		{"GET", "/static/booth.css", nil, false},
	} {
		r := c.do(t, tt.method, tt.path, tt.body)
		if got := r.header.Get("Cache-Control") == "no-store"; got != tt.noStore {
			t.Errorf("%s %s: Cache-Control %q", tt.method, tt.path, r.header.Get("Cache-Control"))
		}
		for _, h := range []string{"X-Content-Type-Options", "Referrer-Policy", "Content-Security-Policy"} {
			if r.header.Get(h) == "" {
				t.Errorf("%s %s: no %s", tt.method, tt.path, h)
			}
		}
		if csp := r.header.Get("Content-Security-Policy"); strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("CSP %q", csp)
		}
		if r.header.Get("Strict-Transport-Security") != "" {
			t.Errorf("%s: HSTS over plain HTTP", tt.path)
		}
	}
	// A trusted proxy that ended TLS says so.
	r := ts.newClient("192.0.2.1")
	req, _ := http.NewRequest("GET", ts.URL+"/healthz", nil)
	req.Header.Set("X-Forwarded-Proto", "https")
	res, err := r.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.Header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS behind a TLS-ending proxy")
	}
	// Direct TLS.
	tlsServer := newTestServerWith(t, storetest.SQLite(t), setup{tls: true})
	res, err = tlsServer.Client().Get(tlsServer.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if !strings.HasPrefix(res.Header.Get("Strict-Transport-Security"), "max-age=") {
		t.Error("no HSTS under TLS")
	}
}
