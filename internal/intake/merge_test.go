package intake

import (
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/leadcap/leadcap"
)

func TestMergeLead(t *testing.T) {
	t0 := time.Date(2025, 5, 14, 9, 0, 0, 0, time.UTC)
	t1 := t0.Add(time.Hour)
	existing := &leadcap.Lead{
		ID: "lead-1", ConferenceID: "conf-1", SubmissionID: "s1", Source: "kiosk",
		FirstName: "Ana", LastName: "García", Email: "ana@example.com",
		Phone: "+14155552671", Company: "Acme", JobTitle: "CTO", Country: "US",
		Interests: []string{"crm", "ai"},
		Answers:   leadcap.Answers{"size": "1-10", "topics": []string{"edge"}, "budget": 10.0},
		Notes:     "Met at booth.",
		Consent:   leadcap.Consent{Contact: true, Marketing: true, Version: 2, TextHash: "h2", At: t0},
		DeviceID:  "kiosk-1",
		History:   []leadcap.Submission{{ID: "s1", LeadID: "lead-1", Result: leadcap.ResultCreated}},
		CreatedAt: t0, UpdatedAt: t0,
	}
	incoming := &leadcap.Lead{
		ConferenceID: "conf-1", SubmissionID: "s2", Source: "form",
		FirstName: "Ana María", Email: "Ana@example.com", Company: "", JobTitle: "CEO",
		Interests: []string{"erp", "crm"},
		Answers:   leadcap.Answers{"size": "11-100", "role": "exec"},
		Notes:     "Wants a demo.",
		Consent:   leadcap.Consent{Contact: true, Marketing: false, Version: 3, TextHash: "h3", At: t1},
		History:   []leadcap.Submission{{ID: "s2", LeadID: "lead-1", Result: leadcap.ResultUpdated}},
		CreatedAt: t1, UpdatedAt: t1,
	}
	before := cloneLead(existing)
	beforeIncoming := cloneLead(incoming)

	got := MergeLead(existing, incoming)
	want := &leadcap.Lead{
		ID: "lead-1", ConferenceID: "conf-1", SubmissionID: "s1", Source: "kiosk",
		FirstName: "Ana María", LastName: "García", Email: "Ana@example.com",
		Phone: "+14155552671", Company: "Acme", JobTitle: "CEO", Country: "US",
		Interests: []string{"crm", "ai", "erp"},
		Answers:   leadcap.Answers{"size": "11-100", "topics": []string{"edge"}, "budget": 10.0, "role": "exec"},
		Notes:     "Met at booth.\n\nWants a demo.",
		Consent:   leadcap.Consent{Contact: true, Marketing: false, Version: 3, TextHash: "h3", At: t1},
		DeviceID:  "kiosk-1",
		History: []leadcap.Submission{
			{ID: "s1", LeadID: "lead-1", Result: leadcap.ResultCreated},
			{ID: "s2", LeadID: "lead-1", Result: leadcap.ResultUpdated},
		},
		CreatedAt: t0, UpdatedAt: t1,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %#v\nwant %#v", got, want)
	}
	if !reflect.DeepEqual(existing, before) || !reflect.DeepEqual(incoming, beforeIncoming) {
		t.Error("MergeLead modified its arguments")
	}
	got.Answers["topics"].([]string)[0] = "changed"
	got.Interests[0] = "changed"
	if existing.Answers["topics"].([]string)[0] != "edge" || existing.Interests[0] != "crm" {
		t.Error("the result shares memory with existing")
	}

	// Merging the same submission again changes nothing but the time.
	again := MergeLead(want, incoming)
	if again.Notes != want.Notes || !reflect.DeepEqual(again.Interests, want.Interests) {
		t.Errorf("repeat merge: notes %q, interests %q", again.Notes, again.Interests)
	}
}

func TestMergeLeadNil(t *testing.T) {
	l := &leadcap.Lead{ID: "x", Interests: []string{"a"}}
	if got := MergeLead(nil, l); !reflect.DeepEqual(got, l) || got == l {
		t.Errorf("MergeLead(nil, l) = %+v", got)
	}
	if got := MergeLead(l, nil); !reflect.DeepEqual(got, l) || got == l {
		t.Errorf("MergeLead(l, nil) = %+v", got)
	}
}

func TestMergeLeadSpam(t *testing.T) {
	clean := &leadcap.Lead{ID: "x"}
	spam := &leadcap.Lead{Spam: true, SpamReason: "honeypot"}
	if got := MergeLead(clean, spam); !got.Spam || got.SpamReason != "honeypot" {
		t.Errorf("clean+spam = %v %q", got.Spam, got.SpamReason)
	}
	if got := MergeLead(spam, clean); !got.Spam || got.SpamReason != "honeypot" {
		t.Errorf("spam+clean = %v %q", got.Spam, got.SpamReason)
	}
}

func TestMergeNotes(t *testing.T) {
	tests := []struct{ old, add, want string }{
		{"", "", ""},
		{"a", "", "a"},
		{"", "b", "b"},
		{"a", "a", "a"},
		{"a\n\nb", "b", "a\n\nb"},
		{"a", "b", "a\n\nb"},
	}
	for _, tt := range tests {
		if got := mergeNotes(tt.old, tt.add); got != tt.want {
			t.Errorf("mergeNotes(%q, %q) = %q, want %q", tt.old, tt.add, got, tt.want)
		}
	}
	notes := ""
	for i := range 10 {
		notes = mergeNotes(notes, strings.Repeat(string(rune('a'+i)), 4000)+"é")
	}
	if n := utf8.RuneCountInString(notes); n > maxMergedNotes {
		t.Errorf("merged notes have %d runes", n)
	}
	if !strings.HasSuffix(notes, strings.Repeat("j", 4000)+"é") || !utf8.ValidString(notes) {
		t.Error("the newest notes were not kept")
	}
}
