package crypto

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/prf"
	"github.com/tink-crypto/tink-go/v2/tink"
)

// BlindIndexSize is the length in bytes of a blind index.
const BlindIndexSize = 32

// KeyIDPrefixSize is the length of the prefix tink puts on every ciphertext
// made with a TINK-prefixed key: one version byte (1) and the key id, big
// endian. KeyID reads it.
const KeyIDPrefixSize = 5

// tinkPrefixByte is the first byte of a TINK-prefixed ciphertext.
const tinkPrefixByte = 1

// KeyRing encrypts personal data and computes blind indexes of it. It holds
// two independent tink keysets, stored together in one key file:
//
//   - the AEAD keyset: AES256-GCM keys with TINK output prefix, so each
//     ciphertext starts with the 5-byte id of the key that sealed it. Seal
//     uses the primary key; Open uses whichever key the ciphertext names, so
//     data sealed before a rotation stays readable.
//   - the index keyset: one HMAC-SHA256 PRF key for blind indexes. It is
//     never rotated, so an index computed today matches one computed years
//     ago; rotating it would mean recomputing every stored index.
//
// A key ring loaded from a key file follows that file: Refresh picks up a
// rotation made by another process, and Open does so by itself when it
// meets a key it does not hold.
//
// A KeyRing is safe for concurrent use, including Rotate and Refresh
// alongside Seal and Open.
type KeyRing struct {
	keys  atomic.Pointer[aeadKeys] // replaced whole by Rotate and Refresh
	index *keyset.Handle
	prf   prf.PRF

	dir  string      // the key file's directory, for Refresh
	mu   sync.Mutex  // serialises Rotate and Refresh
	file fs.FileInfo // the key file as last read by Refresh; guarded by mu
}

// aeadKeys is one immutable generation of the AEAD keyset.
type aeadKeys struct {
	handle    *keyset.Handle
	aead      tink.AEAD
	primaryID uint32
	added     map[uint32]time.Time
}

// KeyInfo describes one AEAD key of a KeyRing, without its secret.
type KeyInfo struct {
	ID      uint32    // the id carried by every ciphertext this key seals
	Status  string    // tink's key status: "Enabled", "Disabled" or "Destroyed"
	Primary bool      // whether Seal uses this key
	AddedAt time.Time // when the key was made; zero if the key file predates recording it
}

// Load reads the key ring in dir/keys.json. It fails if the file is missing,
// has a mode more open than 0600, or holds keys of an unexpected kind. Use
// Load rather than LoadOrCreate where a fresh key ring would be a mistake,
// such as a second server that must share the first one's keys.
func Load(dir string) (*KeyRing, error) {
	ks, info, err := readKeyFile(filepath.Join(dir, KeyFileName))
	if err != nil {
		return nil, fmt.Errorf("crypto: load keys: %w", err)
	}
	r, err := newKeyRing(ks, dir)
	if err != nil {
		return nil, fmt.Errorf("crypto: load keys: %w", err)
	}
	r.file = info
	return r, nil
}

// LoadOrCreate reads the key ring in dir/keys.json, or, if there is no such
// file, generates a new key ring and writes it there with mode 0600 (creating
// dir with mode 0700 if needed). created reports whether it generated one.
// Like Load, it refuses a key file with a mode more open than 0600.
//
// The key file is stored in cleartext: whoever reads it can decrypt every
// lead, and whoever loses it loses every lead. Protect it like a password
// database and back it up apart from the data it protects.
//
// If two processes create the key file at once, both end up with the one
// that was written first.
func LoadOrCreate(dir string) (r *KeyRing, created bool, err error) {
	r, err = Load(dir)
	if err == nil {
		return r, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, fmt.Errorf("crypto: create keys: %w", err)
	}
	ks, err := newKeySets(time.Now())
	if err != nil {
		return nil, false, fmt.Errorf("crypto: create keys: %w", err)
	}
	r, err = newKeyRing(ks, dir)
	if err != nil {
		return nil, false, fmt.Errorf("crypto: create keys: %w", err)
	}
	err = writeKeyFile(dir, ks, true)
	if errors.Is(err, errKeyFileExists) {
		r, err = Load(dir)
		return r, false, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("crypto: create keys: %w", err)
	}
	return r, true, nil
}

// newKeyRing builds a KeyRing from checked keysets read from (or to be
// written to) the key file in dir.
func newKeyRing(ks keySets, dir string) (*KeyRing, error) {
	keys, err := newAEADKeys(ks.aead, ks.added)
	if err != nil {
		return nil, err
	}
	set, err := prf.NewPRFSet(ks.index)
	if err != nil {
		return nil, fmt.Errorf("index keyset: %w", err)
	}
	p, ok := set.PRFs[set.PrimaryID]
	if !ok {
		return nil, errors.New("index keyset: no primary key")
	}
	// BlindIndex cannot return an error, so prove here that it will not need to.
	if _, err := p.ComputePRF(nil, BlindIndexSize); err != nil {
		return nil, fmt.Errorf("index keyset: %w", err)
	}
	r := &KeyRing{index: ks.index, prf: p, dir: dir}
	r.keys.Store(keys)
	return r, nil
}

// newAEADKeys builds the AEAD primitive of a checked AEAD keyset, whose
// keys were added at the times in added.
func newAEADKeys(h *keyset.Handle, added map[uint32]time.Time) (*aeadKeys, error) {
	primary, err := h.Primary()
	if err != nil {
		return nil, fmt.Errorf("aead keyset: %w", err)
	}
	a, err := aead.New(h)
	if err != nil {
		return nil, fmt.Errorf("aead keyset: %w", err)
	}
	return &aeadKeys{handle: h, aead: a, primaryID: primary.KeyID(), added: added}, nil
}

// Seal encrypts plaintext with the primary key, binding it to associatedData
// (which is authenticated but not encrypted, and must be given again to
// Open). Use associatedData to tie a ciphertext to its place, such as the
// lead id and field name, so it cannot be moved to another row or column.
// The result starts with the 5-byte id of the key used (see KeyID).
func (r *KeyRing) Seal(plaintext, associatedData []byte) ([]byte, error) {
	ct, err := r.keys.Load().aead.Encrypt(plaintext, associatedData)
	if err != nil {
		return nil, fmt.Errorf("crypto: seal: %w", err)
	}
	return ct, nil
}

// Open decrypts a ciphertext made by Seal with any key of the ring, current
// or retired, and checks it against associatedData. It fails if the
// ciphertext was changed, the associated data differs, or the key that
// sealed it is not in the ring even after a Refresh (which Open does once
// when it meets a key it does not hold: another process may have rotated).
func (r *KeyRing) Open(ciphertext, associatedData []byte) ([]byte, error) {
	keys := r.keys.Load()
	pt, err := keys.aead.Decrypt(ciphertext, associatedData)
	if err == nil {
		return pt, nil
	}
	// Say which of the likely causes it was: the key is the one an operator can fix.
	id, idErr := KeyID(ciphertext)
	if idErr != nil {
		return nil, fmt.Errorf("crypto: open: %w", idErr)
	}
	if !hasKey(keys.handle, id) {
		// Another Open may have refreshed already: look at the ring, not at changed.
		if _, rerr := r.Refresh(); rerr != nil {
			return nil, fmt.Errorf("crypto: open: key %d is not in the key ring (%w)", id, rerr)
		}
		if keys = r.keys.Load(); !hasKey(keys.handle, id) {
			return nil, fmt.Errorf("crypto: open: key %d is not in the key ring", id)
		}
		if pt, err = keys.aead.Decrypt(ciphertext, associatedData); err == nil {
			return pt, nil
		}
	}
	return nil, fmt.Errorf("crypto: open: key %d: %w", id, err)
}

// BlindIndex returns a deterministic keyed 32-byte digest of value, for
// looking up and de-duplicating encrypted data (such as a lead's email)
// without decrypting it. kind separates domains: the same value gives
// unrelated indexes under "email" and "phone". The index depends only on the
// index key, which never rotates, so it is stable across restarts and
// rotations of the encryption keys.
//
// BlindIndex does not normalise value: callers must pass the canonical form
// (for an email, the normalised lower-case address), or equal values will
// get different indexes.
func (r *KeyRing) BlindIndex(kind, value string) []byte {
	// Prefixing the kind's length keeps ("ab", "c") and ("a", "bc") apart.
	msg := make([]byte, 0, 4+len(kind)+len(value))
	msg = binary.BigEndian.AppendUint32(msg, uint32(len(kind)))
	msg = append(msg, kind...)
	msg = append(msg, value...)
	out, err := r.prf.ComputePRF(msg, BlindIndexSize)
	if err != nil {
		// newKeyRing checked that the key computes 32 bytes; HMAC cannot
		// fail otherwise.
		panic(fmt.Sprintf("crypto: blind index: %v", err))
	}
	return out
}

// Rotate adds a new AES256-GCM key to the ring in dir/keys.json, makes it the
// primary key for Seal, keeps every older key for Open, and writes the file
// atomically. It returns the new key's id.
//
// Rotate works from the file on disk, not from memory, so it never drops a
// key another process added; it refuses if the file lacks a key this ring
// holds (say, the file was replaced by an unrelated one), or if another key
// change holds dir/keys.json.lock. Other processes using the key file see the
// new key only after they load it again; until then they seal with the old
// primary key, which remains valid.
//
// Rotate does not re-encrypt existing data.
func (r *KeyRing) Rotate(dir string) (newKeyID uint32, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	unlock, err := lockKeyDir(dir)
	if err != nil {
		return 0, fmt.Errorf("crypto: rotate keys: %w", err)
	}
	defer func() {
		if uerr := unlock(); uerr != nil && err == nil {
			err = fmt.Errorf("crypto: rotate keys: unlock: %w", uerr)
		}
	}()

	ks, _, err := readKeyFile(filepath.Join(dir, KeyFileName))
	if err != nil {
		return 0, fmt.Errorf("crypto: rotate keys: %w", err)
	}
	if err := containsKeys(ks.aead, r.keys.Load().handle); err != nil {
		return 0, fmt.Errorf("crypto: rotate keys: %s: %w", KeyFileName, err)
	}
	if err := containsKeys(ks.index, r.index); err != nil {
		return 0, fmt.Errorf("crypto: rotate keys: %s: index %w", KeyFileName, err)
	}

	m := keyset.NewManagerFromHandle(ks.aead)
	id, err := m.Add(aead.AES256GCMKeyTemplate())
	if err != nil {
		return 0, fmt.Errorf("crypto: rotate keys: %w", err)
	}
	if err := m.SetPrimary(id); err != nil {
		return 0, fmt.Errorf("crypto: rotate keys: %w", err)
	}
	h, err := m.Handle()
	if err != nil {
		return 0, fmt.Errorf("crypto: rotate keys: %w", err)
	}
	added := make(map[uint32]time.Time, len(ks.added)+1)
	for k, at := range ks.added {
		added[k] = at
	}
	added[id] = time.Now()
	keys, err := newAEADKeys(h, added)
	if err != nil {
		return 0, fmt.Errorf("crypto: rotate keys: %w", err)
	}
	if err := writeKeyFile(dir, keySets{aead: h, index: ks.index, added: added}, false); err != nil {
		return 0, fmt.Errorf("crypto: rotate keys: %w", err)
	}
	r.keys.Store(keys)
	return id, nil
}

// Refresh loads the key file the ring was loaded from again if it changed
// since it was last read (another process rotated the keys), so that Seal
// uses the file's primary key and Open reads data sealed with any of its
// keys. It reports whether the ring's keys changed.
//
// Refresh never drops a key: a file that cannot be read or parsed, that
// lacks a key the ring holds, or that has another index key is refused with
// an error, and the ring keeps the keys it had. Such a file is not read
// again until it changes, so a caller that refreshes on a timer reports a
// bad file once. Checking an unchanged file costs one stat.
func (r *KeyRing) Refresh() (changed bool, err error) {
	if r.dir == "" {
		return false, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	path := filepath.Join(r.dir, KeyFileName)
	if r.file != nil {
		if info, err := os.Stat(path); err == nil && sameFile(r.file, info) {
			return false, nil
		}
	}
	ks, info, err := readKeyFile(path)
	if info != nil {
		r.file = info
	}
	if err != nil {
		return false, fmt.Errorf("crypto: reload keys: %w", err)
	}
	cur := r.keys.Load()
	if err := containsKeys(ks.aead, cur.handle); err != nil {
		return false, fmt.Errorf("crypto: reload keys: %s: %w", path, err)
	}
	if err := containsKeys(ks.index, r.index); err != nil {
		return false, fmt.Errorf("crypto: reload keys: %s: index %w", path, err)
	}
	keys, err := newAEADKeys(ks.aead, ks.added)
	if err != nil {
		return false, fmt.Errorf("crypto: reload keys: %s: %w", path, err)
	}
	if equalKeyInfos(keyInfos(cur), keyInfos(keys)) {
		return false, nil
	}
	r.keys.Store(keys)
	return true, nil
}

// PrimaryKeyID returns the id of the key Seal uses.
func (r *KeyRing) PrimaryKeyID() uint32 {
	return r.keys.Load().primaryID
}

// Keys lists the ring's encryption keys, oldest first, for display. The
// blind index key is not listed: it never changes.
func (r *KeyRing) Keys() []KeyInfo {
	return keyInfos(r.keys.Load())
}

func keyInfos(keys *aeadKeys) []KeyInfo {
	h := keys.handle
	infos := make([]KeyInfo, 0, h.Len())
	for i := range h.Len() {
		e, err := h.Entry(i)
		if err != nil {
			continue
		}
		infos = append(infos, KeyInfo{ID: e.KeyID(), Status: e.KeyStatus().String(), Primary: e.IsPrimary(),
			AddedAt: keys.added[e.KeyID()]})
	}
	return infos
}

// equalKeyInfos reports whether a and b list the same keys in the same states.
func equalKeyInfos(a, b []KeyInfo) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].ID != b[i].ID || a[i].Status != b[i].Status || a[i].Primary != b[i].Primary || !a[i].AddedAt.Equal(b[i].AddedAt) {
			return false
		}
	}
	return true
}

// KeyID returns the id of the key that sealed ciphertext, read from its
// 5-byte prefix, for example to find data still sealed with an old key.
// It does not check that the rest of the ciphertext is valid.
func KeyID(ciphertext []byte) (uint32, error) {
	if len(ciphertext) < KeyIDPrefixSize {
		return 0, fmt.Errorf("crypto: key id: ciphertext is %d bytes, shorter than its %d-byte key prefix", len(ciphertext), KeyIDPrefixSize)
	}
	if ciphertext[0] != tinkPrefixByte {
		return 0, fmt.Errorf("crypto: key id: ciphertext starts with 0x%02x, want 0x%02x", ciphertext[0], tinkPrefixByte)
	}
	return binary.BigEndian.Uint32(ciphertext[1:KeyIDPrefixSize]), nil
}
