package crypto

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
)

func TestNewToken(t *testing.T) {
	tests := []struct{ prefix string }{{"lct_"}, {""}, {"leadcap-export-"}}
	for _, tt := range tests {
		t.Run(tt.prefix, func(t *testing.T) {
			token, hash, err := NewToken(tt.prefix)
			if err != nil {
				t.Fatal(err)
			}
			body, ok := strings.CutPrefix(token, tt.prefix)
			if !ok {
				t.Fatalf("token %q lacks prefix %q", token, tt.prefix)
			}
			raw, err := base64.RawURLEncoding.DecodeString(body)
			if err != nil || len(raw) != 32 {
				t.Errorf("token body %q: %d bytes, %v; want 32 bytes of unpadded base64url", body, len(raw), err)
			}
			if !bytes.Equal(hash, HashToken(token)) || len(hash) != 32 {
				t.Errorf("hash %x is not HashToken(token)", hash)
			}
			if tt.prefix != "" && bytes.Equal(hash, HashToken(body)) {
				t.Error("the hash ignores the prefix")
			}
		})
	}
}

func TestNewTokenUnique(t *testing.T) {
	seen := make(map[string]bool)
	for range 1000 {
		token, _, err := NewToken("lct_")
		if err != nil {
			t.Fatal(err)
		}
		if seen[token] {
			t.Fatalf("token %q repeated", token)
		}
		seen[token] = true
	}
}

func TestHashToken(t *testing.T) {
	tests := []struct {
		token string
		want  string // hex of SHA-256
	}{
		{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	}
	for _, tt := range tests {
		if got := HashToken(tt.token); hex.EncodeToString(got) != tt.want {
			t.Errorf("HashToken(%q) = %x, want %s", tt.token, got, tt.want)
		}
	}
}

func TestRandomString(t *testing.T) {
	tests := []struct {
		n       int
		wantLen int
	}{{-1, 0}, {0, 0}, {1, 1}, {16, 16}, {1000, 1000}}
	for _, tt := range tests {
		got := RandomString(tt.n)
		if len(got) != tt.wantLen {
			t.Errorf("RandomString(%d) has length %d, want %d", tt.n, len(got), tt.wantLen)
		}
		if i := strings.IndexFunc(got, func(r rune) bool { return !strings.ContainsRune(randomAlphabet, r) }); i >= 0 {
			t.Errorf("RandomString(%d) = %q has %q outside the alphabet", tt.n, got, got[i])
		}
	}
	for _, c := range "0Oo1Iil" {
		if strings.ContainsRune(randomAlphabet, c) {
			t.Errorf("alphabet holds look-alike %q", c)
		}
	}
	// Every character shows up in a long string; a skewed generator that
	// never picks some would fail this.
	long := RandomString(20000)
	for _, c := range randomAlphabet {
		if !strings.ContainsRune(long, c) {
			t.Errorf("%q never drawn in 20000 characters", c)
		}
	}
	if RandomString(16) == RandomString(16) {
		t.Error("two random strings are equal")
	}
}

func TestConstantTimeEqual(t *testing.T) {
	tests := []struct {
		a, b []byte
		want bool
	}{
		{nil, nil, true},
		{[]byte{}, nil, true},
		{[]byte("abc"), []byte("abc"), true},
		{[]byte("abc"), []byte("abd"), false},
		{[]byte("abc"), []byte("ab"), false},
		{[]byte("abc"), nil, false},
	}
	for _, tt := range tests {
		if got := ConstantTimeEqual(tt.a, tt.b); got != tt.want {
			t.Errorf("ConstantTimeEqual(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}
