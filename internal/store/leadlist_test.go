package store_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/store"
	"github.com/leadcap/leadcap/internal/store/storetest"
)

// person is a lead to capture in listing tests.
type person struct {
	first, last, email, company string
}

func mustCapture(t *testing.T, s *store.Store, c *leadcap.Conference, p person, sub string) string {
	t.Helper()
	l := newLead(c, sub, p.email)
	l.FirstName, l.LastName, l.Company = p.first, p.last, p.company
	res, err := s.CaptureLead(context.Background(), l, p.email)
	if err != nil {
		t.Fatal(err)
	}
	return res.LeadID
}

// mustIndex runs the search indexer until nothing waits, as the server's
// background indexer does.
func mustIndex(t *testing.T, s *store.Store) {
	t.Helper()
	if _, err := s.IndexLeads(context.Background(), store.IndexOptions{}); err != nil {
		t.Fatal(err)
	}
}

func names(leads []*leadcap.Lead) []string {
	var out []string
	for _, l := range leads {
		out = append(out, l.FirstName+" "+l.LastName)
	}
	return out
}

func mustList(t *testing.T, s *store.Store, q store.LeadQuery) *store.LeadPage {
	t.Helper()
	p, err := s.ListLeads(context.Background(), q)
	if err != nil {
		t.Fatalf("ListLeads(%+v): %v", q, err)
	}
	return p
}

func TestSearchLeads(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := MustOpen(t, dsn)
		c := MustConference(t, s, "search")
		other := MustConference(t, s, "other")
		people := []person{
			{"Ana", "Díaz-Pérez", "ana.diaz@acme.example", "Acme Travel"},
			{"Anabel", "Smith", "anabel@globex.example", "Globex"},
			{"Li", "Wu", "li.wu@initech.example", "Initech"},
			{"Lionel", "Martínez", "lionel@acme.example", "ACME travel"},
			{"Zoë", "Ng", "zoe@umbrella.example", "Umbrella Corp"},
		}
		for i, p := range people {
			mustCapture(t, s, c, p, fmt.Sprint("s", i))
		}
		mustCapture(t, s, other, person{"Ana", "Other", "ana@other.example", "Acme"}, "o1")
		if p := mustList(t, s, store.LeadQuery{Search: "ana"}); len(p.Leads) != 0 {
			t.Fatalf("found before indexing: %q", names(p.Leads))
		}
		mustIndex(t, s)

		tests := []struct {
			q    string
			conf string
			want []string
		}{
			{"ana", c.ID, []string{"Anabel Smith", "Ana Díaz-Pérez"}},     // prefix of a name
			{"ANA díaz", c.ID, []string{"Ana Díaz-Pérez"}},                // every word, case and accents folded
			{"perez", c.ID, []string{"Ana Díaz-Pérez"}},                   // second part of a hyphenated name
			{"acme", c.ID, []string{"Lionel Martínez", "Ana Díaz-Pérez"}}, // company and email domain
			{"acme travel", c.ID, []string{"Lionel Martínez", "Ana Díaz-Pérez"}},
			{"li", c.ID, []string{"Li Wu"}}, // a short word matches whole words only
			{"lio", c.ID, []string{"Lionel Martínez"}},
			{"zoe", c.ID, []string{"Zoë Ng"}},
			{"ng", c.ID, []string{"Zoë Ng"}},
			{"anabel@globex.example", c.ID, []string{"Anabel Smith"}}, // a whole email
			{"globex", c.ID, []string{"Anabel Smith"}},
			{"nobody", c.ID, nil},
			{"anx", c.ID, nil}, // same term as "ana", but no match once decrypted
			{"ana", "", []string{"Ana Other", "Anabel Smith", "Ana Díaz-Pérez"}},
		}
		for _, tt := range tests {
			for _, sortBy := range []string{store.SortNewest, store.SortRating} {
				p := mustList(t, s, store.LeadQuery{ConferenceID: tt.conf, Search: tt.q, Sort: sortBy})
				if got := names(p.Leads); !slices.Equal(got, tt.want) {
					t.Errorf("search %q (%s): %q, want %q", tt.q, sortBy, got, tt.want)
				}
			}
		}

		// A merge that changes the company re-indexes the lead.
		l := newLead(c, "s-merge", "li.wu@initech.example")
		l.Company = "Hooli"
		if _, err := s.CaptureLead(ctx, l, l.Email); err != nil {
			t.Fatal(err)
		}
		mustIndex(t, s)
		if got := names(mustList(t, s, store.LeadQuery{Search: "hooli"}).Leads); !slices.Equal(got, []string{"Li Wu"}) {
			t.Errorf("after merge, search hooli: %q", got)
		}
		// The email did not change, so its words still find the lead.
		if got := names(mustList(t, s, store.LeadQuery{Search: "initech"}).Leads); !slices.Equal(got, []string{"Li Wu"}) {
			t.Errorf("after merge, search initech: %q", got)
		}
	})
}

func TestListLeadsFiltersAndPaging(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := MustOpen(t, dsn)
		c := MustConference(t, s, "paging")
		other := MustConference(t, s, "paging-other")
		var ids []string
		for i := range 23 {
			ids = append(ids, mustCapture(t, s, c, person{"P", fmt.Sprint(i), fmt.Sprintf("p%d@example.com", i), "Co"}, fmt.Sprint("s", i)))
		}
		mustCapture(t, s, other, person{"Q", "0", "q@example.com", "Co"}, "q")
		spam := newLead(c, "spam", "spam@example.com")
		spam.Spam, spam.SpamReason = true, "honeypot"
		spamRes, err := s.CaptureLead(ctx, spam, spam.Email)
		if err != nil {
			t.Fatal(err)
		}
		kiosk := newLead(c, "kiosk", "kiosk@example.com")
		kiosk.Source = leadcap.SourceKiosk
		kioskRes, err := s.CaptureLead(ctx, kiosk, kiosk.Email)
		if err != nil {
			t.Fatal(err)
		}
		ratings := map[int]string{3: leadcap.RatingHot, 7: leadcap.RatingCold, 11: leadcap.RatingHot, 15: leadcap.RatingWarm}
		for i, r := range ratings {
			if err := s.UpdateLead(ctx, ids[i], store.LeadChange{Rating: &r}); err != nil {
				t.Fatal(err)
			}
		}
		tags := []string{"follow-up", "vip"}
		if err := s.UpdateLead(ctx, ids[5], store.LeadChange{Tags: &tags}); err != nil {
			t.Fatal(err)
		}

		// Walk every order a page of 5 at a time: each lead once, in order.
		walk := func(q store.LeadQuery) []string {
			var out []string
			q.Limit = 5
			for range 20 {
				p := mustList(t, s, q)
				for _, l := range p.Leads {
					out = append(out, l.ID)
				}
				if p.Next == "" {
					return out
				}
				q.Cursor = p.Next
			}
			t.Fatalf("paging never ended: %+v", q)
			return nil
		}
		all := append(slices.Clone(ids), kioskRes.LeadID)
		oldest := walk(store.LeadQuery{ConferenceID: c.ID, Sort: store.SortOldest})
		if !slices.Equal(oldest, all) {
			t.Errorf("oldest first: %v, want %v", oldest, all)
		}
		newest := walk(store.LeadQuery{ConferenceID: c.ID})
		if !slices.Equal(newest, reversed(all)) {
			t.Errorf("newest first: %v", newest)
		}
		byRating := walk(store.LeadQuery{ConferenceID: c.ID, Sort: store.SortRating})
		want := []string{ids[11], ids[3], ids[15], ids[7]}
		for _, id := range reversed(all) {
			if !slices.Contains(want, id) {
				want = append(want, id)
			}
		}
		if !slices.Equal(byRating, want) {
			t.Errorf("by rating: %v, want %v", byRating, want)
		}

		count := func(q store.LeadQuery) int { return len(walk(q)) }
		for name, tt := range map[string]struct {
			q    store.LeadQuery
			want int
		}{
			"everything but spam": {store.LeadQuery{}, 25},
			"one conference":      {store.LeadQuery{ConferenceID: other.ID}, 1},
			"hot":                 {store.LeadQuery{ConferenceID: c.ID, Rating: leadcap.RatingHot}, 2},
			"unrated":             {store.LeadQuery{ConferenceID: c.ID, Rating: store.RatingNone}, 20},
			"spam only":           {store.LeadQuery{Spam: store.SpamOnly}, 1},
			"with spam":           {store.LeadQuery{Spam: store.SpamInclude}, 26},
			"kiosk":               {store.LeadQuery{Source: leadcap.SourceKiosk}, 1},
			"tag":                 {store.LeadQuery{Tag: "vip"}, 1},
			"until now":           {store.LeadQuery{Until: time.Now().Add(time.Hour)}, 25},
			"since tomorrow":      {store.LeadQuery{Since: time.Now().Add(24 * time.Hour)}, 0},
			"since an hour ago":   {store.LeadQuery{Since: time.Now().Add(-time.Hour), Sort: store.SortRating}, 25},
		} {
			if got := count(tt.q); got != tt.want {
				t.Errorf("%s: %d leads, want %d", name, got, tt.want)
			}
		}
		p := mustList(t, s, store.LeadQuery{Spam: store.SpamOnly})
		if len(p.Leads) != 1 || p.Leads[0].ID != spamRes.LeadID || !p.Leads[0].Spam {
			t.Errorf("spam only: %+v", p.Leads)
		}
		p = mustList(t, s, store.LeadQuery{Tag: "vip"})
		if len(p.Leads) != 1 || !slices.Equal(p.Leads[0].Tags, tags) {
			t.Errorf("tags of a listed lead: %+v", p.Leads)
		}

		for _, bad := range []store.LeadQuery{
			{Sort: "name"}, {Spam: "maybe"}, {Rating: "lukewarm"}, {Limit: 1000},
			{Cursor: "not-a-cursor"}, {Cursor: "9." + ids[0], Sort: store.SortRating},
			{Since: time.Now(), Until: time.Now().Add(-time.Hour)},
		} {
			if _, err := s.ListLeads(ctx, bad); leadcap.ErrorCode(err) != leadcap.EINVALID {
				t.Errorf("ListLeads(%+v): %v, want invalid", bad, err)
			}
		}
	})
}

func reversed(s []string) []string {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}

// TestSearchBudget: a search whose candidates mostly fail the check
// answers short pages with a cursor, and walking them finds every match.
func TestSearchBudget(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t, storetest.SQLite(t))
	c := MustConference(t, s, "budget")
	// 4,500 leads share the prefix "mar"; three of them are "Marlowe".
	var want []string
	for i := range 4500 {
		last := "Martin"
		if i%1500 == 7 {
			last = "Marlowe"
		}
		l := newLead(c, fmt.Sprint("s", i), fmt.Sprintf("p%d@example.com", i))
		l.FirstName, l.LastName = "P", last
		res, err := s.CaptureLead(ctx, l, l.Email)
		if err != nil {
			t.Fatal(err)
		}
		if last == "Marlowe" {
			want = append(want, res.LeadID)
		}
	}
	mustIndex(t, s)
	q := store.LeadQuery{Search: "marlowe", Sort: store.SortOldest}
	var got []string
	pages := 0
	for {
		p := mustList(t, s, q)
		pages++
		for _, l := range p.Leads {
			got = append(got, l.ID)
		}
		if p.Next == "" {
			break
		}
		if p.Scanned > 4000 {
			t.Fatalf("a page decrypted %d leads", p.Scanned)
		}
		q.Cursor = p.Next
	}
	if !slices.Equal(got, want) || pages != 2 {
		t.Fatalf("found %v in %d pages, want %v in 2", got, pages, want)
	}
}

func TestUpdateLeadNotesTagsRating(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := MustOpen(t, dsn)
		c := MustConference(t, s, "edit")
		id := mustCapture(t, s, c, person{"Ana", "Díaz", "ana@example.com", "Acme"}, "s1")
		hot := leadcap.RatingHot
		tags := []string{"demo", "vip"}
		if err := s.UpdateLead(ctx, id, store.LeadChange{Rating: &hot, Tags: &tags,
			Note: &leadcap.LeadNote{AuthorID: "u1", Author: "staff@example.com", Text: "Wants a demo on Tuesday"}}); err != nil {
			t.Fatal(err)
		}
		if err := s.UpdateLead(ctx, id, store.LeadChange{Note: &leadcap.LeadNote{Author: "cli", Text: "Called back"}}); err != nil {
			t.Fatal(err)
		}
		l, err := s.LeadDetail(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if l.Rating != hot || !slices.Equal(l.Tags, tags) || len(l.StaffNotes) != 2 ||
			l.StaffNotes[0].Text != "Wants a demo on Tuesday" || l.StaffNotes[0].Author != "staff@example.com" ||
			l.StaffNotes[1].Text != "Called back" || len(l.History) != 1 {
			t.Fatalf("lead after edits: %+v", l)
		}
		// A later submission keeps the staff's rating, tags and notes.
		if _, err := s.CaptureLead(ctx, newLead(c, "s2", "ana@example.com"), "ana@example.com"); err != nil {
			t.Fatal(err)
		}
		l, _ = s.LeadDetail(ctx, id)
		if l.Rating != hot || len(l.Tags) != 2 || len(l.StaffNotes) != 2 || len(l.History) != 2 {
			t.Fatalf("after a merge: %+v", l)
		}
		none, cleared := "", []string{}
		if err := s.UpdateLead(ctx, id, store.LeadChange{Rating: &none, Tags: &cleared}); err != nil {
			t.Fatal(err)
		}
		l, _ = s.LeadDetail(ctx, id)
		if l.Rating != "" || len(l.Tags) != 0 {
			t.Fatalf("cleared: %+v", l)
		}
		bad := "lukewarm"
		if err := s.UpdateLead(ctx, id, store.LeadChange{Rating: &bad}); leadcap.ErrorCode(err) != leadcap.EINVALID {
			t.Fatalf("bad rating: %v", err)
		}
		if err := s.UpdateLead(ctx, "0190c0de-0000-7000-8000-000000000000", store.LeadChange{Rating: &hot}); leadcap.ErrorCode(err) != leadcap.ENOTFOUND {
			t.Fatalf("unknown lead: %v", err)
		}
	})
}

func TestRectifyAndDeleteLead(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := MustOpen(t, dsn)
		c := MustConference(t, s, "rectify")
		id := mustCapture(t, s, c, person{"Ana", "Diaz", "ana@example.com", "Acme"}, "s1")
		mustCapture(t, s, c, person{"Bo", "Berg", "bo@example.com", "Beta"}, "s2")
		mustIndex(t, s)
		l, err := s.LeadDetail(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		l.LastName, l.Email, l.Company = "Díaz Ruiz", "ana.ruiz@example.com", "Zenith"
		if err := s.RectifyLead(ctx, l, l.Email); err != nil {
			t.Fatal(err)
		}
		got, _ := s.LeadDetail(ctx, id)
		if got.LastName != "Díaz Ruiz" || got.Email != "ana.ruiz@example.com" || got.Company != "Zenith" || got.Consent.IP != "192.0.2.7" {
			t.Fatalf("rectified: %+v", got)
		}
		if p := mustList(t, s, store.LeadQuery{Search: "zenith ruiz"}); len(p.Leads) != 1 {
			t.Fatalf("search after rectification: %q", names(p.Leads))
		}
		if p := mustList(t, s, store.LeadQuery{Search: "acme"}); len(p.Leads) != 0 {
			t.Fatalf("old company still found: %q", names(p.Leads))
		}
		// The new email is the one a later submission merges into.
		res, err := s.CaptureLead(ctx, newLead(c, "s3", "ana.ruiz@example.com"), "ana.ruiz@example.com")
		if err != nil || res.LeadID != id || res.Result != leadcap.ResultUpdated {
			t.Fatalf("submission with the rectified email: %+v %v", res, err)
		}
		got.Email = "bo@example.com"
		if err := s.RectifyLead(ctx, got, got.Email); leadcap.ErrorCode(err) != leadcap.ECONFLICT {
			t.Fatalf("email of another lead: %v", err)
		}

		note := &leadcap.LeadNote{Author: "x", Text: "gone soon"}
		tags := []string{"vip"}
		if err := s.UpdateLead(ctx, id, store.LeadChange{Note: note, Tags: &tags}); err != nil {
			t.Fatal(err)
		}
		del, err := s.DeleteLead(ctx, id)
		if err != nil || del.ID != id || del.ConferenceID != c.ID {
			t.Fatalf("delete: %+v %v", del, err)
		}
		if _, err := s.LeadDetail(ctx, id); leadcap.ErrorCode(err) != leadcap.ENOTFOUND {
			t.Fatalf("deleted lead: %v", err)
		}
		if _, err := s.DeleteLead(ctx, id); leadcap.ErrorCode(err) != leadcap.ENOTFOUND {
			t.Fatalf("delete twice: %v", err)
		}
		for _, table := range []string{"lead_terms", "lead_tags", "lead_notes", "submissions"} {
			if n := countRows(t, s, table, id); n != 0 {
				t.Errorf("%s keeps %d rows of the deleted lead", table, n)
			}
		}
	})
}

// countRows counts the rows of table that belong to lead id, through a
// listing-free probe: the table must have a lead_id column.
func countRows(t *testing.T, s *store.Store, table, id string) int {
	t.Helper()
	n, err := s.CountForTest(context.Background(), `SELECT count(*) FROM `+table+` WHERE lead_id = $1`, id)
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

func TestDeleteConference(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := MustOpen(t, dsn)
		empty := MustConference(t, s, "empty")
		full := MustConference(t, s, "full")
		id := mustCapture(t, s, full, person{"Ana", "Diaz", "ana@example.com", "Acme"}, "s1")
		if n, err := s.DeleteConference(ctx, empty.ID, false); err != nil || n != 0 {
			t.Fatalf("delete empty: %d %v", n, err)
		}
		if _, err := s.Conference(ctx, "empty"); leadcap.ErrorCode(err) != leadcap.ENOTFOUND {
			t.Fatalf("deleted conference: %v", err)
		}
		if _, err := s.DeleteConference(ctx, full.ID, false); leadcap.ErrorCode(err) != leadcap.ECONFLICT {
			t.Fatalf("delete with leads: %v", err)
		}
		if _, err := s.LeadDetail(ctx, id); err != nil {
			t.Fatalf("refused delete lost the lead: %v", err)
		}
		if n, err := s.DeleteConference(ctx, full.ID, true); err != nil || n != 1 {
			t.Fatalf("forced delete: %d %v", n, err)
		}
		if n := countRows(t, s, "lead_terms", id); n != 0 {
			t.Fatalf("terms left: %d", n)
		}
		if _, err := s.DeleteConference(ctx, full.ID, true); leadcap.ErrorCode(err) != leadcap.ENOTFOUND {
			t.Fatalf("delete twice: %v", err)
		}
	})
}

func TestIndexLeadsBackfill(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := MustOpen(t, dsn)
		c := MustConference(t, s, "backfill")
		for i := range 7 {
			mustCapture(t, s, c, person{"Ana", fmt.Sprint("N", i), fmt.Sprintf("p%d@example.com", i), "Acme"}, fmt.Sprint("s", i))
		}
		// As if stored before search existed.
		if err := s.ExecForTest(ctx, `DELETE FROM lead_terms`); err != nil {
			t.Fatal(err)
		}
		if err := s.ExecForTest(ctx, `UPDATE leads SET search_indexed = 0`); err != nil {
			t.Fatal(err)
		}
		if p := mustList(t, s, store.LeadQuery{Search: "acme"}); len(p.Leads) != 0 {
			t.Fatalf("found without terms: %d", len(p.Leads))
		}
		var seen []int
		n, err := s.IndexLeads(ctx, store.IndexOptions{Batch: 3, Progress: func(done int) { seen = append(seen, done) }})
		if err != nil || n != 7 || !slices.Equal(seen, []int{3, 6, 7}) {
			t.Fatalf("IndexLeads: %d %v, progress %v", n, err, seen)
		}
		if p := mustList(t, s, store.LeadQuery{Search: "acme"}); len(p.Leads) != 7 {
			t.Fatalf("found %d after the back-fill", len(p.Leads))
		}
		if n, err := s.IndexLeads(ctx, store.IndexOptions{Batch: 3}); err != nil || n != 0 {
			t.Fatalf("second back-fill: %d %v", n, err)
		}
	})
}

func TestCountsAndTally(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := MustOpen(t, dsn)
		c := &leadcap.Conference{Slug: "tally", Name: "Tally", Status: leadcap.StatusOpen,
			Questions: []leadcap.Question{
				{ID: "size", Type: leadcap.QuestionSingle, Label: "Size", Choices: []leadcap.Choice{{Value: "s"}, {Value: "l"}}},
				{ID: "trips", Type: leadcap.QuestionMulti, Label: "Trips", Choices: []leadcap.Choice{{Value: "reef"}, {Value: "cave"}}},
				{ID: "role", Type: leadcap.QuestionText, Label: "Role"},
			},
			Consent: leadcap.ConsentText{Text: "ok", Hash: "h"}}
		if err := s.CreateConference(ctx, c); err != nil {
			t.Fatal(err)
		}
		answers := []leadcap.Answers{
			{"size": "s", "trips": []string{"reef", "cave"}, "role": "CTO"},
			{"size": "s", "trips": []string{"reef"}},
			{"size": "l", "role": "CEO"},
		}
		for i, a := range answers {
			l := newLead(c, fmt.Sprint("s", i), fmt.Sprintf("p%d@example.com", i))
			l.Answers, l.Interests = a, []string{"diving"}
			if i == 2 {
				l.Interests = []string{"fishing", "diving"}
			}
			if _, err := s.CaptureLead(ctx, l, l.Email); err != nil {
				t.Fatal(err)
			}
		}
		spam := newLead(c, "spam", "spam@example.com")
		spam.Spam = true
		if _, err := s.CaptureLead(ctx, spam, spam.Email); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		leads, sp, err := s.CountReceived(ctx, c.ID, now.Add(-time.Hour), now.Add(time.Hour))
		if err != nil || leads != 3 || sp != 1 {
			t.Fatalf("CountReceived: %d %d %v", leads, sp, err)
		}
		if leads, _, _ := s.CountReceived(ctx, "", now.Add(time.Hour), now.Add(2*time.Hour)); leads != 0 {
			t.Fatalf("future: %d", leads)
		}
		if n, err := s.CountSpam(ctx); err != nil || n != 1 {
			t.Fatalf("CountSpam: %d %v", n, err)
		}
		counts, err := s.LeadCounts(ctx)
		if err != nil || counts[c.ID] != 3 {
			t.Fatalf("LeadCounts: %v %v", counts, err)
		}
		tally, err := s.TallyLeads(ctx, c, 100)
		if err != nil {
			t.Fatal(err)
		}
		if tally.Leads != 3 || tally.Interests["diving"] != 3 || tally.Interests["fishing"] != 1 ||
			tally.Answers["size"]["s"] != 2 || tally.Answers["trips"]["reef"] != 2 || tally.Answers["trips"]["cave"] != 1 {
			t.Fatalf("tally: %+v", tally)
		}
		if _, ok := tally.Answers["role"]; ok {
			t.Fatalf("free text tallied: %v", tally.Answers["role"])
		}
		var keys []string
		for k := range tally.Answers {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if !slices.Equal(keys, []string{"size", "trips"}) {
			t.Fatalf("tallied questions: %v", keys)
		}
	})
}

// TestNotesSealedOnDisk: staff notes are personal data too.
func TestNotesSealedOnDisk(t *testing.T) {
	ctx := context.Background()
	dsn := storetest.SQLite(t)
	s := MustOpen(t, dsn)
	c := MustConference(t, s, "notes")
	id := mustCapture(t, s, c, person{"Ana", "Diaz", "ana@example.com", "Acme"}, "s1")
	if err := s.UpdateLead(ctx, id, store.LeadChange{Note: &leadcap.LeadNote{Author: "x", Text: "Quokka-shaped secret"}}); err != nil {
		t.Fatal(err)
	}

	files, _ := filepath.Glob(dsn + "*")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte("Quokka")) {
			t.Errorf("%s holds a note in clear text", filepath.Base(f))
		}
	}
}

func TestLeadIDsFollowTheClock(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2027, 3, 1, 9, 30, 0, 0, time.UTC)
	s, _ := storetest.Open(t, storetest.SQLite(t), store.Options{Merge: testMerge, Now: func() time.Time { return at }})
	c := MustConference(t, s, "clock")
	var ids []string
	for i := range 5 {
		ids = append(ids, mustCapture(t, s, c, person{"A", "B", fmt.Sprintf("p%d@example.com", i), "C"}, fmt.Sprint("s", i)))
	}
	if !slices.IsSorted(ids) {
		t.Fatalf("ids made in one millisecond do not increase: %v", ids)
	}
	for _, id := range ids {
		u, err := uuid.Parse(id)
		if err != nil || u.Version() != 7 {
			t.Fatalf("%s: not a UUIDv7: %v", id, err)
		}
		sec, nsec := u.Time().UnixTime()
		if got := time.Unix(sec, nsec).UTC(); !got.Equal(at) {
			t.Fatalf("%s says %s, want the store's clock %s", id, got, at)
		}
	}
	leads, _, err := s.CountReceived(ctx, c.ID, at, at.Add(time.Minute))
	if err != nil || leads != 5 {
		t.Fatalf("counted by id time: %d %v", leads, err)
	}
}

func TestReceivedHistogram(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		at := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
		s, _ := storetest.Open(t, dsn, store.Options{Merge: testMerge, Now: func() time.Time { return at }})
		c := MustConference(t, s, "hist")
		other := MustConference(t, s, "hist-other")
		// Hours 0, 1, 1, 2 (spam), 3 (other conference); one exactly on a bound.
		for i, h := range []time.Duration{0, time.Hour, time.Hour + 30*time.Minute, 2 * time.Hour, 3 * time.Hour} {
			at = time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC).Add(h)
			conf := c
			if i == 4 {
				conf = other
			}
			l := newLead(conf, fmt.Sprint("s", i), fmt.Sprintf("p%d@example.com", i))
			l.Spam = i == 3
			if _, err := s.CaptureLead(ctx, l, l.Email); err != nil {
				t.Fatal(err)
			}
		}
		start := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
		var bounds []time.Time
		for h := range 5 {
			bounds = append(bounds, start.Add(time.Duration(h)*time.Hour))
		}
		leads, spam, err := s.ReceivedHistogram(ctx, c.ID, bounds)
		if err != nil || fmt.Sprint(leads) != "[1 2 0 0]" || fmt.Sprint(spam) != "[0 0 1 0]" {
			t.Fatalf("one conference: %v %v %v", leads, spam, err)
		}
		leads, spam, err = s.ReceivedHistogram(ctx, "", bounds)
		if err != nil || fmt.Sprint(leads) != "[1 2 0 1]" || fmt.Sprint(spam) != "[0 0 1 0]" {
			t.Fatalf("all: %v %v %v", leads, spam, err)
		}
		counts, err := s.LeadCounts(ctx)
		if err != nil || counts[c.ID] != 3 || counts[other.ID] != 1 {
			t.Fatalf("LeadCounts: %v %v", counts, err)
		}
	})
}
