package intake

import (
	"reflect"
	"strings"
	"testing"

	"github.com/leadcap/leadcap"
)

func TestValidateGood(t *testing.T) {
	l := mustValidate(t, goodJSON)
	c := testConference()
	want := &leadcap.Lead{
		ConferenceID: "conf-1",
		FirstName:    "Ana",
		LastName:     "García",
		Email:        "ana.garcia@example.com",
		Phone:        "+14155552671",
		Company:      "Acme Corp",
		JobTitle:     "Head of IT",
		Country:      "US",
		Interests:    []string{"crm", "ai"},
		Answers: leadcap.Answers{
			"role": "CTO", "size": "11-100", "topics": []string{"cloud", "security"},
			"budget": 25000.0, "start": "2025-09-01",
		},
		Notes:        "Wants a demo\nnext week.",
		Consent:      leadcap.Consent{Contact: true, Version: 3, TextHash: c.Consent.Hash, At: testNow},
		Source:       "form",
		DeviceID:     "kiosk-7",
		SubmissionID: "0b7c1f3e-8a51-4f0e-9d7b-2f6a4c1e9b21",
		CreatedAt:    testNow,
		UpdatedAt:    testNow,
	}
	if !reflect.DeepEqual(l, want) {
		t.Errorf("got  %#v\nwant %#v", l, want)
	}
	again, err := Validate(inputFromLead(l), c, testNow)
	if err != nil || !reflect.DeepEqual(again, l) {
		t.Errorf("not idempotent: %v\n%#v", err, again)
	}
}

// field validates a minimal submission with the extra members and returns
// the problem reported for field ("" if none) and the lead, if valid.
func field(t *testing.T, fieldName string, extra ...string) (string, *leadcap.Lead) {
	t.Helper()
	l, err := Validate(mustDecode(t, minimalJSON(extra...)), testConference(), testNow)
	if err != nil {
		if code := codeOf(t, err); code != leadcap.EINVALID {
			t.Fatalf("code = %q (%v)", code, err)
		}
		p, ok := leadcap.ErrorFields(err)[fieldName]
		if !ok {
			t.Fatalf("no problem with %s, but: %v", fieldName, err)
		}
		return p, nil
	}
	return "", l
}

func TestNormalize(t *testing.T) {
	composed, decomposed := "Jos\u00e9", "Jose\u0301"
	a := mustValidate(t, minimalJSON(`"first_name":"`+composed+`"`))
	b := mustValidate(t, minimalJSON(`"first_name":"`+decomposed+`"`))
	if a.FirstName != b.FirstName || a.FirstName != composed {
		t.Errorf("NFC: %q and %q, want both %q", a.FirstName, b.FirstName, composed)
	}

	tests := []struct {
		name, member, field, want string
		get                       func(*leadcap.Lead) string
	}{
		{"trim", `"first_name":"  Ana \t"`, "first_name", "Ana", func(l *leadcap.Lead) string { return l.FirstName }},
		{"trim line breaks", `"last_name":"\nLee\r\n"`, "last_name", "Lee", func(l *leadcap.Lead) string { return l.LastName }},
		{"no-break space trimmed", `"company":"\u00a0Acme\u00a0"`, "company", "Acme", func(l *leadcap.Lead) string { return l.Company }},
		{"domain lower-cased", `"email":"Foo@Example.COM"`, "email", "Foo@example.com", func(l *leadcap.Lead) string { return l.Email }},
		{"IDN domain", `"email":"info@bücher.example"`, "email", "info@xn--bcher-kva.example", func(l *leadcap.Lead) string { return l.Email }},
		{"IDN domain upper", `"email":"info@BÜCHER.example"`, "email", "info@xn--bcher-kva.example", func(l *leadcap.Lead) string { return l.Email }},
		{"IDN domain decomposed", `"email":"info@bu\u0308cher.example"`, "email", "info@xn--bcher-kva.example", func(l *leadcap.Lead) string { return l.Email }},
		{"A-label kept", `"email":"info@xn--bcher-kva.example"`, "email", "info@xn--bcher-kva.example", func(l *leadcap.Lead) string { return l.Email }},
		{"full-width domain", `"email":"a@ｅｘａｍｐｌｅ．com"`, "email", "a@example.com", func(l *leadcap.Lead) string { return l.Email }},
		{"unicode local part", `"email":"josé@example.com"`, "email", "josé@example.com", func(l *leadcap.Lead) string { return l.Email }},
		{"plus and dots", `"email":"a.b+tag@example.co.uk"`, "email", "a.b+tag@example.co.uk", func(l *leadcap.Lead) string { return l.Email }},
		{"email trimmed", `"email":" a@example.com "`, "email", "a@example.com", func(l *leadcap.Lead) string { return l.Email }},
		{"phone BZ", `"phone":"(501) 223-4567","country":"BZ"`, "phone", "+5012234567", func(l *leadcap.Lead) string { return l.Phone }},
		{"phone BZ from conference", `"phone":"223-4567"`, "phone", "", nil}, // US default: not valid
		{"phone US", `"phone":"+1 415 555 2671"`, "phone", "+14155552671", func(l *leadcap.Lead) string { return l.Phone }},
		{"phone US national", `"phone":"(415) 555-2671"`, "phone", "+14155552671", func(l *leadcap.Lead) string { return l.Phone }},
		{"phone international with other country", `"phone":"+44 20 7946 0958","country":"BZ"`, "phone", "+442079460958", func(l *leadcap.Lead) string { return l.Phone }},
		{"country upper-cased", `"country":"bz"`, "country", "BZ", func(l *leadcap.Lead) string { return l.Country }},
		{"country Kosovo", `"country":"XK"`, "country", "XK", func(l *leadcap.Lead) string { return l.Country }},
		{"notes CRLF", `"notes":"a\r\nb\rc\td"`, "notes", "a\nb\nc\td", func(l *leadcap.Lead) string { return l.Notes }},
		{"notes trimmed", `"notes":"\n\n hi \n"`, "notes", "hi", func(l *leadcap.Lead) string { return l.Notes }},
		{"name of 100 runes", `"first_name":"` + strings.Repeat("é", 100) + `"`, "first_name", strings.Repeat("é", 100), func(l *leadcap.Lead) string { return l.FirstName }},
		{"decomposed name of 100 runes once composed", `"first_name":"` + strings.Repeat("e\u0301", 100) + `"`, "first_name", strings.Repeat("é", 100), func(l *leadcap.Lead) string { return l.FirstName }},
		{"source default", `"source":""`, "source", "form", func(l *leadcap.Lead) string { return l.Source }},
		{"source kiosk", `"source":"kiosk"`, "source", "kiosk", func(l *leadcap.Lead) string { return l.Source }},
		{"left-to-right mark allowed", `"company":"A\u200eB"`, "company", "A\u200eB", func(l *leadcap.Lead) string { return l.Company }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, l := field(t, tt.field, tt.member)
			if tt.get == nil {
				if p == "" {
					t.Fatalf("accepted %s", tt.member)
				}
				return
			}
			if p != "" {
				t.Fatalf("%s: %s", tt.field, p)
			}
			if got := tt.get(l); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestValidateRejects(t *testing.T) {
	tests := []struct {
		name, member, field, problem string
	}{
		{"email missing", `"email":""`, "email", "is required"},
		{"email spaces", `"email":"   "`, "email", "is required"},
		{"no at", `"email":"a.example.com"`, "email", msgBadEmail},
		{"two ats", `"email":"a@b@example.com"`, "email", msgBadEmail},
		{"display name", `"email":"Bob <bob@example.com>"`, "email", msgBadEmail},
		{"angle brackets", `"email":"<bob@example.com>"`, "email", msgBadEmail},
		{"no local part", `"email":"@example.com"`, "email", msgBadEmail},
		{"no domain", `"email":"a@"`, "email", msgBadEmail},
		{"no dot", `"email":"a@localhost"`, "email", msgBadEmail},
		{"trailing dot", `"email":"a@example.com."`, "email", msgBadEmail},
		{"leading dot domain", `"email":"a@.example.com"`, "email", msgBadEmail},
		{"empty label", `"email":"a@example..com"`, "email", msgBadEmail},
		{"hyphen label", `"email":"a@-example.com"`, "email", msgBadEmail},
		{"underscore domain", `"email":"a@ex_ample.com"`, "email", msgBadEmail},
		{"IP address", `"email":"a@192.168.0.1"`, "email", msgBadEmail},
		{"IP literal", `"email":"a@[192.168.0.1]"`, "email", msgBadEmail},
		{"bad punycode", `"email":"a@xn--zz.com"`, "email", msgBadEmail},
		{"label too long", `"email":"a@` + strings.Repeat("x", 64) + `.com"`, "email", msgBadEmail},
		{"space in local", `"email":"a b@example.com"`, "email", msgBadEmail},
		{"quoted local", `"email":"\"a b\"@example.com"`, "email", msgBadEmail},
		{"leading dot local", `"email":".a@example.com"`, "email", msgBadEmail},
		{"double dot local", `"email":"a..b@example.com"`, "email", msgBadEmail},
		{"local too long", `"email":"` + strings.Repeat("a", 65) + `@example.com"`, "email", msgBadEmail},
		{"comma", `"email":"a@example.com,b@example.com"`, "email", msgBadEmail},
		{"newline in email", `"email":"a@exa\nmple.com"`, "email", msgOneLine},
		{"email too long", `"email":"` + strings.Repeat("a", 64) + `@` + strings.Repeat(strings.Repeat("x", 47)+".", 4) + `com"`, "email", "is too long (at most 254 bytes)"},
		{"zero-width space in local", `"email":"a\u200bb@example.com"`, "email", msgBadEmail},

		{"newline in name", `"first_name":"Ana\nLee"`, "first_name", msgOneLine},
		{"tab in name", `"first_name":"Ana\tLee"`, "first_name", msgOneLine},
		{"CR in name", `"last_name":"Ana\rLee"`, "last_name", msgOneLine},
		{"bell", `"company":"Acme\u0007"`, "company", msgControl},
		{"escape", `"job_title":"\u001b[31mred"`, "job_title", msgControl},
		{"DEL", `"company":"A\u007fB"`, "company", msgControl},
		{"C1 control", `"company":"A\u0085B"`, "company", msgControl},
		{"line separator", `"company":"A\u2028B"`, "company", msgOneLine},
		{"paragraph separator", `"notes":"A\u2029B"`, "notes", msgOneLine},
		{"RLO", `"company":"evil\u202egnp.exe"`, "company", msgBidi},
		{"LRE", `"first_name":"\u202aAna"`, "first_name", msgBidi},
		{"RLI", `"last_name":"x\u2067y"`, "last_name", msgBidi},
		{"PDI", `"last_name":"x\u2069y"`, "last_name", msgBidi},
		{"bidi in notes", `"notes":"a\n\u202eb"`, "notes", msgBidi},
		{"control in notes", `"notes":"a\u000bb"`, "notes", msgControl},
		{"bidi in answer", `"answers":{"size":"1-10","role":"\u202eCTO"}`, "answers.role", msgBidi},
		{"newline in answer", `"answers":{"size":"1-10","role":"a\nb"}`, "answers.role", msgOneLine},
		{"name too long", `"first_name":"` + strings.Repeat("é", 101) + `"`, "first_name", "is too long (at most 100 characters)"},
		{"company too long", `"company":"` + strings.Repeat("x", 201) + `"`, "company", "is too long (at most 200 characters)"},
		{"job title too long", `"job_title":"` + strings.Repeat("x", 201) + `"`, "job_title", "is too long (at most 200 characters)"},
		{"notes too long", `"notes":"` + strings.Repeat("x\\n", 2501) + `"`, "notes", "is too long (at most 5000 characters)"},

		{"submission id missing", `"submission_id":""`, "submission_id", "is required"},
		{"submission id charset", `"submission_id":"a/b"`, "submission_id", msgBadIDCharset},
		{"submission id unicode", `"submission_id":"é"`, "submission_id", msgBadIDCharset},
		{"submission id too long", `"submission_id":"` + strings.Repeat("a", 65) + `"`, "submission_id", "is too long (at most 64 characters)"},
		{"device id charset", `"device_id":"kiosk 7"`, "device_id", msgBadIDCharset},
		{"device id too long", `"device_id":"` + strings.Repeat("a", 65) + `"`, "device_id", "is too long (at most 64 characters)"},

		{"invalid phone", `"phone":"12"`, "phone", msgBadPhone},
		{"letters phone", `"phone":"call me"`, "phone", msgBadPhone},
		{"unassigned phone", `"phone":"+1 415 055 2671"`, "phone", msgBadPhone},
		{"phone too long", `"phone":"` + strings.Repeat("1", 65) + `"`, "phone", "is too long (at most 64 characters)"},
		{"country alias", `"country":"UK"`, "country", msgBadCountry},
		{"country unknown", `"country":"ZZ"`, "country", msgBadCountry},
		{"country EU", `"country":"EU"`, "country", msgBadCountry},
		{"country withdrawn", `"country":"YU"`, "country", msgBadCountry},
		{"country alpha-3", `"country":"USA"`, "country", msgBadCountry},
		{"country numeric", `"country":"84"`, "country", msgBadCountry},
		{"country unicode", `"country":"ÜS"`, "country", msgBadCountry},

		{"interest not offered", `"interests":["crm","golf"]`, "interests", "contains a value this conference does not offer"},
		{"interest case", `"interests":["CRM"]`, "interests", "contains a value this conference does not offer"},
		{"interest control", `"interests":["crm\u0007"]`, "interests", msgControl},

		{"consent not given", `"consent":{"contact":false,"marketing":true}`, "consent.contact", "must be accepted"},
		{"consent missing", `"consent":null`, "consent.contact", "must be accepted"},
		{"consent old", `"consent":{"contact":true,"version":2}`, "consent.version", "is out of date"},
		{"consent newer", `"consent":{"contact":true,"version":4}`, "consent.version", "is out of date"},
		{"consent negative", `"consent":{"contact":true,"version":-1}`, "consent.version", "is out of date"},

		{"source unknown", `"source":"admin"`, "source", "must be one of form, kiosk, staff, api, import"},
		{"source case", `"source":"Form"`, "source", "must be one of form, kiosk, staff, api, import"},
		{"other conference", `"conference":"expo-2024"`, "conference", "does not match the conference of the form"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := field(t, tt.field, tt.member)
			if p != tt.problem {
				t.Errorf("%s: problem %q, want %q", tt.field, p, tt.problem)
			}
		})
	}
}

func TestValidateConferenceReference(t *testing.T) {
	for _, ref := range []string{"", "expo-2025", "conf-1"} {
		if p, _ := field(t, "conference", `"conference":"`+ref+`"`); p != "" {
			t.Errorf("conference %q: %s", ref, p)
		}
	}
}

func TestValidateInterests(t *testing.T) {
	_, l := field(t, "interests", `"interests":["ai","crm","ai"," crm ","","caf\u0065\u0301"]`)
	if want := []string{"ai", "crm", "café"}; !reflect.DeepEqual(l.Interests, want) {
		t.Errorf("interests = %q, want %q", l.Interests, want)
	}
	c := testConference()
	c.Interests = nil
	_, err := Validate(mustDecode(t, minimalJSON(`"interests":["crm"]`)), c, testNow)
	if p := leadcap.ErrorFields(err)["interests"]; p != "must be empty: this conference offers no interests" {
		t.Errorf("no interests offered: %v", err)
	}
	if _, err := Validate(mustDecode(t, minimalJSON(`"interests":[""]`)), c, testNow); err != nil {
		t.Errorf("empty interest when none offered: %v", err)
	}
}

func TestValidateAnswers(t *testing.T) {
	type want struct {
		value   any    // expected stored value when valid; nil: no answer
		problem string // expected problem
	}
	tests := []struct {
		name, answers, id string
		want
	}{
		{"text", `"role":" CTO "`, "role", want{value: "CTO"}},
		{"text empty", `"role":""`, "role", want{}},
		{"text null", `"role":null`, "role", want{}},
		{"text as number", `"role":5`, "role", want{problem: "must be text"}},
		{"text as list", `"role":["CTO"]`, "role", want{problem: "must be text"}},
		{"text too long", `"role":"` + strings.Repeat("x", 1001) + `"`, "role", want{problem: "is too long (at most 1000 characters)"}},
		{"text escaped", `"role":"\u0043TO \u00e9"`, "role", want{value: "CTO é"}},

		{"single", `"size":"100+"`, "size", want{value: "100+"}},
		{"single not a choice", `"size":"1000"`, "size", want{problem: "is not one of the choices"}},
		{"single required", `"role":"x","size":null`, "size", want{problem: "is required"}},
		{"single required empty", `"size":" "`, "size", want{problem: "is required"}},
		{"single as list", `"size":["1-10"]`, "size", want{problem: "must be one of the choices"}},
		{"single as number", `"size":10`, "size", want{problem: "must be one of the choices"}},

		{"multi", `"topics":["edge","cloud"]`, "topics", want{value: []string{"edge", "cloud"}}},
		{"multi empty", `"topics":[]`, "topics", want{}},
		{"multi empty strings", `"topics":["", " "]`, "topics", want{}},
		{"multi duplicate", `"topics":["edge","edge"]`, "topics", want{problem: "contains a choice more than once"}},
		{"multi not a choice", `"topics":["edge","fog"]`, "topics", want{problem: "contains a value that is not one of the choices"}},
		{"multi as string", `"topics":"edge"`, "topics", want{problem: "must be a list of choices"}},
		{"multi as number", `"topics":1`, "topics", want{problem: "must be a list of choices"}},

		{"number", `"budget":1500.25`, "budget", want{value: 1500.25}},
		{"number zero", `"budget":0`, "budget", want{value: 0.0}},
		{"number negative zero", `"budget":-0`, "budget", want{value: 0.0}},
		{"number exponent", `"budget":1e3`, "budget", want{value: 1000.0}},
		{"number max", `"budget":1e6`, "budget", want{value: 1e6}},
		{"number underflow", `"budget":1e-400`, "budget", want{value: 0.0}},
		{"number above max", `"budget":1000001`, "budget", want{problem: "must be at most 1e+06"}},
		{"number below min", `"budget":-1`, "budget", want{problem: "must be at least 0"}},
		{"number overflow", `"budget":1e400`, "budget", want{problem: "must be a finite number"}},
		{"number as string", `"budget":"100"`, "budget", want{problem: "must be a number"}},
		{"number as list", `"budget":["100"]`, "budget", want{problem: "must be a number"}},

		{"date", `"start":"2024-02-29"`, "start", want{value: "2024-02-29"}},
		{"date not leap", `"start":"2023-02-29"`, "start", want{problem: "must be a date written YYYY-MM-DD"}},
		{"date century", `"start":"1900-02-29"`, "start", want{problem: "must be a date written YYYY-MM-DD"}},
		{"date 2000", `"start":"2000-02-29"`, "start", want{value: "2000-02-29"}},
		{"date month 13", `"start":"2024-13-01"`, "start", want{problem: "must be a date written YYYY-MM-DD"}},
		{"date day 31", `"start":"2024-04-31"`, "start", want{problem: "must be a date written YYYY-MM-DD"}},
		{"date short", `"start":"2024-2-3"`, "start", want{problem: "must be a date written YYYY-MM-DD"}},
		{"date with time", `"start":"2024-02-03T10:00:00Z"`, "start", want{problem: "must be a date written YYYY-MM-DD"}},
		{"date signed", `"start":"+024-02-03"`, "start", want{problem: "must be a date written YYYY-MM-DD"}},
		{"date year zero", `"start":"0000-01-01"`, "start", want{problem: "must be a date written YYYY-MM-DD"}},
		{"date other format", `"start":"03/02/2024"`, "start", want{problem: "must be a date written YYYY-MM-DD"}},
		{"date as number", `"start":20240203`, "start", want{problem: "must be a date written YYYY-MM-DD"}},

		{"unknown question", `"shoe_size":"44"`, "shoe_size", want{problem: "is not a question of this conference"}},
		{"unknown odd question id", `"Shoe Size!":"44"`, "", want{problem: "names a question this conference does not have"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			answers := `{` + tt.answers
			if !strings.Contains(tt.answers, `"size"`) {
				answers += `,"size":"1-10"`
			}
			answers += `}`
			fieldName := "answers." + tt.id
			if tt.id == "" {
				fieldName = "answers"
			}
			p, l := field(t, fieldName, `"answers":`+answers)
			if p != tt.problem {
				t.Fatalf("problem %q, want %q", p, tt.problem)
			}
			if l == nil {
				return
			}
			got, ok := l.Answers[tt.id]
			if tt.value == nil {
				if ok {
					t.Errorf("stored %#v, want no answer", got)
				}
			} else if !reflect.DeepEqual(got, tt.value) {
				t.Errorf("stored %#v, want %#v", got, tt.value)
			}
		})
	}
}

func TestValidateCollectsAllProblems(t *testing.T) {
	body := `{"email":"nope","phone":"1","country":"QQ","first_name":"a\nb","interests":["golf"],
		"answers":{"size":"huge","budget":"x","x":1},"consent":{"version":9},"source":"root"}`
	_, err := Validate(mustDecode(t, body), testConference(), testNow)
	got := leadcap.ErrorFields(err)
	for _, f := range []string{
		"submission_id", "email", "phone", "country", "first_name", "interests",
		"answers.size", "answers.budget", "answers.x", "consent.contact", "consent.version", "source",
	} {
		if got[f] == "" {
			t.Errorf("no problem reported for %s", f)
		}
	}
	if len(got) != 12 {
		t.Errorf("fields = %v", got)
	}
	if leadcap.ErrorCode(err) != leadcap.EINVALID || leadcap.ErrorMessage(err) == "" {
		t.Errorf("err = %v", err)
	}
}

func TestValidateConsentRecord(t *testing.T) {
	c := testConference()
	l := mustValidate(t, minimalJSON(`"consent":{"contact":true,"marketing":true}`))
	want := leadcap.Consent{Contact: true, Marketing: true, Version: 3, TextHash: c.Consent.Hash, At: testNow}
	if l.Consent != want {
		t.Errorf("consent = %+v, want %+v", l.Consent, want)
	}
	if l.ID != "" || l.ConferenceID != c.ID || !l.CreatedAt.Equal(testNow) || !l.UpdatedAt.Equal(testNow) {
		t.Errorf("lead = %+v", l)
	}
}

func TestEmailKey(t *testing.T) {
	a := mustValidate(t, minimalJSON(`"email":"Ana.Garcia@Example.COM"`))
	b := mustValidate(t, minimalJSON(`"email":"ana.garcia@EXAMPLE.com"`))
	if a.Email != "Ana.Garcia@example.com" {
		t.Errorf("local part changed: %q", a.Email)
	}
	if EmailKey(a.Email) != EmailKey(b.Email) || EmailKey(a.Email) != "ana.garcia@example.com" {
		t.Errorf("keys %q and %q", EmailKey(a.Email), EmailKey(b.Email))
	}
}
