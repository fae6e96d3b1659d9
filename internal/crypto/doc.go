// Package crypto holds leadcap's cryptography: the key ring that encrypts
// personal data and computes blind indexes, argon2id password hashing and
// the password policy, and random tokens and strings.
//
// It wraps well-kept libraries (tink-go for keys and envelope encryption,
// golang.org/x/crypto/argon2 for passwords) and adds only leadcap's choices:
// which algorithms, which parameters, and how keys are stored on disk.
package crypto
