package crypto

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
)

// tokenBytes is how much randomness a token carries: 256 bits.
const tokenBytes = 32

// randomAlphabet is the alphabet of RandomString: digits and letters without
// the ones people misread when copying by hand (0 O o, 1 I l i).
const randomAlphabet = "23456789abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"

// NewToken returns a new bearer token and its SHA-256 hash. The token is
// prefix (a readable tag such as "lct_", so a leaked token can be recognised
// by secret scanners and people) followed by 32 random bytes in unpadded
// base64url. Show the token once and store only the hash; find it again with
// HashToken.
func NewToken(prefix string) (token string, hash []byte, err error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("crypto: new token: %w", err)
	}
	token = prefix + base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token), nil
}

// HashToken returns the SHA-256 hash of the whole token, prefix included.
// A fast hash is right here: a token has 256 random bits, so it cannot be
// guessed from its hash the way a password can.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// RandomString returns n characters drawn uniformly at random from digits
// and letters, leaving out look-alikes (0 O o 1 I l i), for temporary
// passwords and ids that people may read aloud or type. Each character
// carries about 5.8 bits: 16 characters give over 90 bits. It returns "" for
// n <= 0.
func RandomString(n int) string {
	if n <= 0 {
		return ""
	}
	// Bytes at or above the largest multiple of the alphabet size are
	// skipped, so that every character is equally likely.
	const limit = 256 - 256%len(randomAlphabet)
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/4+8)
	for len(out) < n {
		rand.Read(buf) // crypto/rand.Read never fails since Go 1.24.
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, randomAlphabet[int(b)%len(randomAlphabet)])
			}
		}
	}
	return string(out)
}

// ConstantTimeEqual reports whether a and b are equal, taking time that
// depends on their lengths but not their contents. Use it to compare
// secrets or their hashes.
func ConstantTimeEqual(a, b []byte) bool {
	return subtle.ConstantTimeCompare(a, b) == 1
}
