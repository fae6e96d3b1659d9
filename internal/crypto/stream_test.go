package crypto_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"testing"

	"github.com/leadcap/leadcap/internal/crypto"
)

func sealStream(t *testing.T, keys *crypto.KeyRing, name string, plain []byte, writeSize int) []byte {
	t.Helper()
	var out bytes.Buffer
	w, err := crypto.NewSealWriter(&out, keys, name)
	if err != nil {
		t.Fatal(err)
	}
	for p := plain; len(p) > 0; {
		n := min(writeSize, len(p))
		if _, err := w.Write(p[:n]); err != nil {
			t.Fatal(err)
		}
		p = p[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func openStream(keys *crypto.KeyRing, name string, sealed []byte) ([]byte, error) {
	return io.ReadAll(crypto.NewOpenReader(bytes.NewReader(sealed), keys, name))
}

func TestStreamRoundTrip(t *testing.T) {
	keys, _, err := crypto.LoadOrCreate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	const c = crypto.StreamChunkSize
	for _, size := range []int{0, 1, c - 1, c, c + 1, 3*c + 17} {
		plain := make([]byte, size)
		rand.Read(plain)
		for _, ws := range []int{1000, c, 5 * c} {
			sealed := sealStream(t, keys, "export:x", plain, ws)
			if bytes.Contains(sealed, plain[:min(size, 64)]) && size >= 16 {
				t.Fatalf("size %d: plaintext visible in the sealed stream", size)
			}
			got, err := openStream(keys, "export:x", sealed)
			if err != nil {
				t.Fatalf("size %d, writes of %d: %v", size, ws, err)
			}
			if !bytes.Equal(got, plain) {
				t.Fatalf("size %d, writes of %d: got %d bytes back, want %d", size, ws, len(got), size)
			}
		}
	}
}

func TestStreamRefusesTampering(t *testing.T) {
	dir := t.TempDir()
	keys, _, err := crypto.LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	const c = crypto.StreamChunkSize
	plain := make([]byte, 2*c+100)
	rand.Read(plain)
	sealed := sealStream(t, keys, "export:a", plain, c)
	frame := 5 + c + 33 // header and a full sealed chunk
	cases := map[string][]byte{
		"flipped byte":   flip(sealed, 4+frame+100),
		"last cut off":   sealed[:4+2*frame],
		"cut mid-chunk":  sealed[:4+frame+10],
		"no last flag":   setByte(sealed, 4+2*frame, 0),
		"chunks swapped": swap(sealed, 4, 4+frame, frame),
		"data after end": append(append([]byte{}, sealed...), 0),
		"not a stream":   []byte("plain text"),
		"empty":          nil,
	}
	for name, data := range cases {
		got, err := openStream(keys, "export:a", data)
		if !errors.Is(err, crypto.ErrStreamCorrupt) {
			t.Errorf("%s: err = %v (read %d bytes), want ErrStreamCorrupt", name, err, len(got))
		}
	}
	if _, err := openStream(keys, "export:b", sealed); !errors.Is(err, crypto.ErrStreamCorrupt) {
		t.Errorf("opened under another name: err = %v", err)
	}
	// A rotated key ring still opens streams sealed before.
	if _, err := keys.Rotate(dir); err != nil {
		t.Fatal(err)
	}
	rotated, err := crypto.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := openStream(rotated, "export:a", sealed); err != nil || !bytes.Equal(got, plain) {
		t.Errorf("after rotation: %v", err)
	}
}

func flip(b []byte, i int) []byte {
	out := append([]byte{}, b...)
	out[i] ^= 1
	return out
}

// setByte sets byte i to v.
func setByte(b []byte, i int, v byte) []byte {
	out := append([]byte{}, b...)
	out[i] = v
	return out
}

// swap exchanges the n bytes at i and j.
func swap(b []byte, i, j, n int) []byte {
	out := append([]byte{}, b...)
	copy(out[i:i+n], b[j:j+n])
	copy(out[j:j+n], b[i:i+n])
	return out
}
