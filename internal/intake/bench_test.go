package intake

import (
	"strings"
	"testing"
)

// BenchmarkDecodeValidate measures the hot path of lead ingest: one typical
// submission of about 500 bytes decoded and validated.
func BenchmarkDecodeValidate(b *testing.B) {
	c := testConference()
	body := strings.NewReplacer("\n", "", "  ", "").Replace(goodJSON)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		in, err := DecodeJSON(strings.NewReader(body), 0)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Validate(in, c, testNow); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecode and BenchmarkValidate split the same work in two;
// BenchmarkValidateNoPhone shows what the phone number costs.
func BenchmarkDecode(b *testing.B) {
	body := strings.NewReplacer("\n", "", "  ", "").Replace(goodJSON)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeJSON(strings.NewReader(body), 0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidate(b *testing.B) {
	benchmarkValidate(b, mustDecode(b, goodJSON))
}

func BenchmarkValidateNoPhone(b *testing.B) {
	in := mustDecode(b, goodJSON)
	in.Phone = ""
	benchmarkValidate(b, in)
}

func benchmarkValidate(b *testing.B, in *Input) {
	c := testConference()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Validate(in, c, testNow); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWalk measures the structural check of the JSON body alone.
func BenchmarkWalk(b *testing.B) {
	body := []byte(strings.NewReplacer("\n", "", "  ", "").Replace(goodJSON))
	b.ReportAllocs()
	for b.Loop() {
		if err := walk(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWalkTokens is the same check with json.Decoder.Token, for
// comparison.
func BenchmarkWalkTokens(b *testing.B) {
	body := []byte(strings.NewReplacer("\n", "", "  ", "").Replace(goodJSON))
	b.ReportAllocs()
	for b.Loop() {
		if err := walkTokens(body); err != nil {
			b.Fatal(err)
		}
	}
}
