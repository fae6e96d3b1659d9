package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
)

// TestReadBack counts the rows of an archive file as its format reads,
// and fails on a file that does not read as its format.
func TestReadBack(t *testing.T) {
	for _, tt := range []struct {
		format, text string
		rows         int64
		bad          bool
	}{
		{"ndjson", "{\"a\":1}\n{\"a\":\"x\\ny\"}\n", 2, false},
		{"ndjson", "", 0, false},
		{"csv", "id,notes\n1,\"two\nlines\"\n2,x\n", 2, false},
		{"csv", "id,notes\n", 0, false},
		{"csv", "id,notes\n1,\"cut short\n", 0, true},
		{"csv", "id,notes\n1\n", 0, true},
		{"json", "[\n{\"a\":1},\n{\"a\":[1,2]}\n]\n", 2, false},
		{"json", "[]\n", 0, false},
		{"json", "[\n{\"a\":1},\n{\"a\":", 0, true},
	} {
		path := filepath.Join(t.TempDir(), "archive")
		if err := os.WriteFile(path, []byte(tt.text), 0o600); err != nil {
			t.Fatal(err)
		}
		rows, size, sum, err := readBack(path, tt.format)
		if tt.bad {
			if err == nil {
				t.Errorf("%s %q: no error, %d rows", tt.format, tt.text, rows)
			}
			continue
		}
		want := sha256.Sum256([]byte(tt.text))
		if err != nil || rows != tt.rows || size != int64(len(tt.text)) || sum != hex.EncodeToString(want[:]) {
			t.Errorf("%s %q: %d rows, %d bytes, %s, %v; want %d rows", tt.format, tt.text, rows, size, sum, err, tt.rows)
		}
	}
}
