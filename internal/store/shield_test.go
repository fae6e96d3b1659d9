package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/store/storetest"
)

func TestShieldStore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		s := MustOpen(t, dsn)
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Microsecond)

		v0, err := s.ShieldRulesVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		rules := []*leadcap.ShieldRule{
			{Action: "block", Network: "192.0.2.0/24", CreatedBy: "cli", Note: "a"},
			{Action: "allow", Network: "192.0.2.0/24", CreatedBy: "cli"}, // same network, other action: its own rule
			{Action: "block", Country: "RU", CreatedBy: "cli", ExpiresAt: now.Add(time.Hour)},
			{Action: "block", Network: "198.51.100.0/24", CreatedBy: "cli", ExpiresAt: now.Add(-40 * 24 * time.Hour)},
		}
		if n, err := s.PutShieldRules(ctx, rules); err != nil || n != 4 {
			t.Fatalf("put: %d %v", n, err)
		}
		v1, _ := s.ShieldRulesVersion(ctx)
		if v1 <= v0 {
			t.Fatalf("version did not move: %d then %d", v0, v1)
		}
		// Putting a rule again replaces it in place.
		again := &leadcap.ShieldRule{Action: "block", Network: "192.0.2.0/24", CreatedBy: "admin@example.com", Note: "b"}
		if created, err := s.PutShieldRule(ctx, again); err != nil || created || again.ID != rules[0].ID {
			t.Fatalf("replace: %v %v id %d want %d", created, err, again.ID, rules[0].ID)
		}
		got, err := s.ShieldRules(ctx)
		if err != nil || len(got) != 4 || got[0].Note != "b" || got[0].CreatedBy != "admin@example.com" ||
			!got[2].ExpiresAt.Equal(now.Add(time.Hour)) || got[1].Action != "allow" {
			t.Fatalf("rules: %+v %v", got, err)
		}
		// A rule is either a network or a country: the database refuses both.
		if err := s.ExecForTest(ctx, `INSERT INTO shield_rules (action, network, country, created_by, created_at)
			VALUES ('block', '10.0.0.0/8', 'RU', 'x', 0)`); err == nil {
			t.Fatal("a rule with a network and a country was stored")
		}
		if _, err := s.DeleteShieldRule(ctx, 9999); leadcap.ErrorCode(err) != leadcap.ENOTFOUND {
			t.Fatalf("delete missing: %v", err)
		}
		v2, _ := s.ShieldRulesVersion(ctx)
		if gone, err := s.DeleteShieldRule(ctx, rules[1].ID); err != nil || gone.Action != "allow" {
			t.Fatalf("delete: %+v %v", gone, err)
		}
		if v3, _ := s.ShieldRulesVersion(ctx); v3 <= v2 {
			t.Fatal("delete did not move the version")
		}

		// The block record, newest rows kept, returned oldest first.
		var recs []leadcap.ShieldBlockRecord
		for i := range 5 {
			recs = append(recs, leadcap.ShieldBlockRecord{At: now.Add(time.Duration(i-10) * 24 * time.Hour), Rule: "rule-1",
				ClientIP: "192.0.2.1", Country: "RU", Route: "POST /api/v1/leads", Count: int64(i + 1)})
		}
		if err := s.AddShieldBlocks(ctx, recs); err != nil {
			t.Fatal(err)
		}
		last2, err := s.ShieldBlocks(ctx, time.Time{}, 2)
		if err != nil || len(last2) != 2 || last2[0].Count != 4 || last2[1].Count != 5 || last2[1].Country != "RU" {
			t.Fatalf("blocks: %+v %v", last2, err)
		}

		// Proof-of-work solutions: once per submission.
		digest := []byte("0123456789abcdef0123456789abcdef")
		for _, tt := range []struct {
			sub  string
			want bool
		}{{"s-1", true}, {"s-1", true}, {"s-2", false}} {
			if fresh, err := s.UsePowSolution(ctx, digest, tt.sub, now.Add(-time.Minute)); err != nil || fresh != tt.want {
				t.Fatalf("use by %s: %v %v, want %v", tt.sub, fresh, err, tt.want)
			}
		}

		// Pruning: expired solutions, block rows past their keep, rules
		// long expired; nothing else.
		n, err := s.PruneShield(ctx, now, 7*24*time.Hour, 30*24*time.Hour)
		if err != nil || n != 1+3+1 {
			t.Fatalf("pruned %d: %v", n, err)
		}
		if fresh, _ := s.UsePowSolution(ctx, digest, "s-3", now.Add(time.Hour)); !fresh {
			t.Fatal("a pruned solution is still taken")
		}
		left, _ := s.ShieldBlocks(ctx, time.Time{}, 100)
		rulesLeft, _ := s.ShieldRules(ctx)
		if len(left) != 2 || len(rulesLeft) != 2 {
			t.Fatalf("after prune: %d block rows, %d rules", len(left), len(rulesLeft))
		}
	})
}
