package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/leadcap/leadcap/internal/store"
	"github.com/leadcap/leadcap/internal/store/storetest"
)

func TestKioskLinks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		now := time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)
		s, _ := storetest.Open(t, dsn, store.Options{Merge: testMerge, Now: func() time.Time { return now }})
		c := MustConference(t, s, "expo")
		other := MustConference(t, s, "other")
		version := func() int64 {
			t.Helper()
			v, err := s.KioskLinksVersion(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		one := func(conferenceID, device string) *store.KioskLink {
			t.Helper()
			list, err := s.KioskLinks(ctx, conferenceID)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range list {
				if l.DeviceID == device {
					return l
				}
			}
			t.Fatalf("no record of %s in %+v", device, list)
			return nil
		}

		v0 := version()
		l := &store.KioskLink{ConferenceID: c.ID, DeviceID: "tablet-3", Label: "Tablet 3", Expires: now.Add(time.Hour), IssuedBy: "cli"}
		if err := s.IssueKioskLink(ctx, l); err != nil {
			t.Fatal(err)
		}
		first := l.Issued
		if !first.Equal(now) || version() <= v0 {
			t.Fatalf("issued %v (want %v), version %d after %d", first, now, version(), v0)
		}
		got := one(c.ID, "tablet-3")
		if got.Label != "Tablet 3" || !got.Expires.Equal(now.Add(time.Hour)) || got.IssuedBy != "cli" ||
			!got.Issued.Equal(first) || !got.Revoked.IsZero() || got.Status(now) != store.KioskActive {
			t.Fatalf("record: %+v", got)
		}
		if got.Status(now.Add(time.Hour)) != store.KioskExpired {
			t.Fatalf("status at expiry: %s", got.Status(now.Add(time.Hour)))
		}

		// A new link in the same microsecond, or with the clock set back,
		// is still newer than the one it replaces.
		now = now.Add(-time.Minute)
		again := &store.KioskLink{ConferenceID: c.ID, DeviceID: "tablet-3", Label: "Tablet 3b", Expires: now.Add(2 * time.Hour), IssuedBy: "cli"}
		if err := s.IssueKioskLink(ctx, again); err != nil {
			t.Fatal(err)
		}
		if !again.Issued.After(first) {
			t.Fatalf("re-issued at %v, not after %v", again.Issued, first)
		}
		if got := one(c.ID, "tablet-3"); got.Label != "Tablet 3b" || !got.Issued.Equal(again.Issued) {
			t.Fatalf("re-issued record: %+v", got)
		}

		// Revoking: never before the current link, whatever the clock; a
		// second revoke changes nothing.
		v1 := version()
		rec, changed, err := s.RevokeKioskLink(ctx, c.ID, "tablet-3", "ops")
		if err != nil || !changed || rec.Revoked.Before(again.Issued) || rec.RevokedBy != "ops" || rec.Status(now) != store.KioskRevoked {
			t.Fatalf("revoke: %+v %v %v", rec, changed, err)
		}
		if version() <= v1 {
			t.Fatal("revoke did not move the version")
		}
		v2 := version()
		now = now.Add(time.Hour)
		if rec2, changed, err := s.RevokeKioskLink(ctx, c.ID, "tablet-3", "someone"); err != nil || changed ||
			!rec2.Revoked.Equal(rec.Revoked) || rec2.RevokedBy != "ops" || version() != v2 {
			t.Fatalf("revoke again: %+v %v %v", rec2, changed, err)
		}
		if got := one(c.ID, "tablet-3"); got.Status(now) != store.KioskRevoked || got.Label != "Tablet 3b" {
			t.Fatalf("after revoke: %+v", got)
		}

		// Re-issuing a revoked device: the new link is newer than the
		// revocation, which the record keeps as the cut-off.
		third := &store.KioskLink{ConferenceID: c.ID, DeviceID: "tablet-3", Label: "Tablet 3", Expires: now.Add(time.Hour), IssuedBy: "cli"}
		if err := s.IssueKioskLink(ctx, third); err != nil {
			t.Fatal(err)
		}
		got = one(c.ID, "tablet-3")
		if !third.Issued.After(rec.Revoked) || !got.Revoked.Equal(rec.Revoked) || got.Status(now) != store.KioskActive ||
			!third.Revoked.Equal(rec.Revoked) {
			t.Fatalf("re-issued after revoke: %+v (revoked at %v)", got, rec.Revoked)
		}

		// A device with no record (its link signed before links were
		// recorded) can be revoked by id; the same id elsewhere is another
		// device.
		old, changed, err := s.RevokeKioskLink(ctx, other.ID, "tablet-3", "cli")
		if err != nil || !changed || !old.Issued.IsZero() || old.Status(now) != store.KioskRevoked {
			t.Fatalf("revoke unrecorded: %+v %v %v", old, changed, err)
		}
		if got := one(c.ID, "tablet-3"); got.Status(now) != store.KioskActive {
			t.Fatalf("revoking another conference's device changed this one: %+v", got)
		}
		v, all, err := s.AllKioskLinks(ctx)
		if err != nil || v != version() || len(all) != 2 {
			t.Fatalf("all: %d %+v %v", v, all, err)
		}

		// Deleting a conference takes its devices with it.
		if _, err := s.DeleteConference(ctx, other.ID, true); err != nil {
			t.Fatal(err)
		}
		if list, err := s.KioskLinks(ctx, other.ID); err != nil || len(list) != 0 {
			t.Fatalf("devices of a deleted conference: %+v %v", list, err)
		}
	})
}
