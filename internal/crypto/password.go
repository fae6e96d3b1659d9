package crypto

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"
)

// argon2Params are the cost parameters of an argon2id hash.
type argon2Params struct {
	memory  uint32 // KiB
	time    uint32 // passes
	threads uint8
	saltLen int
	keyLen  int
}

// currentParams returns the parameters of every new hash. They are OWASP's recommended
// minimum for argon2id (19 MiB, 2 passes, 1 lane): one check takes tens of
// milliseconds and 19 MiB, which a 2-core server can afford at login rates.
// Raising them is safe: old hashes still verify, and NeedsRehash tells the
// caller to store a new hash at the user's next login.
func currentParams() argon2Params {
	return argon2Params{memory: 19 * 1024, time: 2, threads: 1, saltLen: 16, keyLen: 32}
}

// Bounds on parameters read from a stored hash, so that a corrupt or hostile
// row cannot make a login allocate gigabytes or spin for minutes.
const (
	maxArgon2Memory = 1 << 20 // KiB, 1 GiB
	maxArgon2Time   = 64
	minArgon2Salt   = 8
	maxArgon2Salt   = 64
	minArgon2Key    = 16
	maxArgon2Key    = 64
)

// argon2Version is the only argon2 version accepted (0x13, the current one).
const argon2Version = argon2.Version

// dummySalt is the salt DummyCheck hashes with; its value does not matter.
const dummySalt = "leadcap-no-user!"

// HashPassword hashes pw with argon2id, a fresh 16-byte random salt and the
// current parameters, and returns it in PHC string format:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// with salt and hash in unpadded standard base64. The whole password is
// hashed, after Unicode NFKC normalisation so that the same characters typed
// on different devices give the same hash. HashPassword does not apply the
// password policy; call CheckPasswordPolicy first for a new password.
func HashPassword(pw string) (string, error) {
	p := currentParams()
	salt := make([]byte, p.saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("crypto: hash password: %w", err)
	}
	key := argon2.IDKey(passwordBytes(pw), salt, p.time, p.memory, p.threads, uint32(p.keyLen))
	return encodeHash(p, salt, key), nil
}

// CheckPassword reports whether pw matches the encoded hash made by
// HashPassword, comparing in constant time. It accepts hashes made with
// other argon2id parameters than today's, within sane bounds. A mismatch is
// (false, nil); an error means encoded is not a valid argon2id hash.
func CheckPassword(encoded, pw string) (ok bool, err error) {
	p, salt, want, err := decodeHash(encoded)
	if err != nil {
		return false, fmt.Errorf("crypto: check password: %w", err)
	}
	got := argon2.IDKey(passwordBytes(pw), salt, p.time, p.memory, p.threads, uint32(p.keyLen))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// NeedsRehash reports whether encoded was made with other parameters than
// HashPassword uses today, or cannot be read. After a successful login the
// caller should then store HashPassword of the password just checked.
func NeedsRehash(encoded string) bool {
	p, _, _, err := decodeHash(encoded)
	return err != nil || p != currentParams()
}

// DummyCheck does the work of CheckPassword against a hash made with the
// current parameters, and throws the result away. Call it when a login names
// an unknown user, so the answer takes as long as for a known user with a
// wrong password and does not reveal which accounts exist.
func DummyCheck(pw string) {
	p := currentParams()
	got := argon2.IDKey(passwordBytes(pw), []byte(dummySalt), p.time, p.memory, p.threads, uint32(p.keyLen))
	subtle.ConstantTimeCompare(got, make([]byte, p.keyLen))
}

// passwordBytes is what gets hashed: the password in Unicode NFKC form, as
// NIST SP 800-63B advises, and never truncated.
func passwordBytes(pw string) []byte {
	return []byte(norm.NFKC.String(pw))
}

// encodeHash formats a hash in PHC string format.
func encodeHash(p argon2Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2Version, p.memory, p.time, p.threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// decodeHash parses a PHC argon2id string and checks its parameters are in bounds.
func decodeHash(encoded string) (p argon2Params, salt, key []byte, err error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" {
		return p, nil, nil, errors.New("not a PHC hash string")
	}
	if parts[1] != "argon2id" {
		return p, nil, nil, fmt.Errorf("algorithm %q, want argon2id", parts[1])
	}
	if parts[2] != "v="+strconv.Itoa(argon2Version) {
		return p, nil, nil, fmt.Errorf("version %q, want v=%d", parts[2], argon2Version)
	}
	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return p, nil, nil, fmt.Errorf("parameters %q, want m=,t=,p=", parts[3])
	}
	memory, err := parseParam(params[0], "m", maxArgon2Memory)
	if err != nil {
		return p, nil, nil, err
	}
	time, err := parseParam(params[1], "t", maxArgon2Time)
	if err != nil {
		return p, nil, nil, err
	}
	threads, err := parseParam(params[2], "p", 255)
	if err != nil {
		return p, nil, nil, err
	}
	if memory < 8*threads {
		return p, nil, nil, fmt.Errorf("memory %d KiB is below 8 KiB per lane", memory)
	}
	salt, err = base64.RawStdEncoding.Strict().DecodeString(parts[4])
	if err != nil {
		return p, nil, nil, fmt.Errorf("salt: %w", err)
	}
	if len(salt) < minArgon2Salt || len(salt) > maxArgon2Salt {
		return p, nil, nil, fmt.Errorf("salt is %d bytes, want %d to %d", len(salt), minArgon2Salt, maxArgon2Salt)
	}
	key, err = base64.RawStdEncoding.Strict().DecodeString(parts[5])
	if err != nil {
		return p, nil, nil, fmt.Errorf("hash: %w", err)
	}
	if len(key) < minArgon2Key || len(key) > maxArgon2Key {
		return p, nil, nil, fmt.Errorf("hash is %d bytes, want %d to %d", len(key), minArgon2Key, maxArgon2Key)
	}
	p = argon2Params{memory: memory, time: time, threads: uint8(threads), saltLen: len(salt), keyLen: len(key)}
	return p, salt, key, nil
}

// parseParam parses one "name=value" PHC parameter with 1 <= value <= limit.
func parseParam(s, name string, limit uint32) (uint32, error) {
	v, ok := strings.CutPrefix(s, name+"=")
	if !ok {
		return 0, fmt.Errorf("parameter %q, want %s=", s, name)
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil || n < 1 || n > uint64(limit) {
		return 0, fmt.Errorf("parameter %s=%s, want 1 to %d", name, v, limit)
	}
	return uint32(n), nil
}
