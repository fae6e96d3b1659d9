package intake

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/leadcap/leadcap"
)

func TestDecodeJSON(t *testing.T) {
	deep := `"first_name":` + strings.Repeat("[", 8) + `"x"` + strings.Repeat("]", 8)
	many := func(n int, item string) string {
		return strings.TrimSuffix(strings.Repeat(item+",", n), ",")
	}
	manyKeys := func(n int) string {
		var b strings.Builder
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`"q` + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + string(rune('a'+i/26)) + `":"v"`)
		}
		return b.String()
	}
	tests := []struct {
		name  string
		body  string
		code  string // "" for success
		field string // a key expected in Fields
	}{
		{"good", goodJSON, "", ""},
		{"minimal", minimalJSON(), "", ""},
		{"nulls are absent", minimalJSON(`"first_name":null`, `"interests":null`, `"answers":{"size":"1-10","role":null}`), "", ""},
		{"trailing whitespace", minimalJSON() + " \n\t ", "", ""},
		{"depth 3 is fine", minimalJSON(`"answers":{"topics":["cloud"]}`), "", ""},
		{"100 interests", minimalJSON(`"interests":[` + many(100, `"crm"`) + `]`), "", ""},
		{"100 values in an answer", minimalJSON(`"answers":{"topics":[` + many(100, `"edge"`) + `]}`), "", ""},
		{"100 answers", minimalJSON(`"answers":{` + manyKeys(100) + `}`), "", ""},

		{"empty body", ``, leadcap.EBADREQUEST, ""},
		{"only spaces", `   `, leadcap.EBADREQUEST, ""},
		{"null", `null`, leadcap.EBADREQUEST, ""},
		{"top-level array", `[{"email":"a@b.c"}]`, leadcap.EBADREQUEST, ""},
		{"top-level string", `"hello"`, leadcap.EBADREQUEST, ""},
		{"top-level number", `42`, leadcap.EBADREQUEST, ""},
		{"unterminated", `{"email":"a@b.c"`, leadcap.EBADREQUEST, ""},
		{"syntax error", `{"email" "a@b.c"}`, leadcap.EBADREQUEST, ""},
		{"trailing comma", `{"email":"a@b.c",}`, leadcap.EBADREQUEST, ""},
		{"single quotes", `{'email':'a@b.c'}`, leadcap.EBADREQUEST, ""},
		{"byte order mark", "\ufeff" + minimalJSON(), leadcap.EBADREQUEST, ""},
		{"invalid UTF-8", minimalJSON(`"first_name":"Ana` + "\xff" + `"`), leadcap.EBADREQUEST, ""},
		{"overlong UTF-8", minimalJSON(`"first_name":"` + "\xc0\xaf" + `"`), leadcap.EBADREQUEST, ""},
		{"surrogate in UTF-8", minimalJSON(`"first_name":"` + "\xed\xa0\x80" + `"`), leadcap.EBADREQUEST, ""},
		{"raw NUL", minimalJSON(`"first_name":"a` + "\x00" + `"`), leadcap.EBADREQUEST, ""},
		{"NUL outside strings", minimalJSON() + "\x00", leadcap.EBADREQUEST, ""},
		{"escaped NUL", minimalJSON(`"first_name":"a\u0000b"`), leadcap.EBADREQUEST, "first_name"},
		{"escaped NUL in key", `{"a\u0000":1}`, leadcap.EBADREQUEST, ""},
		{"escaped NUL in answer", minimalJSON(`"answers":{"role":"x\u0000"}`), leadcap.EBADREQUEST, "answers.role"},
		{"too deep", minimalJSON(deep), leadcap.EBADREQUEST, ""},
		{"very deep", strings.Repeat("[", 30000), leadcap.EBADREQUEST, ""},
		{"very deep object", `{"notes":` + strings.Repeat(`{"a":`, 10000), leadcap.EBADREQUEST, ""},
		{"duplicate key", `{"email":"a@example.com","email":"b@example.com"}`, leadcap.EBADREQUEST, "email"},
		{"duplicate by escape", `{"email":"a@example.com","\u0065mail":"b@example.com"}`, leadcap.EBADREQUEST, "email"},
		{"other spelling", minimalJSON(`"Email":"b@example.com"`), leadcap.EBADREQUEST, "Email"},
		{"folded spelling", minimalJSON(`"emaıl":"b@example.com"`), leadcap.EBADREQUEST, ""},
		{"kelvin sign spelling", minimalJSON(`"mar\u212aeting":true`), leadcap.EBADREQUEST, ""},
		{"duplicate in answers", minimalJSON(`"answers":{"size":"1-10","size":"100+"}`), leadcap.EBADREQUEST, "answers.size"},
		{"duplicate in consent", minimalJSON(`"consent":{"contact":false,"contact":true}`), leadcap.EBADREQUEST, "consent.contact"},
		{"duplicate deep", minimalJSON(`"notes":[{"a":1,"a":2}]`), leadcap.EBADREQUEST, ""},
		{"same key in sibling objects is fine", minimalJSON(`"answers":{"size":"1-10"}`, `"consent":{"contact":true,"version":3}`), "", ""},
		{"unknown field", minimalJSON(`"admin":true`), leadcap.EBADREQUEST, "admin"},
		{"unknown consent field", minimalJSON(`"consent":{"contact":true,"ip":"1.2.3.4"}`), leadcap.EBADREQUEST, "consent.ip"},
		{"lead field not in input", minimalJSON(`"spam":false`), leadcap.EBADREQUEST, "spam"},
		{"trailing garbage", minimalJSON() + "x", leadcap.EBADREQUEST, ""},
		{"second object", minimalJSON() + "{}", leadcap.EBADREQUEST, ""},
		{"second value", minimalJSON() + " 1", leadcap.EBADREQUEST, ""},
		{"101 interests", minimalJSON(`"interests":[` + many(101, `"crm"`) + `]`), leadcap.EBADREQUEST, "interests"},
		{"101 answers", minimalJSON(`"answers":{` + manyKeys(101) + `}`), leadcap.EBADREQUEST, "answers"},
		{"101 values in an answer", minimalJSON(`"answers":{"topics":[` + many(101, `"edge"`) + `]}`), leadcap.EBADREQUEST, "answers.topics"},
		{"too many keys in an object", minimalJSON(`"notes":{` + manyKeys(129) + `}`), leadcap.EBADREQUEST, ""},

		// Type confusion, for each type of field.
		{"string as number", minimalJSON(`"first_name":5`), leadcap.EBADREQUEST, "first_name"},
		{"string as bool", minimalJSON(`"email":true`), leadcap.EBADREQUEST, "email"},
		{"string as object", minimalJSON(`"submission_id":{}`), leadcap.EBADREQUEST, "submission_id"},
		{"string as array", minimalJSON(`"phone":["+1"]`), leadcap.EBADREQUEST, "phone"},
		{"list as string", minimalJSON(`"interests":"crm"`), leadcap.EBADREQUEST, "interests"},
		{"list of numbers", minimalJSON(`"interests":[1]`), leadcap.EBADREQUEST, "interests"},
		{"list as object", minimalJSON(`"interests":{"crm":true}`), leadcap.EBADREQUEST, "interests"},
		{"answers as list", minimalJSON(`"answers":["x"]`), leadcap.EBADREQUEST, "answers"},
		{"answers as string", minimalJSON(`"answers":"x"`), leadcap.EBADREQUEST, "answers"},
		{"answer as bool", minimalJSON(`"answers":{"role":true}`), leadcap.EBADREQUEST, "answers.role"},
		{"answer as object", minimalJSON(`"answers":{"role":{"x":1}}`), leadcap.EBADREQUEST, "answers.role"},
		{"answer list of numbers", minimalJSON(`"answers":{"topics":[1]}`), leadcap.EBADREQUEST, "answers.topics"},
		{"answer list with null", minimalJSON(`"answers":{"topics":[null]}`), leadcap.EBADREQUEST, "answers.topics"},
		{"answer list of lists", minimalJSON(`"answers":{"topics":[["cloud"]]}`), leadcap.EBADREQUEST, "answers.topics"},
		{"consent as bool", minimalJSON(`"consent":true`), leadcap.EBADREQUEST, "consent"},
		{"bool as string", minimalJSON(`"consent":{"contact":"true"}`), leadcap.EBADREQUEST, "consent.contact"},
		{"bool as number", minimalJSON(`"consent":{"contact":1}`), leadcap.EBADREQUEST, "consent.contact"},
		{"int as string", minimalJSON(`"consent":{"contact":true,"version":"3"}`), leadcap.EBADREQUEST, "consent.version"},
		{"int as fraction", minimalJSON(`"consent":{"contact":true,"version":1.5}`), leadcap.EBADREQUEST, "consent.version"},
		{"int overflow", minimalJSON(`"consent":{"contact":true,"version":1e100}`), leadcap.EBADREQUEST, "consent.version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := DecodeJSON(strings.NewReader(tt.body), 0)
			if got := codeOf(t, err); got != tt.code {
				t.Fatalf("code = %q, want %q (err %v)", got, tt.code, err)
			}
			if err == nil && in == nil {
				t.Fatal("nil input without error")
			}
			if tt.field != "" {
				if _, ok := leadcap.ErrorFields(err)[tt.field]; !ok {
					t.Errorf("fields = %v, want one for %q", leadcap.ErrorFields(err), tt.field)
				}
			}
			if err != nil && leadcap.ErrorMessage(err) == "" {
				t.Error("empty message")
			}
		})
	}
}

func TestDecodeJSONFields(t *testing.T) {
	in := mustDecode(t, goodJSON)
	want := &Input{
		Conference:   "expo-2025",
		SubmissionID: "0b7c1f3e-8a51-4f0e-9d7b-2f6a4c1e9b21",
		FirstName:    "Ana",
		LastName:     "García",
		Email:        "ana.garcia@Example.COM",
		Phone:        "+1 415 555 2671",
		Company:      "Acme Corp",
		JobTitle:     "Head of IT",
		Country:      "us",
		Interests:    []string{"crm", "ai"},
		Answers: map[string]json.RawMessage{
			"role": json.RawMessage(`"CTO"`), "size": json.RawMessage(`"11-100"`),
			"topics": json.RawMessage(`["cloud", "security"]`), "budget": json.RawMessage(`25000`),
			"start": json.RawMessage(`"2025-09-01"`),
		},
		Notes:    "Wants a demo\nnext week.",
		Consent:  InputConsent{Contact: true, Version: 3},
		Source:   "form",
		DeviceID: "kiosk-7",
	}
	if !reflect.DeepEqual(in, want) {
		t.Errorf("got  %+v\nwant %+v", in, want)
	}
	abuse := mustDecode(t, minimalJSON(`"website":"http://spam"`, `"render_token":"t"`, `"pow_nonce":"n"`, `"device_token":"d"`))
	if abuse.Website != "http://spam" || abuse.RenderToken != "t" || abuse.PowNonce != "n" || abuse.DeviceToken != "d" {
		t.Errorf("abuse fields = %+v", abuse)
	}
}

func TestDecodeJSONLimit(t *testing.T) {
	body := minimalJSON()
	n := int64(len(body))
	if _, err := DecodeJSON(strings.NewReader(body), n); err != nil {
		t.Errorf("body of exactly the limit: %v", err)
	}
	_, err := DecodeJSON(strings.NewReader(body), n-1)
	if got := codeOf(t, err); got != leadcap.ETOOLARGE {
		t.Errorf("over the limit: code %q (%v)", got, err)
	}
	big := minimalJSON(`"notes":"` + strings.Repeat("x", DefaultBodyLimit) + `"`)
	_, err = DecodeJSON(strings.NewReader(big), 0)
	if got := codeOf(t, err); got != leadcap.ETOOLARGE {
		t.Errorf("over the default limit: code %q (%v)", got, err)
	}
	_, err = DecodeJSON(iotest.ErrReader(io.ErrUnexpectedEOF), 0)
	if got := codeOf(t, err); got != leadcap.EBADREQUEST {
		t.Errorf("read error: code %q (%v)", got, err)
	}
}

func TestDecodeRequest(t *testing.T) {
	form := url.Values{
		"submission_id": {"s1"}, "email": {"a@example.com"},
		"answers.size": {"1-10"}, "consent_contact": {"on"},
	}.Encode()
	tests := []struct {
		name, contentType, encoding, body string
		limit                             int64
		maxBytes                          int64 // wrap the body in http.MaxBytesReader
		code                              string
	}{
		{name: "json", contentType: "application/json", body: minimalJSON()},
		{name: "json utf-8", contentType: "application/json; charset=utf-8", body: minimalJSON()},
		{name: "json UTF-8", contentType: "Application/JSON;charset=UTF-8", body: minimalJSON()},
		{name: "form", contentType: "application/x-www-form-urlencoded", body: form},
		{name: "form utf-8", contentType: "application/x-www-form-urlencoded; charset=utf-8", body: form},
		{name: "identity encoding", contentType: "application/json", encoding: "identity", body: minimalJSON()},
		{name: "no content type", body: minimalJSON(), code: leadcap.EUNSUPPORTED},
		{name: "text/plain", contentType: "text/plain", body: minimalJSON(), code: leadcap.EUNSUPPORTED},
		{name: "multipart", contentType: "multipart/form-data; boundary=x", body: form, code: leadcap.EUNSUPPORTED},
		{name: "json+ld", contentType: "application/ld+json", body: minimalJSON(), code: leadcap.EUNSUPPORTED},
		{name: "latin1", contentType: "application/json; charset=iso-8859-1", body: minimalJSON(), code: leadcap.EUNSUPPORTED},
		{name: "malformed content type", contentType: "application/json; charset", body: minimalJSON(), code: leadcap.EUNSUPPORTED},
		{name: "gzip", contentType: "application/json", encoding: "gzip", body: minimalJSON(), code: leadcap.EUNSUPPORTED},
		{name: "over limit", contentType: "application/json", body: minimalJSON(), limit: 10, code: leadcap.ETOOLARGE},
		{name: "form over limit", contentType: "application/x-www-form-urlencoded", body: form, limit: 10, code: leadcap.ETOOLARGE},
		{name: "over MaxBytesReader", contentType: "application/json", body: minimalJSON(), maxBytes: 10, code: leadcap.ETOOLARGE},
		{name: "empty", contentType: "application/json", code: leadcap.EBADREQUEST},
		{name: "bad form", contentType: "application/x-www-form-urlencoded", body: "email=%zz", code: leadcap.EBADREQUEST},
		{name: "form with semicolons", contentType: "application/x-www-form-urlencoded", body: "email=a;b=c", code: leadcap.EBADREQUEST},
		{name: "json sent as form", contentType: "application/x-www-form-urlencoded", body: minimalJSON(), code: leadcap.EBADREQUEST},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/api/v1/leads", strings.NewReader(tt.body))
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			if tt.encoding != "" {
				r.Header.Set("Content-Encoding", tt.encoding)
			}
			if tt.maxBytes > 0 {
				r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, tt.maxBytes)
				r.ContentLength = -1
			}
			in, err := DecodeRequest(r, tt.limit)
			if got := codeOf(t, err); got != tt.code {
				t.Fatalf("code = %q, want %q (%v)", got, tt.code, err)
			}
			if err == nil {
				if _, err := Validate(in, testConference(), testNow); err != nil {
					t.Errorf("Validate: %v", err)
				}
			}
		})
	}
}

func TestDecodeForm(t *testing.T) {
	good := func() url.Values {
		return url.Values{
			"submission_id":     {"s1"},
			"first_name":        {"Ana"},
			"email":             {"ana@example.com"},
			"interests":         {"crm", "ai"},
			"answers.size":      {"11-100"},
			"answers.topics":    {"cloud", "edge"},
			"answers.budget":    {"2500.5"},
			"answers.role":      {""},
			"consent_contact":   {"on"},
			"consent_marketing": {"on"},
			"consent_version":   {"3"},
			"notes":             {"line one\r\nline two"},
			"lang":              {"es"},
			"kiosk":             {"1"},
			"csrf":              {"token"},
			"website":           {""},
		}
	}
	with := func(k string, v ...string) url.Values {
		vals := good()
		if v == nil {
			delete(vals, k)
		} else {
			vals[k] = v
		}
		return vals
	}

	in, err := DecodeForm(good())
	if err != nil {
		t.Fatal(err)
	}
	l, err := Validate(in, testConference(), testNow)
	if err != nil {
		t.Fatal(err)
	}
	wantAnswers := leadcap.Answers{"size": "11-100", "topics": []string{"cloud", "edge"}, "budget": 2500.5}
	if !reflect.DeepEqual(l.Answers, wantAnswers) {
		t.Errorf("answers = %#v, want %#v", l.Answers, wantAnswers)
	}
	if !l.Consent.Contact || !l.Consent.Marketing || l.Consent.Version != 3 {
		t.Errorf("consent = %+v", l.Consent)
	}
	if l.Notes != "line one\nline two" {
		t.Errorf("notes = %q", l.Notes)
	}
	if !reflect.DeepEqual(l.Interests, []string{"crm", "ai"}) {
		t.Errorf("interests = %q", l.Interests)
	}

	// One ticked box of a multiple-choice question is a single value.
	in, err = DecodeForm(with("answers.topics", "edge"))
	if err != nil {
		t.Fatal(err)
	}
	if l, err := Validate(in, testConference(), testNow); err != nil {
		t.Fatal(err)
	} else if !reflect.DeepEqual(l.Answers["topics"], []string{"edge"}) {
		t.Errorf("topics = %#v", l.Answers["topics"])
	}

	tests := []struct {
		name   string
		values url.Values
		code   string
		field  string
	}{
		{"no consent boxes", with("consent_contact"), leadcap.EINVALID, "consent.contact"},
		{"consent off", with("consent_contact", "off"), leadcap.EINVALID, "consent.contact"},
		{"consent true", with("consent_contact", "true"), "", ""},
		{"no consent version", with("consent_version", ""), "", ""},
		{"old consent version", with("consent_version", "2"), leadcap.EINVALID, "consent.version"},
		{"repeated field", with("email", "a@example.com", "b@example.com"), leadcap.EBADREQUEST, "email"},
		{"repeated consent", with("consent_contact", "on", "on"), leadcap.EBADREQUEST, "consent_contact"},
		{"unknown field", with("is_admin", "1"), leadcap.EBADREQUEST, "is_admin"},
		{"json name of consent", with("consent", "on"), leadcap.EBADREQUEST, "consent"},
		{"bad consent value", with("consent_contact", "maybe"), leadcap.EBADREQUEST, "consent_contact"},
		{"bad consent version", with("consent_version", "-1"), leadcap.EBADREQUEST, "consent_version"},
		{"huge consent version", with("consent_version", "99999999999999999999"), leadcap.EBADREQUEST, "consent_version"},
		{"invalid UTF-8", with("first_name", "Ana\xff"), leadcap.EBADREQUEST, "first_name"},
		{"NUL", with("first_name", "A\x00na"), leadcap.EBADREQUEST, "first_name"},
		{"invalid UTF-8 key", with("answers.\xff", "x"), leadcap.EBADREQUEST, ""},
		{"101 interests", with("interests", strings.Split(strings.Repeat("crm,", 101), ",")[:101]...), leadcap.EBADREQUEST, "interests"},
		{"101 values", with("answers.topics", strings.Split(strings.Repeat("edge,", 101), ",")[:101]...), leadcap.EBADREQUEST, "answers.topics"},
		{"repeated single answer", with("answers.size", "1-10", "100+"), leadcap.EINVALID, "answers.size"},
		{"number not a number", with("answers.budget", "12abc"), leadcap.EINVALID, "answers.budget"},
		{"number hex", with("answers.budget", "0x10"), leadcap.EINVALID, "answers.budget"},
		{"number inf", with("answers.budget", "Inf"), leadcap.EINVALID, "answers.budget"},
		{"number empty", with("answers.budget", " "), "", ""},
		{"unknown question", with("answers.shoe_size", "44"), leadcap.EINVALID, "answers.shoe_size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := DecodeForm(tt.values)
			if err == nil {
				_, err = Validate(in, testConference(), testNow)
			}
			if got := codeOf(t, err); got != tt.code {
				t.Fatalf("code = %q, want %q (%v)", got, tt.code, err)
			}
			if tt.field != "" {
				if _, ok := leadcap.ErrorFields(err)[tt.field]; !ok {
					t.Errorf("fields = %v, want one for %q", leadcap.ErrorFields(err), tt.field)
				}
			}
		})
	}

	many := url.Values{}
	for i := range MaxAnswers + 1 {
		many.Set("answers.q"+strings.Repeat("x", i), "v")
	}
	if _, err := DecodeForm(many); codeOf(t, err) != leadcap.EBADREQUEST {
		t.Errorf("101 answers: %v", err)
	}
}

func TestReadForm(t *testing.T) {
	values, err := ReadForm(strings.NewReader("csrf=abc&email=a%40example.com"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if values.Get("csrf") != "abc" || values.Get("email") != "a@example.com" {
		t.Errorf("values = %v", values)
	}
}
