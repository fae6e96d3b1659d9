package crypto

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"
)

// KeyFileName is the name of the key file inside a key directory. The file
// holds every key in cleartext: it is the secret that protects all personal
// data. Keep it readable by the leadcap user only (mode 0600), back it up
// apart from the database and blob backups (a backup without it cannot be
// read, and a backup with it is not protected), and never commit or log it.
const KeyFileName = "keys.json"

// keyFileVersion is the format version written to and required in the key file.
const keyFileVersion = 1

// maxKeyFileSize bounds how much is read from the key file; a real one is a
// few kilobytes even after many rotations.
const maxKeyFileSize = 1 << 20

// keyFile is the JSON layout of the key file: two tink JSON keysets, and
// when each AEAD key was added, by key id in decimal. AddedAt came later
// than version 1: a file without it still loads, its keys' times unknown,
// and an older leadcap reading a file with it ignores it.
type keyFile struct {
	Version int                  `json:"version"`
	AEAD    json.RawMessage      `json:"aead"`
	Index   json.RawMessage      `json:"index"`
	AddedAt map[string]time.Time `json:"added_at,omitempty"`
}

// errKeyFileExists is returned by writeKeyFile in create mode when another
// process created the key file first.
var errKeyFileExists = errors.New("key file already exists")

// readKeyFile reads and parses the key file at path. It refuses a file whose
// permissions let anyone but its owner read or write it. A missing file
// gives an error that wraps fs.ErrNotExist. info describes the file read,
// whenever it could be opened, even if its content was refused.
func readKeyFile(path string) (ks keySets, info fs.FileInfo, err error) {
	f, err := os.Open(path)
	if err != nil {
		return keySets{}, nil, err
	}
	defer f.Close()
	// Stat the open file, not the path, so the mode checked is the mode of
	// the bytes read.
	info, err = f.Stat()
	if err != nil {
		return keySets{}, nil, err
	}
	// Windows has no Unix permission bits; access there is by ACL.
	if perm := info.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return keySets{}, info, fmt.Errorf("%s has mode %04o, want 0600 or stricter because it holds secret keys (chmod 600 %s)",
			path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return keySets{}, info, err
	}
	if len(data) > maxKeyFileSize {
		return keySets{}, info, fmt.Errorf("%s is larger than %d bytes", path, maxKeyFileSize)
	}
	ks, err = parseKeyFile(path, data)
	return ks, info, err
}

// sameFile reports whether a and b describe the same, unchanged key file.
// writeKeyFile replaces the file by rename, so a changed key file is a new
// file; size and time catch one rewritten in place.
func sameFile(a, b fs.FileInfo) bool {
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

// parseKeyFile decodes the key file's bytes and checks both keysets.
func parseKeyFile(path string, data []byte) (keySets, error) {
	var kf keyFile
	if err := json.Unmarshal(data, &kf); err != nil {
		return keySets{}, fmt.Errorf("%s: %w", path, err)
	}
	if kf.Version != keyFileVersion {
		return keySets{}, fmt.Errorf("%s: version %d, want %d", path, kf.Version, keyFileVersion)
	}
	aeadKH, err := readKeyset(kf.AEAD)
	if err != nil {
		return keySets{}, fmt.Errorf("%s: aead keyset: %w", path, err)
	}
	indexKH, err := readKeyset(kf.Index)
	if err != nil {
		return keySets{}, fmt.Errorf("%s: index keyset: %w", path, err)
	}
	if err := checkAEADKeyset(aeadKH); err != nil {
		return keySets{}, fmt.Errorf("%s: aead keyset: %w", path, err)
	}
	if err := checkIndexKeyset(indexKH); err != nil {
		return keySets{}, fmt.Errorf("%s: index keyset: %w", path, err)
	}
	added := make(map[uint32]time.Time, len(kf.AddedAt))
	for id, at := range kf.AddedAt {
		n, err := strconv.ParseUint(id, 10, 32)
		if err != nil {
			return keySets{}, fmt.Errorf("%s: added_at: %q is not a key id", path, id)
		}
		added[uint32(n)] = at
	}
	return keySets{aead: aeadKH, index: indexKH, added: added}, nil
}

// readKeyset parses one cleartext tink JSON keyset.
func readKeyset(raw json.RawMessage) (*keyset.Handle, error) {
	if len(raw) == 0 {
		return nil, errors.New("missing")
	}
	return insecurecleartextkeyset.Read(keyset.NewJSONReader(bytes.NewReader(raw)))
}

// writeKeyset serialises one keyset as cleartext tink JSON.
func writeKeyset(h *keyset.Handle) (json.RawMessage, error) {
	var buf bytes.Buffer
	if err := insecurecleartextkeyset.Write(h, keyset.NewJSONWriter(&buf)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeKeyFile writes ks to dir/keys.json atomically with mode 0600: a
// temporary file in dir is written, synced, moved into place and the
// directory synced, so a crash leaves either the old file or the new one.
//
// With create set, an existing key file is never replaced: the temporary file
// is hard-linked into place, and errKeyFileExists is returned if another
// process got there first. Without create, the file is replaced by rename.
func writeKeyFile(dir string, ks keySets, create bool) (err error) {
	aeadJSON, err := writeKeyset(ks.aead)
	if err != nil {
		return fmt.Errorf("aead keyset: %w", err)
	}
	indexJSON, err := writeKeyset(ks.index)
	if err != nil {
		return fmt.Errorf("index keyset: %w", err)
	}
	kf := keyFile{Version: keyFileVersion, AEAD: aeadJSON, Index: indexJSON}
	for id, at := range ks.added {
		if hasKey(ks.aead, id) {
			if kf.AddedAt == nil {
				kf.AddedAt = make(map[string]time.Time, len(ks.added))
			}
			kf.AddedAt[strconv.FormatUint(uint64(id), 10)] = at.UTC()
		}
	}
	data, err := json.MarshalIndent(kf, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')

	// os.CreateTemp creates the file with mode 0600.
	tmp, err := os.CreateTemp(dir, "."+KeyFileName+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		// After a link the temporary name is only a second name; after a
		// rename it no longer exists. Either way it must not be left behind.
		if rmErr := os.Remove(tmp.Name()); rmErr != nil && !errors.Is(rmErr, fs.ErrNotExist) && err == nil {
			err = rmErr
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}

	path := filepath.Join(dir, KeyFileName)
	if create {
		linkErr := os.Link(tmp.Name(), path)
		switch {
		case errors.Is(linkErr, fs.ErrExist):
			return errKeyFileExists
		case linkErr != nil:
			// Some file systems have no hard links; fall back to rename,
			// which cannot detect a racing creator.
			if err := os.Rename(tmp.Name(), path); err != nil {
				return err
			}
		}
	} else if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir makes a rename or link in dir durable.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		// Directories cannot be opened for sync on Windows; NTFS journals
		// the rename itself.
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// lockKeyDir takes an exclusive lock on the key file for a read-modify-write
// such as a rotation, by creating dir/keys.json.lock. The lock works across
// processes and file systems but is not released by a crash: the error names
// the file to remove if no rotation is running.
func lockKeyDir(dir string) (unlock func() error, err error) {
	path := filepath.Join(dir, KeyFileName+".lock")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("%s exists: another key change is running, or one crashed (then remove the file)", path)
	}
	if err != nil {
		return nil, err
	}
	_, werr := fmt.Fprintf(f, "pid %d\n", os.Getpid())
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(path)
		return nil, err
	}
	return func() error { return os.Remove(path) }, nil
}
