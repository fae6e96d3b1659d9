package intake

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/leadcap/leadcap"
	"golang.org/x/text/unicode/norm"
)

// fuzzSeeds are good and nasty submissions to start from.
var fuzzSeeds = []string{
	goodJSON,
	minimalJSON(),
	minimalJSON(`"email":"Foo@BÜCHER.example"`, `"phone":"(501) 223-4567"`, `"country":"bz"`),
	minimalJSON(`"first_name":"Jose\u0301"`, `"last_name":"  \u00a0O'Brien\t"`, `"notes":"a\r\nb\tc"`),
	minimalJSON(`"answers":{"size":"100+","topics":["edge","cloud"],"budget":-0,"start":"2024-02-29","role":"x"}`),
	minimalJSON(`"answers":{"size":"1-10","budget":1e-400}`),
	minimalJSON(`"answers":{"size":"1-10","budget":1e400}`),
	minimalJSON(`"answers":{"size":"1-10","topics":["edge","edge"]}`),
	minimalJSON(`"interests":["crm","crm","cafe\u0301",""]`),
	minimalJSON(`"company":"\u202eevil"`, `"job_title":"a\u2028b"`),
	minimalJSON(`"first_name":"\ud800"`, `"last_name":"\udfff\ud83d\ude00"`),
	minimalJSON(`"first_name":"a\u0000"`),
	minimalJSON(`"email":"a@b.c","email":"d@e.f"`),
	minimalJSON(`"Email":"x@y.z"`),
	minimalJSON(`"consent":{"contact":true,"version":1e100}`),
	minimalJSON(`"interests":"crm"`),
	minimalJSON(`"notes":[[[[[[[[[[1]]]]]]]]]]`),
	minimalJSON(`"email":"Bob <bob@example.com>"`),
	minimalJSON(`"email":"a@xn--zz.com"`, `"phone":"+1 415 555 2671 ext. 9"`),
	minimalJSON(`"source":"kiosk"`, `"device_id":"k-1"`, `"conference":"conf-1"`),
	`{"submission_id":"s","email":"\u0041@\uFF21.com","answers":{"size":"1-10"},"consent":{"contact":true}}`,
	`null`, `[]`, `{}`, `{} {}`, `{"a":1}x`, "\xff", "",
}

func FuzzDecodeValidate(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	c := testConference()
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := DecodeJSON(bytes.NewReader(body), 0)
		if err != nil {
			checkClientError(t, err)
			return
		}
		checkValidate(t, in, c)
	})
}

func FuzzDecodeForm(f *testing.F) {
	f.Add("submission_id=s1&email=a%40example.com&answers.size=1-10&consent_contact=on")
	f.Add("submission_id=s1&email=a%40example.com&answers.size=1-10&answers.topics=edge&answers.topics=cloud" +
		"&answers.budget=12.5&consent_contact=on&consent_version=3&interests=crm&interests=ai&notes=a%0D%0Ab")
	f.Add("email=%FF&email=%00&answers.=x&consent_version=99999999999")
	c := testConference()
	f.Fuzz(func(t *testing.T, body string) {
		values, err := ReadForm(strings.NewReader(body), 0)
		if err != nil {
			checkClientError(t, err)
			return
		}
		in, err := DecodeForm(values)
		if err != nil {
			checkClientError(t, err)
			return
		}
		checkValidate(t, in, c)
	})
}

// checkClientError fails unless err is a *leadcap.Error with a code that
// blames the client.
func checkClientError(t *testing.T, err error) {
	t.Helper()
	var e *leadcap.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *leadcap.Error", err, err)
	}
	switch e.Code {
	case leadcap.EBADREQUEST, leadcap.ETOOLARGE, leadcap.EINVALID:
	default:
		t.Fatalf("error %v has code %q", err, e.Code)
	}
	if e.Message == "" || !utf8.ValidString(e.Message) {
		t.Fatalf("error %v has a bad message", err)
	}
}

// checkValidate validates in and, if it is valid, checks the lead is clean
// and validates again, from a re-encoded submission, to the same lead.
func checkValidate(t *testing.T, in *Input, c *leadcap.Conference) {
	t.Helper()
	l, err := Validate(in, c, testNow)
	if err != nil {
		checkClientError(t, err)
		if code := leadcap.ErrorCode(err); code != leadcap.EINVALID {
			t.Fatalf("Validate returned %q", code)
		}
		return
	}
	checkLead(t, l)
	again, err := Validate(inputFromLead(l), c, testNow)
	if err != nil {
		t.Fatalf("valid lead %#v does not validate again: %v", l, err)
	}
	if !reflect.DeepEqual(again, l) {
		t.Fatalf("not idempotent:\n%#v\n%#v", l, again)
	}
	body, err := json.Marshal(inputFromLead(l))
	if err != nil {
		t.Fatal(err)
	}
	in2, err := DecodeJSON(bytes.NewReader(body), 0)
	if err != nil {
		t.Fatalf("re-encoded lead %s does not decode: %v", body, err)
	}
	if again, err = Validate(in2, c, testNow); err != nil || !reflect.DeepEqual(again, l) {
		t.Fatalf("re-encoded lead %s: %v\n%#v\n%#v", body, err, l, again)
	}
}

// checkLead fails unless every text of l is valid UTF-8 in NFC, trimmed,
// and free of control and bidirectional control characters (notes may hold
// line feeds and tabs).
func checkLead(t *testing.T, l *leadcap.Lead) {
	t.Helper()
	lines := []string{
		l.FirstName, l.LastName, l.Email, l.Phone, l.Company, l.JobTitle, l.Country,
		l.Source, l.DeviceID, l.SubmissionID,
	}
	lines = append(lines, l.Interests...)
	for id, a := range l.Answers {
		switch a := a.(type) {
		case string:
			lines = append(lines, a)
		case []string:
			lines = append(lines, a...)
		case float64:
		default:
			t.Fatalf("answer %s has type %T", id, a)
		}
	}
	for _, s := range lines {
		checkClean(t, s, false)
	}
	checkClean(t, l.Notes, true)
	if l.Email == "" || l.SubmissionID == "" || !l.Consent.Contact {
		t.Fatalf("lead lacks a required field: %#v", l)
	}
}

func checkClean(t *testing.T, s string, multiline bool) {
	t.Helper()
	if !utf8.ValidString(s) || !norm.NFC.IsNormalString(s) || strings.TrimSpace(s) != s {
		t.Fatalf("%q is not valid, NFC and trimmed", s)
	}
	for _, r := range s {
		if multiline && (r == '\n' || r == '\t') {
			continue
		}
		if badRune(r, multiline) != "" || r < 0x20 || r >= 0x7f && r <= 0x9f {
			t.Fatalf("%q holds %U", s, r)
		}
	}
}

// FuzzValidateFields puts arbitrary text into each field of an otherwise
// valid submission, which reaches the normalisation of every field far
// more often than arbitrary bytes do.
func FuzzValidateFields(f *testing.F) {
	f.Add("Ana", "Foo@BÜCHER.example", "(501) 223-4567", "bz", "a\r\nb", "CTO", "12.5", "edge", "2024-02-29")
	f.Add("Jose\u0301 ", "a@xn--bcher-kva.example", "+1 415 555 2671", "", "\u202e", " x ", "-0", "", "")
	f.Add("\u0085x\u00a0", "ｅ@ｅｘａｍｐｌｅ．com", "0", "UK", "\t\n", "\u2028", "1e400", "fog", "0000-01-01")
	c := testConference()
	f.Fuzz(func(t *testing.T, name, email, phone, country, notes, role, budget, topic, start string) {
		body, err := json.Marshal(map[string]any{
			"submission_id": "s1", "first_name": name, "last_name": name, "company": role,
			"email": email, "phone": phone, "country": country, "notes": notes,
			"interests": []string{topic, "crm"},
			"answers": map[string]any{
				"size": "1-10", "role": role, "topics": []string{topic}, "start": start,
				"budget": json.RawMessage(budget),
			},
			"consent": map[string]any{"contact": true},
		})
		if err != nil {
			return // budget is not a JSON value
		}
		in, err := DecodeJSON(bytes.NewReader(body), 0)
		if err != nil {
			checkClientError(t, err)
			return
		}
		checkValidate(t, in, c)
	})
}
