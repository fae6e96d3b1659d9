package crypto

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/prf"
)

func TestKeyFileMode(t *testing.T) {
	r, dir := mustKeyRing(t)
	path := filepath.Join(dir, KeyFileName)
	check := func(when string) {
		t.Helper()
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s: mode %04o, want 0600", when, perm)
		}
	}
	check("after create")
	if _, err := r.Rotate(dir); err != nil {
		t.Fatal(err)
	}
	check("after rotate")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != KeyFileName {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want only %s (no temporary or lock files)", names, KeyFileName)
	}
}

func TestLoadOrCreateMakesDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "keys")
	if _, created, err := LoadOrCreate(dir); err != nil || !created {
		t.Fatalf("LoadOrCreate = %v, %v; want created", created, err)
	}
	info, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o700 {
		t.Errorf("created directory has mode %04o, want 0700", perm)
	}
}

func TestLoadRefusesOpenMode(t *testing.T) {
	tests := []struct {
		mode    fs.FileMode
		wantErr bool
	}{
		{0o600, false},
		{0o400, false},
		{0o644, true},
		{0o640, true},
		{0o604, true},
		{0o660, true},
		{0o666, true},
	}
	for _, tt := range tests {
		t.Run(tt.mode.String(), func(t *testing.T) {
			_, dir := mustKeyRing(t)
			path := filepath.Join(dir, KeyFileName)
			if err := os.Chmod(path, tt.mode); err != nil {
				t.Fatal(err)
			}
			_, _, err := LoadOrCreate(dir)
			if !tt.wantErr {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("LoadOrCreate accepted a key file others can access")
			}
			for _, want := range []string{path, "mode " + octal(tt.mode)} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

// octal formats a permission as the error does, e.g. "0644".
func octal(m fs.FileMode) string {
	const digits = "01234567"
	p := uint32(m.Perm())
	return string([]byte{'0', digits[p>>6&7], digits[p>>3&7], digits[p&7]})
}

func TestLoadRejectsBadFile(t *testing.T) {
	rawAEAD := func(t *testing.T) keySets {
		h, err := keyset.NewHandle(aead.AES256GCMNoPrefixKeyTemplate())
		if err != nil {
			t.Fatal(err)
		}
		ks, err := newKeySets(time.Now())
		if err != nil {
			t.Fatal(err)
		}
		ks.aead = h
		return ks
	}
	aes128 := func(t *testing.T) keySets {
		h, err := keyset.NewHandle(aead.AES128GCMKeyTemplate())
		if err != nil {
			t.Fatal(err)
		}
		ks, _ := newKeySets(time.Now())
		ks.aead = h
		return ks
	}
	twoIndexKeys := func(t *testing.T) keySets {
		ks, _ := newKeySets(time.Now())
		m := keyset.NewManagerFromHandle(ks.index)
		if _, err := m.Add(prf.HMACSHA256PRFKeyTemplate()); err != nil {
			t.Fatal(err)
		}
		h, err := m.Handle()
		if err != nil {
			t.Fatal(err)
		}
		ks.index = h
		return ks
	}
	sha512Index := func(t *testing.T) keySets {
		ks, _ := newKeySets(time.Now())
		h, err := keyset.NewHandle(prf.HMACSHA512PRFKeyTemplate())
		if err != nil {
			t.Fatal(err)
		}
		ks.index = h
		return ks
	}
	tests := []struct {
		name    string
		content string
		keys    func(t *testing.T) keySets
		wantErr string
	}{
		{name: "empty", content: "", wantErr: "unexpected end of JSON"},
		{name: "not json", content: "aead=1", wantErr: "invalid character"},
		{name: "wrong version", content: `{"version":2}`, wantErr: "version 2, want 1"},
		{name: "no keysets", content: `{"version":1}`, wantErr: "aead keyset: missing"},
		{name: "bad keyset", content: `{"version":1,"aead":{"key":[]},"index":{}}`, wantErr: "aead keyset"},
		{name: "aead key without prefix", keys: rawAEAD, wantErr: "not AES256-GCM with TINK prefix"},
		{name: "aead key of 128 bits", keys: aes128, wantErr: "not AES256-GCM with TINK prefix"},
		{name: "two index keys", keys: twoIndexKeys, wantErr: "has 2 keys, want exactly 1"},
		{name: "index key not SHA-256", keys: sha512Index, wantErr: "not an enabled HMAC-SHA256 PRF key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.keys != nil {
				if err := writeKeyFile(dir, tt.keys(t), true); err != nil {
					t.Fatal(err)
				}
			} else if err := os.WriteFile(filepath.Join(dir, KeyFileName), []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, _, err := LoadOrCreate(dir)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "crypto: load keys: ") {
				t.Fatalf("LoadOrCreate error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestLoadMissing(t *testing.T) {
	_, err := Load(t.TempDir())
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load of an empty directory: %v, want fs.ErrNotExist", err)
	}
}

func TestCreateDoesNotClobber(t *testing.T) {
	// A process that loses the race to create the key file must use the
	// winner's file, not replace it.
	winner, dir := mustKeyRing(t)
	ks, err := newKeySets(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := writeKeyFile(dir, ks, true); !errors.Is(err, errKeyFileExists) {
		t.Fatalf("writeKeyFile over an existing file: %v, want errKeyFileExists", err)
	}
	loaded := mustLoad(t, dir)
	if loaded.PrimaryKeyID() != winner.PrimaryKeyID() {
		t.Error("the key file was replaced")
	}
}
