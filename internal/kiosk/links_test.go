package kiosk_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/crypto"
	"github.com/leadcap/leadcap/internal/kiosk"
	"github.com/leadcap/leadcap/internal/store"
	"github.com/leadcap/leadcap/internal/store/storetest"
)

// openExpo opens a migrated store on dsn with the open conference expo.
func openExpo(t *testing.T, dsn string) (*store.Store, *crypto.KeyRing, *leadcap.Conference) {
	t.Helper()
	st, k := storetest.Open(t, dsn, store.Options{})
	c := &leadcap.Conference{Slug: "expo", Name: "Expo", Status: leadcap.StatusOpen}
	if err := st.CreateConference(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return st, k, c
}

func TestLinksRevokeAndReplace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		st, k, c := openExpo(t, dsn)
		now := time.Now()
		device := kiosk.Device{ConferenceID: c.ID, ID: "tablet-3", Label: "Tablet 3", Expires: now.Add(time.Hour).Truncate(time.Second)}
		// check verifies token with fresh Links, which read the store at
		// once, and returns the error code ("" for a good link).
		check := func(token string) string {
			t.Helper()
			d, err := kiosk.NewLinks(k, st).Verify(ctx, token, c.ID, now)
			if err == nil && d.ID != device.ID {
				t.Fatalf("verified as %+v", d)
			}
			if errors.Is(err, kiosk.ErrRevoked) {
				if leadcap.ErrorCode(err) != leadcap.EGONE {
					t.Fatalf("revoked link: %v is not EGONE", err)
				}
				return "revoked: " + leadcap.ErrorMessage(err)
			}
			return leadcap.ErrorCode(err)
		}
		links := kiosk.NewLinks(k, st)
		issue := func() (string, kiosk.Device) {
			t.Helper()
			tok, d, err := links.Issue(ctx, device, "cli")
			if err != nil {
				t.Fatal(err)
			}
			return tok, d
		}

		// A link signed before links were recorded has no issue time: it
		// works while its device has no record.
		legacy, err := kiosk.Sign(k, device)
		if err != nil {
			t.Fatal(err)
		}
		if got := check(legacy); got != "" {
			t.Fatalf("legacy link: %s", got)
		}
		first, d1 := issue()
		if d1.Issued.IsZero() || check(first) != "" {
			t.Fatalf("first link: issued %v, %s", d1.Issued, check(first))
		}
		if got := check(legacy); !strings.Contains(got, "replaced by a newer link") {
			t.Fatalf("legacy link after a new one: %q", got)
		}
		second, _ := issue()
		if got := check(first); !strings.Contains(got, "replaced") || check(second) != "" {
			t.Fatalf("after re-issue: first %q, second %q", got, check(second))
		}
		rec, changed, err := links.Revoke(ctx, c.ID, device.ID, "cli")
		if err != nil || !changed || rec.Status(now) != store.KioskRevoked {
			t.Fatalf("revoke: %+v %v %v", rec, changed, err)
		}
		for name, tok := range map[string]string{"legacy": legacy, "first": first, "second": second} {
			if got := check(tok); !strings.Contains(got, "tablet-3 was revoked on") {
				t.Errorf("%s link after revoke: %q", name, got)
			}
		}
		third, _ := issue()
		if check(third) != "" {
			t.Fatalf("link issued after the revocation: %s", check(third))
		}
		for name, tok := range map[string]string{"legacy": legacy, "first": first, "second": second} {
			if got := check(tok); !strings.HasPrefix(got, "revoked") {
				t.Errorf("%s link came back after a new link: %q", name, got)
			}
		}

		// Forged links are refused as before, whatever the records say.
		if got := check(third[:len(third)-2] + "xx"); got != leadcap.EFORBIDDEN {
			t.Fatalf("tampered link: %q", got)
		}
		if _, err := kiosk.NewLinks(k, st).Verify(ctx, third, c.ID, device.Expires); leadcap.ErrorCode(err) != leadcap.EGONE || errors.Is(err, kiosk.ErrRevoked) {
			t.Fatalf("expired link: %v", err)
		}
		if _, _, err := links.Revoke(ctx, c.ID, "bad id", "cli"); leadcap.ErrorFields(err)["device"] == "" {
			t.Fatalf("revoke with a bad id: %v", err)
		}

		// The issues and the revocation are in the audit trail.
		events, _, err := st.AuditEvents(ctx, store.AuditFilter{Action: "kiosk.link", Target: "conference:" + c.ID})
		if err != nil || len(events) != 4 || events[1].Action != kiosk.AuditLinkRevoke || events[1].Detail["device"] != "tablet-3" ||
			events[0].Action != kiosk.AuditLinkIssue || events[0].Actor != "cli" {
			t.Fatalf("audit: %+v %v", events, err)
		}
	})
}

// TestLinksCache: a server checks links without a query each, and sees a
// revocation made elsewhere within RevocationTTL.
func TestLinksCache(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		st, k, c := openExpo(t, dsn)
		device := kiosk.Device{ConferenceID: c.ID, ID: "tablet-1", Label: "Tablet 1", Expires: time.Now().Add(time.Hour)}
		tok, _, err := kiosk.NewLinks(k, st).Issue(ctx, device, "cli")
		if err != nil {
			t.Fatal(err)
		}

		// The server's Links have a connection of their own: once it is
		// closed, checks still pass until the TTL runs out, as they do not
		// touch the database, and then fail for want of it.
		server, err := store.Open(ctx, dsn, store.Options{Sealer: k})
		if err != nil {
			t.Fatal(err)
		}
		links := kiosk.NewLinks(k, server)
		if _, err := links.Verify(ctx, tok, c.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
		loaded := time.Now()
		server.Close()
		for range 1000 {
			if _, err := links.Verify(ctx, tok, c.ID, time.Now()); err != nil {
				if time.Since(loaded) < kiosk.RevocationTTL {
					t.Fatalf("a check within the TTL touched the database: %v", err)
				}
				break
			}
		}
		time.Sleep(kiosk.RevocationTTL - time.Since(loaded) + 50*time.Millisecond)
		if _, err := links.Verify(ctx, tok, c.ID, time.Now()); err == nil || leadcap.ErrorCode(err) != leadcap.EINTERNAL {
			t.Fatalf("after the TTL without a database: %v", err)
		}

		// A revocation made elsewhere reaches running Links within the TTL.
		links = kiosk.NewLinks(k, st)
		if _, err := links.Verify(ctx, tok, c.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
		if _, _, err := kiosk.NewLinks(k, st).Revoke(ctx, c.ID, device.ID, "cli"); err != nil {
			t.Fatal(err)
		}
		revoked := time.Now()
		for {
			_, err := links.Verify(ctx, tok, c.ID, time.Now())
			if errors.Is(err, kiosk.ErrRevoked) {
				break
			}
			if err != nil || time.Since(revoked) > kiosk.RevocationTTL+500*time.Millisecond {
				t.Fatalf("%v after the revocation: %v", time.Since(revoked), err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}
