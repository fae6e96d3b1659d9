package store

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/leadcap/leadcap"
)

// personalSamples are personal values whose JSON the fast decoder must read
// exactly as encoding/json does, some through its fallback.
func personalSamples() []personal {
	return []personal{
		{},
		{FirstName: "Ana", LastName: "Díaz", Email: "ana@example.com", Phone: "+5012234567", Company: "Acme, \"Ltd\"",
			JobTitle: "=HYPERLINK(\"http://x\")", Country: "BZ", Interests: []string{"diving", "caves"},
			Answers: leadcap.Answers{"budget": 1200.0, "size": "family", "when": "2027-03-02", "tags": []string{"a", "b"},
				"neg": -2.5e-7, "empty": []string{}, "zero": 0.0},
			Notes: "line one\nline two\ttabbed", ConsentIP: "192.0.2.7"},
		{FirstName: "👩‍👩‍👧‍👦", LastName: "مريم", Company: "＝1+1 <b>&amp;</b>", Notes: "\u2028 \\ / \x7f",
			Interests: []string{}, Answers: leadcap.Answers{}},
		{FirstName: "invalid \xff utf-8", Answers: leadcap.Answers{"big": 1e300, "small": 5e-324}},
	}
}

func TestDecodePersonal(t *testing.T) {
	for i, p := range personalSamples() {
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var want, got personal
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		if err := decodePersonal(b, &got); err != nil {
			t.Fatalf("sample %d: %v", i, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("sample %d: decodePersonal(%s)\n got %#v\nwant %#v", i, b, got, want)
		}
	}
	// The fast path takes the plain JSON json.Marshal writes, and leaves
	// anything else to encoding/json.
	var p personal
	if !fastPersonal([]byte(`{"fn":"Ana","in":["a"],"an":{"n":1.5,"s":"x","l":[],"z":null}}`), &p) {
		t.Error("fast path refused plain JSON")
	}
	for _, doc := range []string{`{"fn": "Ana"}`, `{"FN":"Ana"}`, `{"an":{"n":01}}`, `{"an":{"n":true}}`, `{"fn":"a"}x`, `{"in":null}`} {
		var p personal
		if fastPersonal([]byte(doc), &p) {
			t.Errorf("fast path accepted %s, which it should leave to encoding/json", doc)
		}
	}
}

// FuzzDecodePersonal checks that whatever the fast decoder accepts,
// encoding/json accepts with the same result.
func FuzzDecodePersonal(f *testing.F) {
	for _, p := range personalSamples() {
		b, _ := json.Marshal(p)
		f.Add(b)
	}
	f.Add([]byte(`{"an":{"a":-0.0e+1,"b":null,"c":["x","y"]},"in":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var fast personal
		if !fastPersonal(b, &fast) {
			return
		}
		var want personal
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatalf("fast path accepted %q, encoding/json refuses it: %v", b, err)
		}
		if !reflect.DeepEqual(fast, want) {
			t.Fatalf("decode %q:\nfast %#v\njson %#v", b, fast, want)
		}
	})
}

// BenchmarkDecodePersonal compares the fast decoder with encoding/json on a
// typical lead.
//
//	go test -run='^$' -bench=DecodePersonal ./internal/store/
func BenchmarkDecodePersonal(b *testing.B) {
	doc, err := json.Marshal(personalSamples()[1])
	if err != nil {
		b.Fatal(err)
	}
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			var p personal
			if err := decodePersonal(doc, &p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			var p personal
			if err := json.Unmarshal(doc, &p); err != nil {
				b.Fatal(err)
			}
		}
	})
}
