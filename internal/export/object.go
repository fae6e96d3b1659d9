package export

import (
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/leadcap/leadcap/internal/crypto"
)

// OpenObject returns a reader of the plaintext of an export as stored at
// key (ObjectKey) and read from r. It decrypts as it is read, and its Read
// fails if the stored file was cut short, changed, or is another export's.
func OpenObject(r io.Reader, keys *crypto.KeyRing, key string) (io.Reader, error) {
	id, _, ok := strings.Cut(path.Base(key), ".")
	if !strings.HasPrefix(key, "exports/") || !ok || id == "" {
		return nil, fmt.Errorf("export: %q is not where an export is stored (exports/YYYY/MM/DD/<id>.<format>)", key)
	}
	return crypto.NewOpenReader(r, keys, streamName(id)), nil
}
