package crypto

import (
	"fmt"
	"time"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/aead/aesgcm"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/prf"
	"github.com/tink-crypto/tink-go/v2/prf/hmacprf"
)

// keySets are the two tink keysets a key ring is made of, and when each
// AEAD key was added (missing for keys of a key file from before leadcap
// recorded it).
type keySets struct {
	aead  *keyset.Handle
	index *keyset.Handle
	added map[uint32]time.Time
}

// newKeySets generates a fresh AEAD keyset and index keyset, the AEAD key
// added at now.
func newKeySets(now time.Time) (keySets, error) {
	aeadKH, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		return keySets{}, fmt.Errorf("aead keyset: %w", err)
	}
	indexKH, err := keyset.NewHandle(prf.HMACSHA256PRFKeyTemplate())
	if err != nil {
		return keySets{}, fmt.Errorf("index keyset: %w", err)
	}
	primary, err := aeadKH.Primary()
	if err != nil {
		return keySets{}, fmt.Errorf("aead keyset: %w", err)
	}
	return keySets{aead: aeadKH, index: indexKH, added: map[uint32]time.Time{primary.KeyID(): now}}, nil
}

// checkAEADKeyset accepts only AES256-GCM keys with TINK prefix, so that
// every ciphertext names its key and KeyID can read it.
func checkAEADKeyset(h *keyset.Handle) error {
	if _, err := h.Primary(); err != nil {
		return err
	}
	for i := range h.Len() {
		e, err := h.Entry(i)
		if err != nil {
			return err
		}
		k, ok := e.Key().(*aesgcm.Key)
		if !ok {
			return fmt.Errorf("key %d is a %T, want AES256-GCM", e.KeyID(), e.Key())
		}
		p, ok := k.Parameters().(*aesgcm.Parameters)
		if !ok || p.KeySizeInBytes() != 32 || p.Variant() != aesgcm.VariantTink {
			return fmt.Errorf("key %d is not AES256-GCM with TINK prefix", e.KeyID())
		}
	}
	return nil
}

// checkIndexKeyset accepts exactly one enabled HMAC-SHA256 PRF key with at
// least 32 bytes: a second key would silently change every blind index.
func checkIndexKeyset(h *keyset.Handle) error {
	if h.Len() != 1 {
		return fmt.Errorf("has %d keys, want exactly 1", h.Len())
	}
	e, err := h.Primary()
	if err != nil {
		return err
	}
	k, ok := e.Key().(*hmacprf.Key)
	if !ok {
		return fmt.Errorf("key %d is a %T, want an HMAC-SHA256 PRF key", e.KeyID(), e.Key())
	}
	p, ok := k.Parameters().(*hmacprf.Parameters)
	if !ok || p.HashType() != hmacprf.SHA256 || p.KeySizeInBytes() < 32 || e.KeyStatus() != keyset.Enabled {
		return fmt.Errorf("key %d is not an enabled HMAC-SHA256 PRF key of at least 32 bytes", e.KeyID())
	}
	return nil
}

// hasKey reports whether h holds a key with the id.
func hasKey(h *keyset.Handle, id uint32) bool {
	for i := range h.Len() {
		if e, err := h.Entry(i); err == nil && e.KeyID() == id {
			return true
		}
	}
	return false
}

// containsKeys checks that every key in want is in have, with the same
// material.
func containsKeys(have, want *keyset.Handle) error {
	for i := range want.Len() {
		w, err := want.Entry(i)
		if err != nil {
			return err
		}
		found := false
		for j := range have.Len() {
			h, err := have.Entry(j)
			if err == nil && h.KeyID() == w.KeyID() && h.Key().Equal(w.Key()) {
				found = true
				break
			}
		}
		if !found {
			return fmt.Errorf("key %d of the running key ring is missing; refusing to overwrite the file", w.KeyID())
		}
	}
	return nil
}
