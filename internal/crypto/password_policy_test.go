package crypto

import (
	"strings"
	"testing"

	"github.com/leadcap/leadcap"
)

func TestCheckPasswordPolicy(t *testing.T) {
	tests := []struct {
		name    string
		pw      string
		wantErr string // "" means accepted
	}{
		{"empty", "", "too short"},
		{"11 characters", "abcdefghijk", "too short"},
		{"12 characters", "tqbfjotld a9", ""},
		{"plain words, no digits or symbols", "purple elephant kitchen", ""},
		{"12 multi-byte characters", "ñandú çafé ü", ""},
		{"11 multi-byte characters, 22 bytes", "ééééééééééé", "too short"},
		{"combining accents count once each after NFKC", strings.Repeat("e\u0301", 11), "too short"},
		{"1024 bytes", strings.Repeat("a", 1023) + "b", ""},
		{"1025 bytes", strings.Repeat("a", 1024) + "b", "too long"},
		{"invalid UTF-8", "twelve chars\xff", "not text"},
		{"common", "password1234", "too common"},
		{"common, other case", "PassWord1234", "too common"},
		{"common, first line of the list", "!@#$%^&*()", "too short"},
		{"common keyboard walk", "qwertyuiopas", "too common"},
		{"common digits", "123456789012", "too common"},
		{"common phrase", "iloveyou1234", "too common"},
		{"common with spaces", "Correct Horse Battery Staple", "too common"},
		{"common in full-width characters", "ｐａｓｓｗｏｒｄ１２３４", "too common"},
		{"common plus one letter", "password1234x", ""},
		{"two common lines joined by a newline", "password1234\nqwertyuiopas", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckPasswordPolicy(tt.pw)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted, want an error containing %q", tt.wantErr)
			}
			if code := leadcap.ErrorCode(err); code != leadcap.EINVALID {
				t.Errorf("code %q, want %q", code, leadcap.EINVALID)
			}
			if msg := leadcap.ErrorMessage(err); !strings.Contains(msg, tt.wantErr) {
				t.Errorf("message %q, want one containing %q", msg, tt.wantErr)
			}
		})
	}
}

func TestCommonPasswordsList(t *testing.T) {
	if !strings.HasSuffix(commonPasswords, "\n") {
		t.Fatal("list does not end with a newline")
	}
	lines := strings.Split(strings.TrimSuffix(commonPasswords, "\n"), "\n")
	if len(lines) < 1000 {
		t.Errorf("%d entries, want at least 1000", len(lines))
	}
	seen := make(map[string]bool, len(lines))
	long := 0
	for i, line := range lines {
		switch {
		case line == "" || strings.TrimSpace(line) != line || strings.Contains(line, "\r"):
			t.Errorf("line %d %q is empty or has surrounding space", i+1, line)
		case strings.ToLower(line) != line:
			t.Errorf("line %d %q is not lower case", i+1, line)
		case seen[line]:
			t.Errorf("line %d %q is a duplicate", i+1, line)
		}
		seen[line] = true
		if len([]rune(line)) >= MinPasswordRunes {
			long++
		}
		if !isCommonPassword(line) {
			t.Errorf("line %d %q is not found by isCommonPassword", i+1, line)
		}
	}
	if long < 1000 {
		t.Errorf("%d entries of %d or more characters, want at least 1000", long, MinPasswordRunes)
	}
}
