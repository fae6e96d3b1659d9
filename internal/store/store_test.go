package store_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/crypto"
	"github.com/leadcap/leadcap/internal/store"
	"github.com/leadcap/leadcap/internal/store/storetest"
)

// MustOpen opens and migrates a store on dsn with a fresh key ring.
func MustOpen(t *testing.T, dsn string) *store.Store { return MustOpenB(t, dsn) }

// MustOpenB is MustOpen for tests and benchmarks.
func MustOpenB(t testing.TB, dsn string) *store.Store {
	t.Helper()
	s, _ := storetest.Open(t, dsn, store.Options{Merge: testMerge})
	return s
}

// testMerge is a plain merge rule; intake.MergeLead is tested on its own.
func testMerge(existing, incoming *leadcap.Lead) *leadcap.Lead {
	out := *existing
	if incoming.Company != "" {
		out.Company = incoming.Company
	}
	out.Interests = append(append([]string{}, existing.Interests...), incoming.Interests...)
	out.Consent, out.UpdatedAt = incoming.Consent, incoming.UpdatedAt
	return &out
}

func MustConference(t *testing.T, s *store.Store, slug string) *leadcap.Conference {
	return MustConferenceB(t, s, slug)
}

// MustConferenceB is MustConference for tests and benchmarks.
func MustConferenceB(t testing.TB, s *store.Store, slug string) *leadcap.Conference {
	t.Helper()
	c := &leadcap.Conference{Slug: slug, Name: "Expo " + slug, Country: "BZ", Status: leadcap.StatusOpen,
		Questions: []leadcap.Question{{ID: "budget", Type: leadcap.QuestionNumber, Label: "Budget"}},
		Consent:   leadcap.ConsentText{Text: "We may contact you.", Hash: "h1"}}
	if err := s.CreateConference(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return c
}

func newLead(c *leadcap.Conference, sub, email string) *leadcap.Lead {
	return &leadcap.Lead{ConferenceID: c.ID, SubmissionID: sub, FirstName: "Ana", LastName: "Díaz", Email: email,
		Phone: "+5012234567", Company: "Acme", Source: leadcap.SourceForm, Interests: []string{"diving"},
		Answers: leadcap.Answers{"budget": 1200.0},
		Consent: leadcap.Consent{Contact: true, Version: c.Consent.Version, TextHash: c.Consent.Hash, At: time.Now(), IP: "192.0.2.7"}}
}

func TestMigrate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := MustOpen(t, dsn)
		if err := s.CheckSchema(ctx); err != nil {
			t.Fatalf("CheckSchema after Migrate: %v", err)
		}
		again, err := s.Migrate(ctx)
		if err != nil || len(again) != 0 {
			t.Fatalf("second Migrate applied %v, %v; want nothing", again, err)
		}
	})
}

func TestRefusesNewerSchema(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := MustOpen(t, dsn)
		MustConference(t, s, "kept")
		keys, _, _ := crypto.LoadOrCreate(t.TempDir())
		// A second handle plays the newer leadcap that wrote version 999.
		other, err := store.Open(ctx, dsn, store.Options{Sealer: keys})
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		if err := other.ExecForTest(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future.sql', 0)`); err != nil {
			t.Fatal(err)
		}
		if err := s.CheckSchema(ctx); err == nil {
			t.Fatal("CheckSchema accepted a newer schema")
		}
		if _, err := s.Migrate(ctx); err == nil {
			t.Fatal("Migrate accepted a newer schema")
		}
		if _, err := s.Conference(ctx, "kept"); err != nil {
			t.Fatalf("data lost after refusing: %v", err)
		}
	})
}

func TestConferences(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := MustOpen(t, dsn)
		c := MustConference(t, s, "belize-expo")
		if c.ID == "" || c.Consent.Version != 1 {
			t.Fatalf("created %+v", c)
		}
		dup := &leadcap.Conference{Slug: "belize-expo", Name: "Again", Status: leadcap.StatusDraft, Consent: leadcap.ConsentText{Text: "x", Hash: "x"}}
		if err := s.CreateConference(ctx, dup); leadcap.ErrorCode(err) != leadcap.ECONFLICT {
			t.Fatalf("duplicate slug: %v, want conflict", err)
		}
		for _, key := range []string{c.ID, "belize-expo"} {
			got, err := s.Conference(ctx, key)
			if err != nil || got.Name != c.Name || len(got.Questions) != 1 || got.Consent.Text != "We may contact you." {
				t.Fatalf("Conference(%q) = %+v, %v", key, got, err)
			}
		}
		if _, err := s.Conference(ctx, "nope"); leadcap.ErrorCode(err) != leadcap.ENOTFOUND {
			t.Fatalf("unknown conference: %v", err)
		}

		// Same consent text: same version. New text: a new version, the old one kept.
		c.Name, c.Status = "Belize Expo 2027", leadcap.StatusClosed
		if err := s.UpdateConference(ctx, c); err != nil || c.Consent.Version != 1 {
			t.Fatalf("update without consent change: version %d, %v", c.Consent.Version, err)
		}
		c.Consent = leadcap.ConsentText{Text: "We and our partners may contact you.", Hash: "h2"}
		if err := s.UpdateConference(ctx, c); err != nil || c.Consent.Version != 2 {
			t.Fatalf("update with consent change: version %d, %v", c.Consent.Version, err)
		}
		got, _ := s.Conference(ctx, c.ID)
		if got.Status != leadcap.StatusClosed || got.Name != "Belize Expo 2027" || got.Consent.Version != 2 || got.Consent.Hash != "h2" {
			t.Fatalf("after update: %+v", got)
		}
		old, err := s.ConsentText(ctx, c.ID, 1)
		if err != nil || old.Text != "We may contact you." {
			t.Fatalf("version 1: %+v, %v", old, err)
		}
		list, err := s.Conferences(ctx)
		if err != nil || len(list) != 1 {
			t.Fatalf("Conferences = %d, %v", len(list), err)
		}
	})
}

func TestCaptureLead(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := MustOpen(t, dsn)
		c := MustConference(t, s, "expo")
		other := MustConference(t, s, "other")

		first, err := s.CaptureLead(ctx, newLead(c, "sub-1", "ana@example.com"), "ana@example.com")
		if err != nil || first.Result != leadcap.ResultCreated || first.LeadID == "" {
			t.Fatalf("first capture: %+v, %v", first, err)
		}
		// The same submission again: the first answer, nothing new.
		replay, err := s.CaptureLead(ctx, newLead(c, "sub-1", "ana@example.com"), "ana@example.com")
		if err != nil || replay.LeadID != first.LeadID || replay.Result != first.Result || !replay.Replayed || first.Replayed {
			t.Fatalf("replay: %+v, %v; want %+v, replayed", replay, err, first)
		}
		// The same email, a new submission: merged into the same lead.
		second := newLead(c, "sub-2", "ana@example.com")
		second.Company, second.Interests = "Acme Travel", []string{"fishing"}
		merged, err := s.CaptureLead(ctx, second, "ana@example.com")
		if err != nil || merged.Result != leadcap.ResultUpdated || merged.LeadID != first.LeadID {
			t.Fatalf("merge: %+v, %v", merged, err)
		}
		// The replay of the merged submission answers "updated" again.
		if r, _ := s.CaptureLead(ctx, newLead(c, "sub-2", "ana@example.com"), "ana@example.com"); r.LeadID != merged.LeadID || r.Result != merged.Result || !r.Replayed {
			t.Fatalf("replay of merge: %+v", r)
		}
		// The same email at another conference is another lead.
		elsewhere, err := s.CaptureLead(ctx, newLead(other, "sub-1", "ana@example.com"), "ana@example.com")
		if err != nil || elsewhere.Result != leadcap.ResultCreated || elsewhere.LeadID == first.LeadID {
			t.Fatalf("other conference: %+v, %v", elsewhere, err)
		}

		l, err := s.Lead(ctx, first.LeadID)
		if err != nil {
			t.Fatal(err)
		}
		if l.Email != "ana@example.com" || l.LastName != "Díaz" || l.Company != "Acme Travel" || l.Phone != "+5012234567" ||
			fmt.Sprint(l.Interests) != "[diving fishing]" || l.Answers["budget"] != 1200.0 || l.Consent.IP != "192.0.2.7" ||
			!l.Consent.Contact || l.SubmissionID != "sub-1" {
			t.Fatalf("stored lead: %+v", l)
		}
		if len(l.History) != 2 || l.History[0].ID != "sub-1" || l.History[0].Result != "created" || l.History[1].ID != "sub-2" || l.History[1].Result != "updated" {
			t.Fatalf("history: %+v", l.History)
		}
		if n, _ := s.CountLeads(ctx, c.ID); n != 1 {
			t.Fatalf("CountLeads(expo) = %d, want 1", n)
		}
		if n, _ := s.CountLeads(ctx, ""); n != 2 {
			t.Fatalf("CountLeads(all) = %d, want 2", n)
		}
		if _, err := s.Lead(ctx, "missing"); leadcap.ErrorCode(err) != leadcap.ENOTFOUND {
			t.Fatalf("missing lead: %v", err)
		}
	})
}

func TestCaptureConcurrent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := MustOpen(t, dsn)
		c := MustConference(t, s, "busy")
		const people, tries = 60, 3
		var wg sync.WaitGroup
		errs := make(chan error, people*tries*2)
		for p := range people {
			for try := range tries {
				// Each person submits three times with distinct submissions,
				// and each submission is sent twice (a retry).
				for range 2 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						email := fmt.Sprintf("p%d@example.com", p)
						_, err := s.CaptureLead(ctx, newLead(c, fmt.Sprintf("s-%d-%d", p, try), email), email)
						errs <- err
					}()
				}
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if n, _ := s.CountLeads(ctx, c.ID); n != people {
			t.Fatalf("leads = %d, want %d", n, people)
		}
		pending, _, _ := s.OutboxStats(ctx)
		if pending != people*tries {
			t.Fatalf("outbox = %d, want one per distinct submission (%d)", pending, people*tries)
		}
	})
}

func TestLeadsPaging(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := MustOpen(t, dsn)
		c := MustConference(t, s, "paging")
		for i := range 7 {
			l := newLead(c, fmt.Sprint("s", i), fmt.Sprintf("p%d@example.com", i))
			l.Spam = i == 3
			if _, err := s.CaptureLead(ctx, l, l.Email); err != nil {
				t.Fatal(err)
			}
		}
		var seen []string
		cursor := ""
		for {
			page, next, err := s.Leads(ctx, store.LeadFilter{ConferenceID: c.ID, Limit: 2, After: cursor})
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range page {
				seen = append(seen, l.Email)
			}
			if next == "" {
				break
			}
			cursor = next
		}
		if fmt.Sprint(seen) != "[p0@example.com p1@example.com p2@example.com p4@example.com p5@example.com p6@example.com]" {
			t.Fatalf("paged leads without spam: %v", seen)
		}
		all, _, _ := s.Leads(ctx, store.LeadFilter{ConferenceID: c.ID, IncludeSpam: true, Limit: 100})
		if len(all) != 7 {
			t.Fatalf("with spam: %d leads, want 7", len(all))
		}
	})
}

func TestOutbox(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := MustOpen(t, dsn)
		c := MustConference(t, s, "outbox")
		r, err := s.CaptureLead(ctx, newLead(c, "s1", "a@example.com"), "a@example.com")
		if err != nil {
			t.Fatal(err)
		}
		items, err := s.ClaimOutbox(ctx, 10, time.Minute, 0)
		if err != nil || len(items) != 1 {
			t.Fatalf("claim: %d items, %v", len(items), err)
		}
		it := items[0]
		if it.LeadID != r.LeadID || it.ObjectKey != "raw/"+time.Now().UTC().Format("2006/01/02")+"/"+c.ID+"/"+r.LeadID+".json" || len(it.Sealed) == 0 {
			t.Fatalf("item: %+v", it)
		}
		// Leased: a second claim does not return it.
		if again, _ := s.ClaimOutbox(ctx, 10, time.Minute, 0); len(again) != 0 {
			t.Fatalf("claimed a leased item again: %+v", again)
		}
		if err := s.RetryOutbox(ctx, it, time.Now().Add(-time.Second), "store down"); err != nil {
			t.Fatal(err)
		}
		retried, _ := s.ClaimOutbox(ctx, 10, time.Minute, 0)
		if len(retried) != 1 || retried[0].Attempts != 1 {
			t.Fatalf("after retry: %+v", retried)
		}
		// A lead deleted after the claim: its item comes back as gone, the
		// other is marked copied.
		r2, err := s.CaptureLead(ctx, newLead(c, "s2", "b@example.com"), "b@example.com")
		if err != nil {
			t.Fatal(err)
		}
		claimed, err := s.ClaimOutbox(ctx, 10, time.Minute, 0)
		if err != nil || len(claimed) != 1 || claimed[0].LeadID != r2.LeadID {
			t.Fatalf("claim of the second lead: %+v, %v", claimed, err)
		}
		if _, err := s.DeleteLead(ctx, r2.LeadID); err != nil {
			t.Fatal(err)
		}
		gone, err := s.CompleteOutbox(ctx, it, claimed[0])
		if err != nil || len(gone) != 1 || gone[0].Seq != claimed[0].Seq {
			t.Fatalf("CompleteOutbox = %+v, %v; want the deleted lead's item as gone", gone, err)
		}
		if n, oldest, _ := s.OutboxStats(ctx); n != 0 || !oldest.IsZero() {
			t.Fatalf("after complete: %d pending, oldest %v", n, oldest)
		}
		if gone, err := s.CompleteOutbox(ctx, it); err != nil || len(gone) != 0 {
			t.Fatalf("completing a copied item again: %+v, %v", gone, err)
		}
	})
}

// TestNoPlaintextOnDisk checks that personal data never reaches the SQLite
// files in clear text.
func TestNoPlaintextOnDisk(t *testing.T) {
	ctx := context.Background()
	dsn := storetest.SQLite(t)
	s := MustOpen(t, dsn)
	c := MustConference(t, s, "secret")
	for i := range 20 {
		l := newLead(c, fmt.Sprint("s", i), fmt.Sprintf("visible.person%d@example.com", i))
		l.Phone, l.FirstName = fmt.Sprintf("+50122345%02d", i), "Zebulon"
		if _, err := s.CaptureLead(ctx, l, l.Email); err != nil {
			t.Fatal(err)
		}
	}
	files, _ := filepath.Glob(dsn + "*")
	if len(files) == 0 {
		t.Fatal("no database files")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{"visible.person", "+50122345", "Zebulon", "example.com", "192.0.2.7"} {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("%s contains %q in clear text", filepath.Base(f), secret)
			}
		}
	}
}
