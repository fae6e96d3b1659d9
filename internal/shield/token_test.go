package shield

import (
	"strings"
	"testing"
	"time"

	"github.com/leadcap/leadcap/internal/crypto"
)

func TestRenderTokenRoundTrip(t *testing.T) {
	keys, _, err := crypto.LoadOrCreate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := crypto.LoadOrCreate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_900_000_000, 0)
	tok := renderToken{ConferenceID: "0190c1e2-aaaa-7bbb-8ccc-123456789abc", Rendered: now, Expires: now.Add(DefaultRenderTokenTTL),
		PowBits: 18, Challenge: newChallenge()}
	s := tok.sign(keys)
	if len(s) > maxRenderToken || strings.ContainsAny(s, "+/= <>\"") {
		t.Fatalf("token is too long or not URL- and HTML-safe: %q", s)
	}
	got, ok := parseRenderToken(keys, s)
	if !ok || got != tok {
		t.Fatalf("parse: %+v %v, want %+v", got, ok, tok)
	}
	// Another server's keys, a changed field, a cut signature, junk: all refused.
	forged := strings.Replace(s, ".18.", ".8.", 1)
	for name, bad := range map[string]string{
		"other keys":     tok.sign(other),
		"changed field":  forged,
		"cut signature":  s[:len(s)-4],
		"no signature":   s[:strings.LastIndexByte(s, '.')],
		"empty":          "",
		"junk":           "r1.a.b.c.d.e.f",
		"oversize":       strings.Repeat("a", 400),
		"extra field":    "r1.x." + s[3:],
		"prefix changed": "r2" + s[2:],
	} {
		if _, ok := parseRenderToken(keys, bad); ok {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestPow(t *testing.T) {
	token := "r1.example.token"
	nonce := SolvePow(token, 12)
	d := PowDigest(token, nonce)
	if zeroBits(d) < 12 {
		t.Fatalf("nonce %s gives %d zero bits", nonce, zeroBits(d))
	}
	if zeroBits([32]byte{0, 0, 0x10}) != 19 || zeroBits([32]byte{0x80}) != 0 || zeroBits([32]byte{}) != 256 {
		t.Fatal("zeroBits miscounts")
	}
	for _, n := range []string{"", "-1", "1e3", "0x10", "123456789012345678901", " 1"} {
		if validNonce(n) {
			t.Errorf("nonce %q accepted", n)
		}
	}
	if !validNonce("0") || !validNonce("18446744073709551615") {
		t.Error("good nonce refused")
	}
}
