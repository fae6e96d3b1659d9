package shield

import (
	"crypto/sha256"
	"math/bits"
	"strconv"
)

// Bounds of the proof of work's difficulty, in leading zero bits of the
// digest: each bit doubles the expected work.
const (
	MinPowBits = 8
	MaxPowBits = 28
	// DefaultPowBits asks about 262,000 SHA-256 blocks on average: a
	// second or so in a browser (measured in docs/PERFORMANCE.md), spent
	// while the visitor types, and a real cost to a bot per submission.
	DefaultPowBits = 18
	maxPowNonce    = 20 // digits
)

// PowDigest is the digest a proof of work is judged by: SHA-256 of the
// SHA-256 of the render token followed by the nonce's digits. Hashing the
// token first makes every try one SHA-256 block, however long the token,
// for the solver in the browser as for the server.
// internal/web/static/pow.js computes the same.
func PowDigest(token, nonce string) [32]byte {
	seed := sha256.Sum256([]byte(token))
	return sha256.Sum256(append(seed[:], nonce...))
}

// zeroBits returns how many leading zero bits d has.
func zeroBits(d [32]byte) int {
	n := 0
	for _, b := range d {
		if b != 0 {
			return n + bits.LeadingZeros8(b)
		}
		n += 8
	}
	return n
}

// validNonce reports whether nonce is a decimal number of at most 20
// digits, as the solver sends it.
func validNonce(nonce string) bool {
	if nonce == "" || len(nonce) > maxPowNonce {
		return false
	}
	_, err := strconv.ParseUint(nonce, 10, 64)
	return err == nil
}

// SolvePow finds the smallest nonce whose digest with token has bits
// leading zero bits. It is the server's twin of pow.js, for tests and for
// clients written in Go.
func SolvePow(token string, bits int) string {
	seed := sha256.Sum256([]byte(token))
	buf := append(seed[:], make([]byte, 0, maxPowNonce)...)
	for n := uint64(0); ; n++ {
		buf = strconv.AppendUint(buf[:len(seed)], n, 10)
		if zeroBits(sha256.Sum256(buf)) >= bits {
			return string(buf[len(seed):])
		}
	}
}
