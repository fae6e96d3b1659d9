package crypto

import (
	"crypto/rand"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
)

// hashWith hashes pw with chosen parameters, as an older leadcap might have.
func hashWith(t testing.TB, pw string, p argon2Params) string {
	t.Helper()
	salt := make([]byte, p.saltLen)
	rand.Read(salt)
	return encodeHash(p, salt, argon2.IDKey(passwordBytes(pw), salt, p.time, p.memory, p.threads, uint32(p.keyLen)))
}

// mustHash hashes pw with the current parameters or fails the test.
func mustHash(t testing.TB, pw string) string {
	t.Helper()
	h, err := HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestHashPasswordFormat(t *testing.T) {
	a := mustHash(t, "correct horse battery")
	b := mustHash(t, "correct horse battery")
	for _, h := range []string{a, b} {
		if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
			t.Errorf("hash %q does not start with the PHC argon2id header and OWASP parameters", h)
		}
		p, salt, key, err := decodeHash(h)
		if err != nil {
			t.Fatal(err)
		}
		if p != currentParams() || len(salt) != 16 || len(key) != 32 {
			t.Errorf("decoded %+v with %d-byte salt and %d-byte hash", p, len(salt), len(key))
		}
	}
	if a == b {
		t.Error("two hashes of one password are equal; want a fresh salt each time")
	}
}

func TestCheckPassword(t *testing.T) {
	long := strings.Repeat("long passphrase ", 60) // 960 bytes
	tests := []struct {
		name      string
		stored    string
		candidate string
		want      bool
	}{
		{"right", "correct horse battery", "correct horse battery", true},
		{"wrong", "correct horse battery", "correct horse battere", false},
		{"case matters", "correct horse battery", "Correct horse battery", false},
		{"trailing space matters", "correct horse battery", "correct horse battery ", false},
		{"empty candidate", "correct horse battery", "", false},
		{"long, right", long, long, true},
		// bcrypt would ignore everything after byte 72.
		{"long, last byte differs", long + "a", long + "b", false},
		{"unicode, right", "pässwörd über alles", "pässwörd über alles", true},
		// "é" as one code point and as "e" plus a combining accent.
		{"unicode, other normal form", "caf\u00e9 au lait ok", "cafe\u0301 au lait ok", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := CheckPassword(mustHash(t, tt.stored), tt.candidate)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tt.want {
				t.Errorf("CheckPassword = %v, want %v", ok, tt.want)
			}
		})
	}
}

func TestCheckPasswordOtherParameters(t *testing.T) {
	const pw = "a password from long ago"
	tests := []struct {
		name        string
		params      argon2Params
		needsRehash bool
	}{
		{"current", currentParams(), false},
		{"weaker memory", argon2Params{memory: 8192, time: 2, threads: 1, saltLen: 16, keyLen: 32}, true},
		{"fewer passes", argon2Params{memory: 19456, time: 1, threads: 1, saltLen: 16, keyLen: 32}, true},
		{"stronger", argon2Params{memory: 47104, time: 1, threads: 2, saltLen: 16, keyLen: 32}, true},
		{"short salt and hash", argon2Params{memory: 19456, time: 2, threads: 1, saltLen: 8, keyLen: 16}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := hashWith(t, pw, tt.params)
			if ok, err := CheckPassword(h, pw); err != nil || !ok {
				t.Errorf("CheckPassword(right) = %v, %v", ok, err)
			}
			if ok, err := CheckPassword(h, pw+"!"); err != nil || ok {
				t.Errorf("CheckPassword(wrong) = %v, %v", ok, err)
			}
			if got := NeedsRehash(h); got != tt.needsRehash {
				t.Errorf("NeedsRehash = %v, want %v", got, tt.needsRehash)
			}
		})
	}
}

func TestCheckPasswordMalformed(t *testing.T) {
	valid := mustHash(t, "correct horse battery")
	parts := strings.Split(valid, "$")
	with := func(i int, s string) string {
		p := append([]string(nil), parts...)
		p[i] = s
		return strings.Join(p, "$")
	}
	tests := []struct {
		name    string
		encoded string
	}{
		{"empty", ""},
		{"plain text", "correct horse battery"},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"argon2i", with(1, "argon2i")},
		{"old version", with(2, "v=16")},
		{"parameters out of order", with(3, "t=2,m=19456,p=1")},
		{"missing parameter", with(3, "m=19456,t=2")},
		{"zero passes", with(3, "m=19456,t=0,p=1")},
		{"zero lanes", with(3, "m=19456,t=2,p=0")},
		{"huge memory", with(3, "m=4194304,t=2,p=1")},
		{"too many passes", with(3, "m=19456,t=1000,p=1")},
		{"memory below 8 KiB per lane", with(3, "m=8,t=2,p=4")},
		{"negative", with(3, "m=-1,t=2,p=1")},
		{"salt not base64", with(4, "!!!!")},
		{"salt too short", with(4, "AAAA")},
		{"padded hash", with(5, parts[5]+"=")},
		{"hash too short", with(5, "AAAA")},
		{"extra field", valid + "$x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := CheckPassword(tt.encoded, "correct horse battery")
			if err == nil || ok {
				t.Fatalf("CheckPassword(%q) = %v, %v; want an error", tt.encoded, ok, err)
			}
			if !strings.HasPrefix(err.Error(), "crypto: check password: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			if !NeedsRehash(tt.encoded) {
				t.Error("NeedsRehash = false for an unreadable hash")
			}
		})
	}
}

func TestDummyCheck(t *testing.T) {
	// DummyCheck has no result; this checks it runs with the current
	// parameters without panicking. BenchmarkDummyCheck compares its time
	// with BenchmarkCheckPassword.
	DummyCheck("")
	DummyCheck("correct horse battery")
}

func BenchmarkHashPassword(b *testing.B) {
	for b.Loop() {
		if _, err := HashPassword("correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCheckPassword(b *testing.B) {
	h := mustHash(b, "correct horse battery staple")
	for b.Loop() {
		if _, err := CheckPassword(h, "correct horse battery stapler"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDummyCheck(b *testing.B) {
	for b.Loop() {
		DummyCheck("correct horse battery stapler")
	}
}
