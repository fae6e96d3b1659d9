package intake

import (
	"math"
	"strings"
	"testing"

	"github.com/leadcap/leadcap"
)

func TestValidateConference(t *testing.T) {
	if err := ValidateConference(testConference()); err != nil {
		t.Fatalf("test conference: %v", err)
	}
	c := testConference()
	c.Slug = " Expo-2025 "
	c.Name = " Expo\u0301 "
	c.Country = "bz"
	c.TimeZone = "America/Belize"
	c.StartDate, c.EndDate = "2025-05-14", "2025-05-14"
	c.Names = map[string]string{"es": " Feria "}
	c.Consent.Texts = map[string]string{"es": "Podemos\r\ncontactarle."}
	if err := ValidateConference(c); err != nil {
		t.Fatal(err)
	}
	if c.Slug != "expo-2025" || c.Name != "Expó" || c.Country != "BZ" || c.Names["es"] != "Feria" ||
		c.Consent.Texts["es"] != "Podemos\ncontactarle." {
		t.Errorf("not normalised: %+v", c)
	}
	if c.Consent.Hash != ConsentHash("We may contact you.", map[string]string{"es": "Podemos\ncontactarle."}) {
		t.Error("consent hash is not that of the normalised text")
	}

	tests := []struct {
		name   string
		change func(c *leadcap.Conference)
		field  string
	}{
		{"no slug", func(c *leadcap.Conference) { c.Slug = "" }, "slug"},
		{"short slug", func(c *leadcap.Conference) { c.Slug = "ab" }, "slug"},
		{"long slug", func(c *leadcap.Conference) { c.Slug = strings.Repeat("a", 65) }, "slug"},
		{"slug underscore", func(c *leadcap.Conference) { c.Slug = "expo_2025" }, "slug"},
		{"slug double hyphen", func(c *leadcap.Conference) { c.Slug = "expo--2025" }, "slug"},
		{"slug leading hyphen", func(c *leadcap.Conference) { c.Slug = "-expo" }, "slug"},
		{"slug trailing hyphen", func(c *leadcap.Conference) { c.Slug = "expo-" }, "slug"},
		{"slug unicode", func(c *leadcap.Conference) { c.Slug = "expó" }, "slug"},
		{"no name", func(c *leadcap.Conference) { c.Name = "  " }, "name"},
		{"long name", func(c *leadcap.Conference) { c.Name = strings.Repeat("x", 201) }, "name"},
		{"name bidi", func(c *leadcap.Conference) { c.Name = "Expo\u202e" }, "name"},
		{"name newline", func(c *leadcap.Conference) { c.Name = "Expo\n2025" }, "name"},
		{"venue control", func(c *leadcap.Conference) { c.Venue = "Hall\u0007" }, "venue"},
		{"bad country", func(c *leadcap.Conference) { c.Country = "XX" }, "country"},
		{"bad time zone", func(c *leadcap.Conference) { c.TimeZone = "Mars/Olympus" }, "time_zone"},
		{"local time zone", func(c *leadcap.Conference) { c.TimeZone = "Local" }, "time_zone"},
		{"path time zone", func(c *leadcap.Conference) { c.TimeZone = "../../etc/passwd" }, "time_zone"},
		{"bad start", func(c *leadcap.Conference) { c.StartDate = "2025-02-30" }, "start_date"},
		{"bad end", func(c *leadcap.Conference) { c.EndDate = "tomorrow" }, "end_date"},
		{"end before start", func(c *leadcap.Conference) { c.StartDate, c.EndDate = "2025-05-14", "2025-05-13" }, "end_date"},
		{"no status", func(c *leadcap.Conference) { c.Status = "" }, "status"},
		{"bad status", func(c *leadcap.Conference) { c.Status = "archived" }, "status"},
		{"bad names key", func(c *leadcap.Conference) { c.Names = map[string]string{"english": "x"} }, "names"},
		{"non-canonical names key", func(c *leadcap.Conference) { c.Names = map[string]string{"EN": "x"} }, "names"},
		{"names value", func(c *leadcap.Conference) { c.Names = map[string]string{"en": "x\u202e"} }, "names.en"},
		{"too many questions", func(c *leadcap.Conference) {
			for len(c.Questions) <= 50 {
				c.Questions = append(c.Questions, leadcap.Question{ID: "q" + strings.Repeat("x", len(c.Questions)), Type: "text", Label: "Q"})
			}
		}, "questions"},
		{"question id missing", func(c *leadcap.Conference) { c.Questions[0].ID = "" }, "questions.0.id"},
		{"question id upper", func(c *leadcap.Conference) { c.Questions[0].ID = "Role" }, "questions.0.id"},
		{"question id dot", func(c *leadcap.Conference) { c.Questions[0].ID = "a.b" }, "questions.0.id"},
		{"question id long", func(c *leadcap.Conference) { c.Questions[0].ID = strings.Repeat("a", 41) }, "questions.0.id"},
		{"question id duplicate", func(c *leadcap.Conference) { c.Questions[3].ID = "role" }, "questions.3.id"},
		{"question type", func(c *leadcap.Conference) { c.Questions[0].Type = "essay" }, "questions.0.type"},
		{"question label missing", func(c *leadcap.Conference) { c.Questions[0].Label = "" }, "questions.0.label"},
		{"question label long", func(c *leadcap.Conference) { c.Questions[0].Label = strings.Repeat("x", 501) }, "questions.0.label"},
		{"question labels", func(c *leadcap.Conference) { c.Questions[0].Labels = map[string]string{"es": "a\nb"} }, "questions.0.labels.es"},
		{"choices missing", func(c *leadcap.Conference) { c.Questions[1].Choices = nil }, "questions.1.choices"},
		{"choices on text", func(c *leadcap.Conference) { c.Questions[0].Choices = []leadcap.Choice{{Value: "a"}} }, "questions.0.choices"},
		{"too many choices", func(c *leadcap.Conference) {
			for i := range 101 {
				c.Questions[2].Choices = append(c.Questions[2].Choices, leadcap.Choice{Value: "c" + strings.Repeat("x", i)})
			}
		}, "questions.2.choices"},
		{"choice value empty", func(c *leadcap.Conference) { c.Questions[1].Choices[1].Value = " " }, "questions.1.choices.1.value"},
		{"choice value duplicate", func(c *leadcap.Conference) { c.Questions[1].Choices[2].Value = "1-10" }, "questions.1.choices.2.value"},
		{"choice value long", func(c *leadcap.Conference) { c.Questions[1].Choices[0].Value = strings.Repeat("x", 101) }, "questions.1.choices.0.value"},
		{"choice label control", func(c *leadcap.Conference) { c.Questions[1].Choices[0].Label = "\u0000" }, "questions.1.choices.0.label"},
		{"min above max", func(c *leadcap.Conference) { c.Questions[3].Min = ptr(10); c.Questions[3].Max = ptr(5) }, "questions.3.max"},
		{"min NaN", func(c *leadcap.Conference) { c.Questions[3].Min = ptr(math.NaN()) }, "questions.3.min"},
		{"max Inf", func(c *leadcap.Conference) { c.Questions[3].Max = ptr(math.Inf(1)) }, "questions.3.max"},
		{"min on text", func(c *leadcap.Conference) { c.Questions[0].Min = ptr(1) }, "questions.0.min"},
		{"max on date", func(c *leadcap.Conference) { c.Questions[4].Max = ptr(1) }, "questions.4.max"},
		{"too many interests", func(c *leadcap.Conference) {
			for i := range 101 {
				c.Interests = append(c.Interests, leadcap.Choice{Value: "i" + strings.Repeat("x", i)})
			}
		}, "interests"},
		{"interest duplicate", func(c *leadcap.Conference) { c.Interests[1].Value = "crm" }, "interests.1.value"},
		{"interest NFC duplicate", func(c *leadcap.Conference) { c.Interests[1].Value = "cafe\u0301" }, "interests.3.value"},
		{"no consent text when open", func(c *leadcap.Conference) { c.Consent.Text = "" }, "consent.text"},
		{"consent text long", func(c *leadcap.Conference) { c.Consent.Text = strings.Repeat("x", 10001) }, "consent.text"},
		{"consent text bidi", func(c *leadcap.Conference) { c.Consent.Text = "ok\u2066" }, "consent.text"},
		{"consent translation", func(c *leadcap.Conference) { c.Consent.Texts = map[string]string{"de": "\u0007"} }, "consent.texts.de"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testConference()
			tt.change(c)
			err := ValidateConference(c)
			if code := codeOf(t, err); code != leadcap.EINVALID {
				t.Fatalf("code = %q (%v)", code, err)
			}
			if _, ok := leadcap.ErrorFields(err)[tt.field]; !ok {
				t.Errorf("fields = %v, want one for %q", leadcap.ErrorFields(err), tt.field)
			}
		})
	}

	draft := testConference()
	draft.Status, draft.Consent.Text = leadcap.StatusDraft, ""
	if err := ValidateConference(draft); err != nil {
		t.Errorf("draft without consent text: %v", err)
	}
}

func TestNormalizeSlug(t *testing.T) {
	tests := []struct{ in, want string }{
		{"expo-2025", "expo-2025"},
		{"Expo 2025", "expo-2025"},
		{"  Café  Expo!! 2025 ", "cafe-expo-2025"},
		{"Ærø--Messe", "r-messe"}, // Æ and ø do not decompose into a base letter
		{"über_tech", "uber-tech"},
		{"---", ""},
		{"日本", ""},
		{strings.Repeat("abcdefghi ", 10), "abcdefghi-abcdefghi-abcdefghi-abcdefghi-abcdefghi-abcdefghi"},
		{strings.Repeat("a", 70), strings.Repeat("a", 64)},
	}
	for _, tt := range tests {
		got := NormalizeSlug(tt.in)
		if got != tt.want {
			t.Errorf("NormalizeSlug(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got != "" && NormalizeSlug(got) != got {
			t.Errorf("NormalizeSlug(%q) is not stable", got)
		}
	}
}

func TestConsentHash(t *testing.T) {
	h := ConsentHash("We may contact you.", map[string]string{"es": "Podemos contactarle.", "de": "Wir dürfen Sie kontaktieren."})
	if len(h) != 64 || strings.Trim(h, "0123456789abcdef") != "" {
		t.Fatalf("hash %q is not hex SHA-256", h)
	}
	again := ConsentHash("We may contact you.", map[string]string{"de": "Wir dürfen Sie kontaktieren.", "es": "Podemos contactarle."})
	if h != again {
		t.Error("hash depends on map order")
	}
	distinct := map[string]bool{}
	for _, c := range []struct {
		text  string
		texts map[string]string
	}{
		{"ab", nil},
		{"a", map[string]string{"b": ""}},
		{"a", map[string]string{"": "b"}},
		{"", map[string]string{"a": "b"}},
		{"ab", map[string]string{}},
	} {
		distinct[ConsentHash(c.text, c.texts)] = true
	}
	if len(distinct) != 4 { // nil and empty translations are the same
		t.Errorf("%d distinct hashes, want 4", len(distinct))
	}
}
