package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/crypto"
	"github.com/leadcap/leadcap/internal/store"
	"github.com/leadcap/leadcap/internal/store/storetest"
)

// TestCountSealedByPrefix counts sealed values by the key that sealed
// them, across a rotation: new values and rewritten leads move to the new
// key, and the rest stays on the old one.
func TestCountSealedByPrefix(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		dir := t.TempDir()
		keys, _, err := crypto.LoadOrCreate(dir)
		if err != nil {
			t.Fatal(err)
		}
		s, _ := storetest.Open(t, dsn, store.Options{Sealer: keys, Merge: testMerge})
		c := MustConference(t, s, "keys")
		capture := func(sub, email string) string {
			t.Helper()
			r, err := s.CaptureLead(ctx, newLead(c, sub, email), strings.ToLower(email))
			if err != nil {
				t.Fatal(err)
			}
			return r.LeadID
		}
		prefix := func(id uint32) string {
			ct, err := keys.Seal(nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := crypto.KeyID(ct); got != id {
				t.Fatalf("the ring seals with key %d, want %d", got, id)
			}
			return string(ct[:5])
		}
		oldID := keys.PrimaryKeyID()
		oldPrefix := prefix(oldID)
		capture("s1", "one@example.com")
		capture("s2", "two@example.com")
		capture("s3", "three@example.com")

		newID, err := keys.Rotate(dir)
		if err != nil {
			t.Fatal(err)
		}
		newPrefix := prefix(newID)
		capture("s4", "four@example.com")
		capture("s5", "one@example.com") // merged: lead one is sealed again, with the new key
		if err := s.UpdateLead(ctx, capture("s6", "six@example.com"),
			store.LeadChange{Note: &leadcap.LeadNote{Author: "staff", Text: "call back"}}); err != nil {
			t.Fatal(err)
		}

		counts, err := s.CountSealedByPrefix(ctx, 5)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]store.SealedCount{
			oldPrefix: {Leads: 2, Submissions: 3},
			newPrefix: {Leads: 3, Submissions: 3, Notes: 1},
		}
		if len(counts) != len(want) || counts[oldPrefix] != want[oldPrefix] || counts[newPrefix] != want[newPrefix] {
			t.Fatalf("counts by key: old %d %+v, new %d %+v, %d prefixes; want old %+v, new %+v",
				oldID, counts[oldPrefix], newID, counts[newPrefix], len(counts), want[oldPrefix], want[newPrefix])
		}
		if _, err := s.CountSealedByPrefix(ctx, 0); err == nil || !strings.Contains(err.Error(), "prefix length 0") {
			t.Errorf("prefix length 0: %v", err)
		}
	})
}
