package web_test

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/shield"
	"github.com/leadcap/leadcap/internal/store"
)

// TestBrowserShield drives the booth form of a conference that asks for a
// proof of work: the form's JavaScript solves it for each lead, the
// honeypot stays out of sight, and a bot that fills it is quarantined
// while being thanked like anyone else.
func TestBrowserShield(t *testing.T) {
	browser := startBrowser(t)
	var conf *leadcap.Conference
	live := startLive(t, func(st *store.Store) {
		c := expo("pow-expo", leadcap.StatusOpen)
		c.Defences.ProofOfWork = true
		conf = mustConference(t, st, c)
	})
	b := newTab(t, browser)
	b.do(chromedp.Navigate(live.URL + "/c/pow-expo"))
	b.waitText("h1", "Belize Adventure Expo", 5*time.Second)
	if bits := b.eval(`document.querySelector('#lead [name=render_token]').dataset.powBits`); bits != "18" {
		t.Fatalf("the form asks for %q bits of proof of work", bits)
	}
	if hidden := b.eval(`String(document.querySelector('#lead [name=website]').getBoundingClientRect().right <= 0)`); hidden != "true" {
		t.Fatal("the honeypot is on screen")
	}

	for i, name := range []string{"Ana", "Bea"} {
		if i > 0 {
			b.do(chromedp.Click(chromedp.ID("again")))
		}
		b.fill(visitor(name, name+"@example.com"), nil, "f-answers-size-0", "f-consent_contact")
		b.submit()
		b.do(chromedp.WaitVisible(chromedp.ID("done")))
	}
	waitLeads := func(f store.LeadFilter, n int) []*leadcap.Lead {
		t.Helper()
		f.ConferenceID, f.Limit = conf.ID, 100
		deadline := time.Now().Add(10 * time.Second)
		for {
			list, _, err := live.store.Leads(context.Background(), f)
			if err != nil {
				t.Fatal(err)
			}
			if len(list) >= n || time.Now().After(deadline) {
				return list
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if real := waitLeads(store.LeadFilter{}, 2); len(real) != 2 {
		spam := waitLeads(store.LeadFilter{OnlySpam: true}, 0)
		for _, l := range spam {
			t.Logf("quarantined: %s", l.SpamReason)
		}
		t.Fatalf("%d real leads from the JavaScript form, want 2 (each with its own proof of work)", len(real))
	}

	// A bot fills every field, the hidden one too.
	b.do(chromedp.Click(chromedp.ID("again")))
	b.fill(visitor("Bot", "bot@example.com"), nil, "f-answers-size-0", "f-consent_contact")
	b.eval(`document.querySelector('#lead [name=website]').value = 'http://pills.example', ''`)
	b.submit()
	b.do(chromedp.WaitVisible(chromedp.ID("done")))
	if got := b.text("#done h2"); got != "Thank you!" {
		t.Fatalf("the bot was told %q", got)
	}
	spam := waitLeads(store.LeadFilter{OnlySpam: true}, 1)
	if len(spam) != 1 || spam[0].SpamReason != shield.ReasonHoneypot || spam[0].Email != "bot@example.com" {
		t.Fatalf("quarantine: %+v", spam)
	}
}
