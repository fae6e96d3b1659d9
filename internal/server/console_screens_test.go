package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/outbox"
	"github.com/leadcap/leadcap/internal/store"
)

func storeQuery(conferenceID string) store.LeadQuery {
	return store.LeadQuery{ConferenceID: conferenceID}
}

// set moves the test clock to t.
func (c *clock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// consoleScreenshots fills the console with a fortnight of leads and
// takes the screenshots of docs/screenshots at desktop and phone widths.
// It runs when LEADCAP_SCREENSHOTS=1.
func consoleScreenshots(t *testing.T, ts *testServer, a *tab, confID, leadID string) {
	if os.Getenv("LEADCAP_SCREENSHOTS") != "1" {
		t.Skip("LEADCAP_SCREENSHOTS is not 1")
	}
	ctx := context.Background()
	now := ts.clock.now()
	defer ts.clock.set(now)
	conf, err := ts.store.Conference(ctx, confID)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*leadcap.Conference{
		{Slug: "caribbean-travel-mart", Name: "Caribbean Travel Mart 2026", Venue: "Montego Bay", Country: "JM", Status: leadcap.StatusClosed,
			StartDate: "2026-11-10", EndDate: "2026-11-12", Consent: leadcap.ConsentText{Text: "We may contact you.", Hash: "h"}},
		{Slug: "adventure-summit", Name: "Adventure Travel Summit", Venue: "Panama City", Country: "PA", Status: leadcap.StatusDraft,
			StartDate: "2027-06-14", EndDate: "2027-06-16", Consent: leadcap.ConsentText{Text: "We may contact you.", Hash: "h"}},
	} {
		if err := ts.store.CreateConference(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	loc, err := time.LoadLocation("America/Belize")
	if err != nil {
		t.Fatal(err)
	}
	localNow := now.In(loc)
	first := []string{"Ana", "Luis", "Grace", "Tom", "Priya", "Kofi", "Elena", "Marco", "Sofia", "Daniel", "Aiko", "Jonas", "Chloé", "Rahul"}
	last := []string{"Díaz", "Ramírez", "O'Neil", "Baker", "Shah", "Mensah", "Rossi", "Bianchi", "Lindqvist", "Moreau", "Tanaka", "Berg", "Dubois", "Patel"}
	companies := []string{"Blue Reef Tours", "Island Hopper", "Coral Coast Travel", "Maya Adventures", "Jungle Trek Co", "Caribbean Divers", "Seaside Holidays"}
	titles := []string{"Travel buyer", "Owner", "Product manager", "Group sales", "Dive instructor"}
	r := rand.New(rand.NewPCG(7, 11))
	n := 0
	// Before the show, a few a day; during it, many, most in the afternoon.
	for day := 13; day >= 0; day-- {
		count := 1 + r.IntN(3)
		if day <= 1 {
			count = 14 + r.IntN(8)
		}
		for i := 0; i < count; i++ {
			hour := 8 + r.IntN(10)
			at := time.Date(localNow.Year(), localNow.Month(), localNow.Day()-day, hour, r.IntN(60), 0, 0, loc)
			if !at.Before(now) {
				continue
			}
			ts.clock.set(at)
			n++
			l := &leadcap.Lead{ConferenceID: conf.ID, SubmissionID: fmt.Sprint("shot-", n),
				FirstName: first[r.IntN(len(first))], LastName: last[r.IntN(len(last))], Company: companies[r.IntN(len(companies))],
				JobTitle: titles[r.IntN(len(titles))], Phone: "+5016223456", Country: "BZ",
				Interests: []string{[]string{"Diving", "Fishing", "Jungle tours"}[r.IntN(3)]},
				Answers:   leadcap.Answers{"group-size": []string{"Solo", "Couple", "Group", "Group"}[r.IntN(4)], "what-brings-you-here": "Looking for new partners"},
				Source:    []string{leadcap.SourceForm, leadcap.SourceForm, leadcap.SourceKiosk}[r.IntN(3)],
				Consent:   leadcap.Consent{Contact: true, Marketing: r.IntN(2) == 0, Version: conf.Consent.Version, TextHash: conf.Consent.Hash, At: at},
				CreatedAt: at, UpdatedAt: at}
			l.Email = fmt.Sprintf("%s.%d@%s.example", strings.ToLower(l.FirstName), n, strings.ToLower(strings.Fields(l.Company)[0]))
			res, err := ts.store.CaptureLead(ctx, l, l.Email)
			if err != nil {
				t.Fatal(err)
			}
			if n%4 == 0 {
				rating := []string{leadcap.RatingHot, leadcap.RatingWarm, leadcap.RatingCold}[r.IntN(3)]
				tags := []string{"follow-up"}
				if err := ts.store.UpdateLead(ctx, res.LeadID, store.LeadChange{Rating: &rating, Tags: &tags}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	ts.clock.set(now)
	spam := &leadcap.Lead{ConferenceID: conf.ID, SubmissionID: "shot-spam", FirstName: "Win", LastName: "Prize", Email: "win@prize.example",
		Source: leadcap.SourceForm, Spam: true, SpamReason: "honeypot", Consent: leadcap.Consent{Contact: true, Version: 1, TextHash: conf.Consent.Hash, At: now}}
	if _, err := ts.store.CaptureLead(ctx, spam, spam.Email); err != nil {
		t.Fatal(err)
	}
	w := &outbox.Worker{Store: ts.store, Blob: ts.blob, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for {
		done, err := w.RunOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if done == 0 {
			break
		}
	}
	t.Logf("screenshots over %d leads", n+2)

	shots := []struct{ name, path string }{
		{"dashboard", "/"},
		{"conference", "/conferences/" + confID},
		{"leads", "/leads"},
		{"lead", "/leads/" + leadID},
	}
	for _, size := range []struct {
		name string
		w, h int64
	}{{"desktop", desktopW, desktopH}, {"phone", phoneW, phoneH}} {
		a.viewport(size.w, size.h)
		for _, s := range shots {
			a.open(ts.URL + s.path)
			a.screenshot("console-"+s.name+"-"+size.name, s.name != "leads")
		}
		if w := a.eval(`String(document.documentElement.scrollWidth)`); size.name == "phone" && w != fmt.Sprint(phoneW) {
			t.Errorf("the lead page is %s px wide on a %d px phone", w, phoneW)
		}
	}
	// The printable sign, as printed on A4 and on Letter.
	a.viewport(794, 1123) // A4 at 96 dpi
	a.printMedia(true)
	a.open(ts.URL + "/conferences/" + confID + "/sign")
	a.screenshot("console-sign-a4", false)
	a.viewport(816, 1056) // Letter at 96 dpi
	a.open(ts.URL + "/conferences/" + confID + "/sign?paper=letter")
	a.screenshot("console-sign-letter", false)
	a.printMedia(false)
	a.viewport(desktopW, desktopH)
}
