package shield_test

import (
	"context"
	"math/rand/v2"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/crypto"
	"github.com/leadcap/leadcap/internal/intake"
	"github.com/leadcap/leadcap/internal/ratelimit"
	"github.com/leadcap/leadcap/internal/shield"
	"github.com/leadcap/leadcap/internal/store"
	"github.com/leadcap/leadcap/internal/store/storetest"
)

// openStore opens and migrates a database for a test or benchmark.
func openStore(tb testing.TB, dsn string) (*store.Store, *crypto.KeyRing) {
	tb.Helper()
	keys, _, err := crypto.LoadOrCreate(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	st, err := store.Open(context.Background(), dsn, store.Options{Sealer: keys})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return st, keys
}

// randomRules returns n block rules for distinct random networks: nine in
// ten IPv4 ranges from /16 to /32, one in ten IPv6 from /32 to /64, the
// mix of a real blocklist.
func randomRules(n int, rng *rand.Rand) []*leadcap.ShieldRule {
	seen := map[string]bool{}
	var out []*leadcap.ShieldRule
	for len(out) < n {
		var p netip.Prefix
		if rng.IntN(10) == 0 {
			var b [16]byte
			b[0], b[1] = 0x20, 0x01
			for i := 2; i < 8; i++ {
				b[i] = byte(rng.IntN(256))
			}
			p = netip.PrefixFrom(netip.AddrFrom16(b), 32+rng.IntN(33)).Masked()
		} else {
			a := netip.AddrFrom4([4]byte{byte(1 + rng.IntN(222)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))})
			p = netip.PrefixFrom(a, 16+rng.IntN(17)).Masked()
		}
		if seen[p.String()] {
			continue
		}
		seen[p.String()] = true
		out = append(out, &leadcap.ShieldRule{Action: leadcap.ShieldBlock, Network: p.String(), CreatedBy: "bench"})
	}
	return out
}

// BenchmarkScreen measures the shield's cost per request with 10,000 CIDR
// rules loaded: a client no rule matches (the common case) on a lead
// submission (rules and the per-IP limit) and on a console page (rules
// only), and a client a rule blocks (logged, counted and recorded).
func BenchmarkScreen(b *testing.B) {
	st, _ := openStore(b, storetest.SQLite(b))
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	rules := randomRules(10_000, rng)
	if _, err := st.PutShieldRules(ctx, rules); err != nil {
		b.Fatal(err)
	}
	sh, err := shield.New(ctx, shield.Options{Store: st,
		LeadsPerIP: ratelimit.Config{Burst: 1 << 30, Every: time.Nanosecond}})
	if err != nil {
		b.Fatal(err)
	}
	defer sh.Close()
	route := func() string { return "POST /api/v1/leads" }
	// Clients from the same address space as the rules that no rule
	// matches, and one inside a blocked range.
	var clients []netip.Addr
	probe := httptest.NewRequest("GET", "/", nil)
	for len(clients) < 1024 {
		a := netip.AddrFrom4([4]byte{byte(1 + rng.IntN(222)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))})
		if sh.Screen(probe, a, route) == nil {
			clients = append(clients, a)
		}
	}
	blocked := netip.MustParsePrefix(rules[0].Network).Addr()
	for _, bc := range []struct {
		name, method, path string
		ips                []netip.Addr
		wantBlock          bool
	}{
		{"lead-pass", "POST", "/api/v1/leads", clients, false},
		{"console-pass", "GET", "/api/v1/me", clients, false},
		{"blocked", "POST", "/api/v1/leads", []netip.Addr{blocked}, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := httptest.NewRequest(bc.method, bc.path, nil)
			if err := sh.Screen(r, bc.ips[0], route); (err != nil) != bc.wantBlock {
				b.Fatalf("first request: %v", err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				sh.Screen(r, bc.ips[i%len(bc.ips)], route)
			}
		})
	}
	b.Logf("%d rules loaded (version %d)", len(rules), sh.RulesVersion())
}

// inside returns a random address of the network p.
func inside(p netip.Prefix, rng *rand.Rand) netip.Addr {
	b := p.Addr().As16()
	first := 0
	if p.Addr().Is4() {
		first = 96
	}
	for bit := first + p.Bits(); bit < 128; bit++ {
		if rng.IntN(2) == 1 {
			b[bit/8] |= 0x80 >> (bit % 8)
		}
	}
	a := netip.AddrFrom16(b)
	if p.Addr().Is4() {
		a = a.Unmap()
	}
	return a
}

// TestRandomRulesMatch checks the benchmark's premise with the real
// matcher: each of 10,000 loaded networks blocks a random address inside
// it, and addresses outside every one pass.
func TestRandomRulesMatch(t *testing.T) {
	st, _ := openStore(t, storetest.SQLite(t))
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(3, 4))
	rules := randomRules(10_000, rng)
	if n, err := st.PutShieldRules(ctx, rules); err != nil || n != len(rules) {
		t.Fatalf("stored %d: %v", n, err)
	}
	sh, err := shield.New(ctx, shield.Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	r := httptest.NewRequest("GET", "/api/v1/me", nil)
	route := func() string { return "GET /api/v1/me" }
	for _, rule := range rules {
		p := netip.MustParsePrefix(rule.Network)
		a := inside(p, rng)
		if !p.Contains(a) {
			t.Fatalf("test helper: %s not in %s", a, p)
		}
		if err := sh.Screen(r, a, route); leadcap.ErrorCode(err) != leadcap.EFORBIDDEN {
			t.Fatalf("rule %d (%s) did not block %s: %v", rule.ID, rule.Network, a, err)
		}
	}
	// Random addresses, most near some rule's range: the index agrees
	// with a plain scan of every rule.
	prefixes := make([]netip.Prefix, len(rules))
	for i, rule := range rules {
		prefixes[i] = netip.MustParsePrefix(rule.Network)
	}
	blocked := 0
	for i := range 2000 {
		a := inside(prefixes[rng.IntN(len(prefixes))], rng)
		if i%2 == 0 { // a neighbour, often just outside
			b := a.As16()
			b[15-rng.IntN(2)] ^= byte(1 + rng.IntN(255))
			b[13] ^= byte(rng.IntN(2))
			if a.Is4() {
				a = netip.AddrFrom16(b).Unmap()
			} else {
				a = netip.AddrFrom16(b)
			}
		}
		want := false
		for _, p := range prefixes {
			want = want || p.Contains(a)
		}
		got := sh.Screen(r, a, route) != nil
		if got != want {
			t.Fatalf("%s: blocked %v, a scan of the rules says %v", a, got, want)
		}
		if got {
			blocked++
		}
	}
	if blocked < 1000 || blocked == 2000 {
		t.Fatalf("%d of 2000 blocked: the test does not test both ways", blocked)
	}
}

// BenchmarkFormScreen measures the form abuse defences on one lead
// submission with a valid render token (no proof of work): the honeypot,
// the token's MAC, conference and expiry, and the fill time.
func BenchmarkFormScreen(b *testing.B) {
	st, keys := openStore(b, storetest.SQLite(b))
	now := time.Now()
	clock := func() time.Time { return now }
	f := shield.NewForms(shield.FormOptions{Keys: keys, Store: st, Now: clock, Defences: shield.DefaultDefences()})
	c := &leadcap.Conference{ID: "0190c1e2-aaaa-7bbb-8ccc-123456789abc", Slug: "expo"}
	tok := f.Token(c).RenderToken
	now = now.Add(time.Minute)
	in := &intake.Input{RenderToken: tok, SubmissionID: "s-1"}
	ctx := context.Background()
	if reason, _, err := f.Screen(ctx, c, in, shield.Caller{}); reason != "" || err != nil {
		b.Fatalf("screen: %q %v", reason, err)
	}
	b.ReportAllocs()
	for b.Loop() {
		f.Screen(ctx, c, in, shield.Caller{})
	}
}
