package crypto

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// mustKeyRing creates a key ring in a fresh directory.
func mustKeyRing(t testing.TB) (*KeyRing, string) {
	t.Helper()
	dir := t.TempDir()
	r, created, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !created {
		t.Fatal("LoadOrCreate in an empty directory: created = false")
	}
	return r, dir
}

// mustLoad loads the key ring in dir.
func mustLoad(t *testing.T, dir string) *KeyRing {
	t.Helper()
	r, created, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if created {
		t.Fatal("LoadOrCreate of an existing key file: created = true")
	}
	return r
}

// mustSeal seals or fails the test.
func mustSeal(t *testing.T, r *KeyRing, plaintext, ad []byte) []byte {
	t.Helper()
	ct, err := r.Seal(plaintext, ad)
	if err != nil {
		t.Fatal(err)
	}
	return ct
}

func TestSealOpen(t *testing.T) {
	r, _ := mustKeyRing(t)
	tests := []struct {
		name      string
		plaintext []byte
		ad        []byte
	}{
		{"empty", []byte{}, nil},
		{"email", []byte("ada@example.com"), []byte("lead:42:email")},
		{"unicode", []byte("Zoë Ünal, 東京"), []byte("lead:43:name")},
		{"500 bytes", bytes.Repeat([]byte("x"), 500), []byte("lead:44:notes")},
		{"binary", []byte{0, 1, 2, 255}, []byte{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct := mustSeal(t, r, tt.plaintext, tt.ad)
			got, err := r.Open(ct, tt.ad)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.plaintext) {
				t.Errorf("Open = %q, want %q", got, tt.plaintext)
			}
			if id, err := KeyID(ct); err != nil || id != r.PrimaryKeyID() {
				t.Errorf("KeyID = %d, %v; want %d", id, err, r.PrimaryKeyID())
			}
		})
	}
}

func TestOpenFails(t *testing.T) {
	r, _ := mustKeyRing(t)
	other, _ := mustKeyRing(t)
	plaintext, ad := []byte("ada@example.com"), []byte("lead:42:email")
	ct := mustSeal(t, r, plaintext, ad)
	flip := func(i int) []byte {
		c := bytes.Clone(ct)
		c[i] ^= 0x01
		return c
	}
	tests := []struct {
		name    string
		ct      []byte
		ad      []byte
		wantErr string
	}{
		{"wrong associated data", ct, []byte("lead:43:email"), "decryption failed"},
		{"no associated data", ct, nil, "decryption failed"},
		{"tampered key id", flip(4), ad, "not in the key ring"},
		{"tampered nonce", flip(6), ad, "decryption failed"},
		{"tampered body", flip(20), ad, "decryption failed"},
		{"tampered tag", flip(len(ct) - 1), ad, "decryption failed"},
		{"truncated", ct[:len(ct)-1], ad, "decryption failed"},
		{"prefix only", ct[:5], ad, "decryption failed"},
		{"too short", ct[:3], ad, "shorter than"},
		{"empty", nil, ad, "shorter than"},
		{"sealed by another key ring", mustSeal(t, other, plaintext, ad), ad, "not in the key ring"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.Open(tt.ct, tt.ad)
			if err == nil {
				t.Fatalf("Open = %q, want an error", got)
			}
			if !strings.HasPrefix(err.Error(), "crypto: open: ") || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestSealHidesPlaintext(t *testing.T) {
	r, _ := mustKeyRing(t)
	plaintext := []byte("ada.lovelace@example.com")
	a := mustSeal(t, r, plaintext, nil)
	b := mustSeal(t, r, plaintext, nil)
	for _, ct := range [][]byte{a, b} {
		if bytes.Contains(ct, plaintext) || bytes.Contains(ct, []byte("lovelace")) {
			t.Errorf("ciphertext %x contains the plaintext", ct)
		}
	}
	if bytes.Equal(a, b) {
		t.Error("two seals of the same plaintext are equal; want a fresh nonce each time")
	}
}

func TestRotate(t *testing.T) {
	r, dir := mustKeyRing(t)
	oldID := r.PrimaryKeyID()
	ad := []byte("lead:1:email")
	before := mustSeal(t, r, []byte("before"), ad)

	newID, err := r.Rotate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if newID == oldID {
		t.Fatalf("Rotate returned the old key id %d", oldID)
	}
	if got := r.PrimaryKeyID(); got != newID {
		t.Errorf("PrimaryKeyID = %d, want %d", got, newID)
	}
	after := mustSeal(t, r, []byte("after"), ad)

	reloaded := mustLoad(t, dir)
	for name, ring := range map[string]*KeyRing{"same ring": r, "reloaded": reloaded} {
		t.Run(name, func(t *testing.T) {
			for _, tt := range []struct {
				ct     []byte
				wantID uint32
				want   string
			}{
				{before, oldID, "before"},
				{after, newID, "after"},
			} {
				if id, err := KeyID(tt.ct); err != nil || id != tt.wantID {
					t.Errorf("KeyID(%s) = %d, %v; want %d", tt.want, id, err, tt.wantID)
				}
				got, err := ring.Open(tt.ct, ad)
				if err != nil || string(got) != tt.want {
					t.Errorf("Open(%s) = %q, %v", tt.want, got, err)
				}
			}
			if got := ring.PrimaryKeyID(); got != newID {
				t.Errorf("PrimaryKeyID = %d, want %d", got, newID)
			}
			want := []KeyInfo{{ID: oldID, Status: "Enabled"}, {ID: newID, Status: "Enabled", Primary: true}}
			got := ring.Keys()
			for i := range got {
				if got[i].AddedAt.IsZero() || time.Since(got[i].AddedAt) > time.Hour {
					t.Errorf("key %d: AddedAt = %v, want about now", got[i].ID, got[i].AddedAt)
				}
				got[i].AddedAt = time.Time{}
			}
			if !equalKeyInfos(got, want) {
				t.Errorf("Keys = %+v, want %+v", got, want)
			}
		})
	}
}

func TestRotateKeepsKeysOfOtherProcess(t *testing.T) {
	// Two rings loaded from the same file stand for two processes.
	a, dir := mustKeyRing(t)
	b := mustLoad(t, dir)
	idA, err := a.Rotate(dir)
	if err != nil {
		t.Fatal(err)
	}
	ct := mustSeal(t, a, []byte("x"), nil)
	if _, err := b.Rotate(dir); err != nil {
		t.Fatal(err)
	}
	if got := len(b.Keys()); got != 3 {
		t.Errorf("after two rotations by two rings: %d keys, want 3", got)
	}
	if _, err := b.Open(ct, nil); err != nil {
		t.Errorf("ring b cannot open data sealed with key %d that ring a added: %v", idA, err)
	}
}

func TestRotateRefuses(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, dir string)
		wantErr string
	}{
		{"foreign key file", func(t *testing.T, dir string) {
			_, other := mustKeyRing(t)
			data, err := os.ReadFile(filepath.Join(other, KeyFileName))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, KeyFileName), data, 0o600); err != nil {
				t.Fatal(err)
			}
		}, "is missing; refusing to overwrite"},
		{"lock held", func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, KeyFileName+".lock"), nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}, "keys.json.lock exists"},
		{"key file gone", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, KeyFileName)); err != nil {
				t.Fatal(err)
			}
		}, "keys.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, dir := mustKeyRing(t)
			primary := r.PrimaryKeyID()
			tt.prepare(t, dir)
			_, err := r.Rotate(dir)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Rotate error = %v, want one containing %q", err, tt.wantErr)
			}
			if r.PrimaryKeyID() != primary {
				t.Error("a failed Rotate changed the primary key")
			}
		})
	}
}

func TestBlindIndex(t *testing.T) {
	r, dir := mustKeyRing(t)
	email := r.BlindIndex("email", "ada@example.com")
	if len(email) != BlindIndexSize {
		t.Fatalf("len = %d, want %d", len(email), BlindIndexSize)
	}
	if _, err := r.Rotate(dir); err != nil {
		t.Fatal(err)
	}
	reloaded := mustLoad(t, dir)
	other, _ := mustKeyRing(t)

	tests := []struct {
		name        string
		ring        *KeyRing
		kind, value string
		same        bool
	}{
		{"same ring, same input", r, "email", "ada@example.com", true},
		{"after rotation and reload", reloaded, "email", "ada@example.com", true},
		{"other kind", r, "phone", "ada@example.com", false},
		{"other value", r, "email", "ada@example.org", false},
		{"case is not folded", r, "email", "Ada@example.com", false},
		{"kind and value boundary", r, "emai", "lada@example.com", false},
		{"other key ring", other, "email", "ada@example.com", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.ring.BlindIndex(tt.kind, tt.value)
			if bytes.Equal(got, email) != tt.same {
				t.Errorf("BlindIndex(%q, %q) = %x; equal to %x is %v, want %v", tt.kind, tt.value, got, email, !tt.same, tt.same)
			}
		})
	}
}

func TestKeyID(t *testing.T) {
	tests := []struct {
		name    string
		ct      []byte
		want    uint32
		wantErr bool
	}{
		{"tink prefix", []byte{1, 0x12, 0x34, 0x56, 0x78, 9, 9}, 0x12345678, false},
		{"prefix only", []byte{1, 0, 0, 0, 7}, 7, false},
		{"legacy prefix", []byte{0, 0, 0, 0, 7, 9}, 0, true},
		{"too short", []byte{1, 0, 0, 7}, 0, true},
		{"empty", nil, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := KeyID(tt.ct)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("KeyID(%x) = %d, %v; want %d, error %v", tt.ct, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestConcurrentSealOpen(t *testing.T) {
	r, dir := mustKeyRing(t)
	const workers, perWorker = 16, 50
	var wg sync.WaitGroup
	errs := make(chan error, workers+1)
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				pt := []byte(strings.Repeat("lead", w+i))
				ad := []byte{byte(w), byte(i)}
				ct, err := r.Seal(pt, ad)
				if err != nil {
					errs <- err
					return
				}
				got, err := r.Open(ct, ad)
				if err != nil {
					errs <- err
					return
				}
				if !bytes.Equal(got, pt) {
					errs <- errors.New("round trip changed the plaintext")
					return
				}
				r.BlindIndex("email", string(pt))
				r.Keys()
			}
		})
	}
	// A rotation in the middle must not disturb sealing or opening.
	wg.Go(func() {
		if _, err := r.Rotate(dir); err != nil {
			errs <- err
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func BenchmarkSeal(b *testing.B) {
	r, _ := mustKeyRing(b)
	pt := bytes.Repeat([]byte("a"), 500)
	ad := []byte("lead:0123456789:notes")
	b.SetBytes(int64(len(pt)))
	for b.Loop() {
		if _, err := r.Seal(pt, ad); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	r, _ := mustKeyRing(b)
	pt := bytes.Repeat([]byte("a"), 500)
	ad := []byte("lead:0123456789:notes")
	ct, err := r.Seal(pt, ad)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(pt)))
	for b.Loop() {
		if _, err := r.Open(ct, ad); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBlindIndex(b *testing.B) {
	r, _ := mustKeyRing(b)
	for b.Loop() {
		r.BlindIndex("email", "ada.lovelace@example.com")
	}
}
