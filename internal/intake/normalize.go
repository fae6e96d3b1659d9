package intake

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/net/idna"
	"golang.org/x/text/language"
	"golang.org/x/text/unicode/norm"
)

// Lengths, in runes unless said otherwise.
const (
	maxName         = 100
	maxEmail        = 254 // bytes, after the domain is converted to ASCII
	maxEmailLocal   = 64  // bytes
	maxCompany      = 200
	maxNotes        = 5000
	maxTextAnswer   = 1000
	maxID           = 64 // submission_id and device_id
	maxPhone        = 64
	maxConference   = 100
	maxSource       = 16
	maxMergedNotes  = 4 * maxNotes
	msgBadEmail     = "is not a valid email address"
	msgBadPhone     = "is not a valid phone number"
	msgBadCountry   = "is not a valid ISO 3166-1 country code"
	msgRequired     = "is required"
	msgOneLine      = "must be a single line"
	msgControl      = "must not contain control characters"
	msgBidi         = "must not contain bidirectional control characters"
	msgInvalidUTF8  = "is not valid UTF-8"
	msgBadIDCharset = "may only contain letters, digits, '-' and '_'"
)

// emailDomain converts the domain of an email address to its ASCII form: it
// maps it as for a DNS lookup (lower case, full-width forms, ...), applies
// the Bidi rule and checks label and name lengths. It is immutable.
var emailDomain = idna.New(
	idna.MapForLookup(),
	idna.BidiRule(),
	idna.VerifyDNSLength(true),
	idna.Transitional(false),
)

// cleanText returns s in Unicode NFC with surrounding white space removed,
// or a problem saying why s is not acceptable: it is not valid UTF-8, it is
// longer than max runes, or it holds a character that has no place in
// text shown to people. Every C0 and C1 control, U+2028 and U+2029 are
// refused, except that multi-line text may hold line feeds and tabs (its
// CR LF and lone CR line breaks become LF); so are the bidirectional
// embedding, override and isolate controls, which can make text display
// in an order other than the one it is stored in.
func cleanText(s string, max int, multiline bool) (string, string) {
	if !utf8.ValidString(s) {
		return "", msgInvalidUTF8
	}
	if multiline && strings.IndexByte(s, '\r') >= 0 {
		s = strings.ReplaceAll(s, "\r\n", "\n")
		s = strings.ReplaceAll(s, "\r", "\n")
	}
	s = strings.TrimSpace(norm.NFC.String(s))
	n := 0
	for _, r := range s {
		n++
		if r < utf8.RuneSelf && r >= 0x20 && r != 0x7f {
			continue
		}
		if p := badRune(r, multiline); p != "" {
			return "", p
		}
	}
	if n > max {
		return "", fmt.Sprintf("is too long (at most %d characters)", max)
	}
	return s, ""
}

// badRune returns the problem with r in text, if any.
func badRune(r rune, multiline bool) string {
	switch {
	case r == '\n' || r == '\t':
		if multiline {
			return ""
		}
		return msgOneLine
	case r == '\r' || r == 0x2028 || r == 0x2029:
		return msgOneLine
	case unicode.Is(unicode.Cc, r):
		return msgControl
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return msgBidi
	}
	return ""
}

// normalizeEmail returns the address s with its domain in lower-case ASCII
// (IDNA A-labels) and its local part as typed, or a problem.
func normalizeEmail(s string) (string, string) {
	// The real limit is on bytes once the domain is in ASCII; this one
	// bounds the work until then.
	s, p := cleanText(s, 4*maxEmail, false)
	switch {
	case p != "":
		return "", p
	case s == "":
		return "", msgRequired
	}
	at := strings.IndexByte(s, '@')
	if at < 0 || strings.IndexByte(s[at+1:], '@') >= 0 {
		return "", msgBadEmail
	}
	local, domain := s[:at], s[at+1:]
	if !validLocalPart(local) {
		return "", msgBadEmail
	}
	ascii, err := emailDomain.ToASCII(domain)
	if err != nil || !validDomain(ascii) {
		return "", msgBadEmail
	}
	if ascii != domain {
		s = local + "@" + strings.ToLower(ascii)
	}
	if len(s) > maxEmail {
		return "", fmt.Sprintf("is too long (at most %d bytes)", maxEmail)
	}
	return s, ""
}

// validLocalPart reports whether local is an unquoted local part: dot
// separated atoms of ASCII letters, digits and !#$%&'*+/=?^_`{|}~- or of
// non-ASCII letters, marks and digits (RFC 6531). Quoted local parts, which
// people do not type, are refused, and with them display names such as
// "Bob <bob@example.com>".
func validLocalPart(local string) bool {
	if local == "" || len(local) > maxEmailLocal || local[0] == '.' || local[len(local)-1] == '.' ||
		strings.Contains(local, "..") {
		return false
	}
	for _, r := range local {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case r < utf8.RuneSelf:
			if !strings.ContainsRune(".!#$%&'*+/=?^_`{|}~-", r) {
				return false
			}
		case unicode.IsLetter(r), unicode.IsMark(r), unicode.IsDigit(r):
		default:
			return false
		}
	}
	return true
}

// validDomain reports whether the ASCII domain, already checked label by
// label by emailDomain, is one mail can be delivered to: at least two
// labels, no trailing root dot, and a top-level label that is not numeric
// (that would be an IP address, which must not be written bare).
func validDomain(ascii string) bool {
	dot := strings.LastIndexByte(ascii, '.')
	if dot <= 0 || dot == len(ascii)-1 {
		return false
	}
	for _, r := range ascii[dot+1:] {
		if r < '0' || r > '9' {
			return true
		}
	}
	return false
}

// EmailKey returns the key that identifies an email address for merging
// leads and for its blind index: the whole address, as normalised by
// Validate, in lower case. The local part is stored as typed, since a mail
// server may in theory tell case apart, but no person means two different
// mailboxes by Bob@ and bob@.
func EmailKey(email string) string {
	return strings.ToLower(email)
}

// normalizePhone returns s in E.164, or a problem. A number without a
// country calling code is read as one of region (ISO 3166-1 alpha-2, or
// empty when none is known). An extension is dropped: E.164 has none.
func normalizePhone(s, region string) (string, string) {
	s, p := cleanText(s, maxPhone, false)
	if p != "" || s == "" {
		return "", p
	}
	if region == "" {
		region = "ZZ" // unknown: only +<country code> numbers parse
	}
	num, err := phonenumbers.Parse(s, region)
	// A number valid in the conference's own region is valid: checking
	// that first spares IsValidNumber's search for the number's region
	// among those sharing its calling code (25 for +1). A US number at a
	// US conference: 8.9 µs instead of 11.2; a UK one 10.1 instead of 14.2.
	// Any other number is checked as before.
	if err != nil || !phonenumbers.IsValidNumberForRegion(num, region) && !phonenumbers.IsValidNumber(num) {
		return "", msgBadPhone
	}
	return phonenumbers.Format(num, phonenumbers.E164), ""
}

// normalizeCountry returns s as an upper-case ISO 3166-1 alpha-2 code, or a
// problem.
func normalizeCountry(s string) (string, string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", ""
	}
	if len(s) != 2 || !isASCIILetter(s[0]) || !isASCIILetter(s[1]) {
		return "", msgBadCountry
	}
	s = strings.ToUpper(s)
	if !isCountry(s) {
		return "", msgBadCountry
	}
	return s, ""
}

func isASCIILetter(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// isCountry reports whether the upper-case code is an ISO 3166-1 alpha-2
// code in use, or XK (Kosovo), which is widely used in its place.
func isCountry(code string) bool {
	r, err := language.ParseRegion(code)
	// Canonical and with an M49 number excludes aliases (UK for GB) and
	// reservations that are not countries (AC, CP, DG, EA, EU, IC, TA, UN).
	if err != nil || !r.IsCountry() || r.Canonicalize().String() != code || r.M49() == 0 {
		return false
	}
	switch code {
	case "AN", "CS", "NT", "SU", "YU": // withdrawn from ISO 3166-1
		return false
	}
	return true
}

// validToken reports whether s is made only of ASCII letters, digits, '-'
// and '_', as submission and device ids are.
func validToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isASCIILetter(c) && (c < '0' || c > '9') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// validDate reports whether s is a calendar date written YYYY-MM-DD, with a
// year from 0001 to 9999.
func validDate(s string) bool {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return false
	}
	num := func(s string) int {
		n := 0
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return -1
			}
			n = n*10 + int(s[i]-'0')
		}
		return n
	}
	y, m, d := num(s[:4]), num(s[5:7]), num(s[8:])
	if y < 1 || m < 1 || m > 12 || d < 1 {
		return false
	}
	days := [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[m]
	if m == 2 && y%4 == 0 && (y%100 != 0 || y%400 == 0) {
		days = 29
	}
	return d <= days
}

// isJSONNumber reports whether s is a number in JSON's grammar: no leading
// '+', no leading zeros, no hex, no Inf or NaN.
func isJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() int {
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i - start
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// CountryCode returns s as an upper-case ISO 3166-1 alpha-2 code in use,
// and false when it is not one.
func CountryCode(s string) (string, bool) {
	c, problem := normalizeCountry(s)
	return c, problem == "" && c != ""
}
