package intake

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/leadcap/leadcap"
)

func TestNormalizeTags(t *testing.T) {
	tests := []struct {
		in    []string
		want  []string
		field string // a problem with "tags" when set
	}{
		{[]string{" VIP ", "follow  up", "vip", ""}, []string{"follow up", "vip"}, ""},
		{[]string{"Café", "b2b", "q4.2027", "a_b-c"}, []string{"a_b-c", "b2b", "café", "q4.2027"}, ""},
		{nil, []string{}, ""},
		{[]string{"<script>"}, nil, "letters"},
		{[]string{"a\nb"}, nil, "single line"},
		{[]string{strings.Repeat("x", 33)}, nil, "longer"},
		{slices.Repeat([]string{"x"}, 21), nil, "too many"},
	}
	for _, tt := range tests {
		got, err := NormalizeTags(tt.in)
		if tt.field != "" {
			if !strings.Contains(leadcap.ErrorFields(err)["tags"], tt.field) {
				t.Errorf("NormalizeTags(%q): %v, want a problem with %q", tt.in, err, tt.field)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("NormalizeTags(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestCheckNote(t *testing.T) {
	if got, err := CheckNote("  Call back\r\nTuesday  "); err != nil || got != "Call back\nTuesday" {
		t.Fatalf("CheckNote: %q %v", got, err)
	}
	for _, bad := range []string{"", "   ", "a\x00b", strings.Repeat("x", MaxNoteLen+1), "\u202eevil"} {
		if _, err := CheckNote(bad); leadcap.ErrorFields(err)["note"] == "" {
			t.Errorf("CheckNote(%q): %v", bad, err)
		}
	}
}

func TestCorrect(t *testing.T) {
	c := &leadcap.Conference{ID: "c1", Country: "BZ", Interests: []leadcap.Choice{{Value: "diving"}, {Value: "fishing"}},
		Questions: []leadcap.Question{
			{ID: "size", Type: leadcap.QuestionSingle, Label: "Size", Required: true, Choices: []leadcap.Choice{{Value: "s"}, {Value: "l"}}},
			{ID: "budget", Type: leadcap.QuestionNumber, Label: "Budget"},
		}}
	base := func() *leadcap.Lead {
		return &leadcap.Lead{FirstName: "Ana", LastName: "Diaz", Email: "ana@example.com", Phone: "+5016220000",
			Interests: []string{"diving"}, Answers: leadcap.Answers{"size": "s", "budget": 100.0, "gone": "old question"}}
	}
	str := func(s string) *string { return &s }
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }

	l := base()
	changed, err := Correct(l, c, Correction{LastName: str(" Díaz "), Email: str("Ana@Exämple.com"), Phone: str("622 3456"),
		FirstName: str("Ana"), Interests: &[]string{"fishing", "diving"},
		Answers: map[string]json.RawMessage{"size": raw(`"l"`), "budget": raw(`null`)}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"answers.budget", "answers.size", "email", "interests", "last_name", "phone"}
	if !slices.Equal(changed, want) {
		t.Errorf("changed %q, want %q", changed, want)
	}
	if l.LastName != "Díaz" || l.Email != "Ana@xn--exmple-cua.com" || l.Phone != "+5016223456" ||
		l.Answers["size"] != "l" || l.Answers["budget"] != nil || l.Answers["gone"] != "old question" {
		t.Errorf("corrected lead: %+v", l)
	}

	for name, tt := range map[string]struct {
		k     Correction
		field string
	}{
		"bad email":        {Correction{Email: str("not an email")}, "email"},
		"empty email":      {Correction{Email: str("")}, "email"},
		"bad phone":        {Correction{Phone: str("12")}, "phone"},
		"bad country":      {Correction{Country: str("XX")}, "country"},
		"unknown interest": {Correction{Interests: &[]string{"golf"}}, "interests"},
		"unknown question": {Correction{Answers: map[string]json.RawMessage{"nope": raw(`"x"`)}}, "answers.nope"},
		"bad choice":       {Correction{Answers: map[string]json.RawMessage{"size": raw(`"xl"`)}}, "answers.size"},
		"required removed": {Correction{Answers: map[string]json.RawMessage{"size": raw(`null`)}}, "answers.size"},
		"control char":     {Correction{FirstName: str("A\x07na")}, "first_name"},
		"long company":     {Correction{Company: str(strings.Repeat("x", 201))}, "company"},
	} {
		_, err := Correct(base(), c, tt.k)
		if leadcap.ErrorCode(err) != leadcap.EINVALID || leadcap.ErrorFields(err)[tt.field] == "" {
			t.Errorf("%s: %v, want a problem with %s", name, err, tt.field)
		}
	}
	// Nothing given, nothing changed; an old answer to a removed question
	// does not stop a correction of something else.
	if changed, err := Correct(base(), c, Correction{FirstName: str("Ana")}); err != nil || len(changed) != 0 {
		t.Errorf("no change: %q %v", changed, err)
	}
}
