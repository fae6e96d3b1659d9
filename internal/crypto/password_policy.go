package crypto

import (
	_ "embed"
	"strings"
	"unicode/utf8"

	"github.com/leadcap/leadcap"
	"golang.org/x/text/unicode/norm"
)

// Password length limits. The minimum follows NIST SP 800-63B for passwords
// used without a second factor; the maximum only bounds the work of hashing.
const (
	MinPasswordRunes = 12   // fewest characters (Unicode code points) a password may have
	MaxPasswordBytes = 1024 // most bytes a password may have
)

// commonPasswords lists passwords attackers try first, lower-cased, one per
// line, sorted, without duplicates. It was written for leadcap: well-known
// most-used passwords and the ways people stretch them past a length rule
// (words with years and digits appended, keyboard walks, digit runs,
// repeated characters).
//
//go:embed common-passwords.txt
var commonPasswords string

// CheckPasswordPolicy reports whether pw may be chosen as a new password.
// It must be valid UTF-8, at least 12 characters (counted as Unicode code
// points after NFKC normalisation, so any script counts fairly), at most 1024
// bytes, and not one of the most common passwords, compared case-insensitively.
// There are no composition rules: a long phrase of plain words is fine.
//
// A refusal is a *leadcap.Error with code leadcap.EINVALID and a message
// that tells the user what to change.
func CheckPasswordPolicy(pw string) error {
	if !utf8.ValidString(pw) {
		return leadcap.Errorf(leadcap.EINVALID, "password contains bytes that are not text")
	}
	if len(pw) > MaxPasswordBytes {
		return leadcap.Errorf(leadcap.EINVALID, "password is too long: the limit is %d bytes", MaxPasswordBytes)
	}
	// Judge the password that will be hashed (see HashPassword).
	normal := norm.NFKC.String(pw)
	if utf8.RuneCountInString(normal) < MinPasswordRunes {
		return leadcap.Errorf(leadcap.EINVALID, "password is too short: use at least %d characters", MinPasswordRunes)
	}
	if isCommonPassword(normal) {
		return leadcap.Errorf(leadcap.EINVALID, "password is too common: attackers try it first, choose another")
	}
	return nil
}

// isCommonPassword reports whether pw, lower-cased, is a line of the list.
// A substring search of the embedded text needs no table built at start-up.
func isCommonPassword(pw string) bool {
	if pw == "" || strings.ContainsAny(pw, "\r\n") {
		// A line break could make the needle span two lines; the list has none.
		return false
	}
	line := strings.ToLower(pw) + "\n"
	return strings.HasPrefix(commonPasswords, line) || strings.Contains(commonPasswords, "\n"+line)
}
