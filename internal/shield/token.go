package shield

import (
	"crypto/rand"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/leadcap/leadcap/internal/crypto"
)

// RenderTokenKind is the domain of the MAC over render tokens, kept apart
// from every other use of the key ring's keyed PRF.
const RenderTokenKind = "shield-render-token"

const (
	renderTokenPrefix = "r1"
	maxRenderToken    = 300 // bytes; a signed token is about 140
	// maxClockSkew is how far in the future a render time may lie, for
	// servers whose clocks differ a little.
	maxClockSkew = time.Minute
)

// MAC computes a keyed PRF of a value; internal/crypto's KeyRing
// (BlindIndex) is one.
type MAC interface {
	BlindIndex(kind, value string) []byte
}

// renderToken is what a render token says: the form of which conference
// was rendered when, until when a submission of it is accepted, and the
// proof-of-work challenge of that rendering.
type renderToken struct {
	ConferenceID string
	Rendered     time.Time
	Expires      time.Time
	PowBits      int    // leading zero bits the proof of work needs; 0 for none
	Challenge    string // random, base64url: makes each rendering's puzzle its own
}

// sign returns t as a token:
// r1.<conference id>.<rendered>.<expires>.<pow bits>.<challenge>.<mac>, with
// times in Unix seconds and the MAC, base64url, over everything before it.
func (t renderToken) sign(mac MAC) string {
	body := strings.Join([]string{renderTokenPrefix, t.ConferenceID, strconv.FormatInt(t.Rendered.Unix(), 10),
		strconv.FormatInt(t.Expires.Unix(), 10), strconv.Itoa(t.PowBits), t.Challenge}, ".")
	return body + "." + base64.RawURLEncoding.EncodeToString(mac.BlindIndex(RenderTokenKind, body))
}

// newChallenge returns 12 random bytes, base64url.
func newChallenge() string {
	var b [12]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// parseRenderToken checks the MAC of s and returns what it says, or false
// for anything malformed or forged. It does not judge times or conference.
func parseRenderToken(mac MAC, s string) (renderToken, bool) {
	if len(s) > maxRenderToken {
		return renderToken{}, false
	}
	i := strings.LastIndexByte(s, '.')
	if i < 0 {
		return renderToken{}, false
	}
	body, sig := s[:i], s[i+1:]
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !crypto.ConstantTimeEqual(got, mac.BlindIndex(RenderTokenKind, body)) {
		return renderToken{}, false
	}
	f := strings.Split(body, ".")
	if len(f) != 6 || f[0] != renderTokenPrefix {
		return renderToken{}, false
	}
	rendered, err1 := strconv.ParseInt(f[2], 10, 64)
	expires, err2 := strconv.ParseInt(f[3], 10, 64)
	bits, err3 := strconv.Atoi(f[4])
	if err1 != nil || err2 != nil || err3 != nil || bits < 0 || bits > MaxPowBits {
		return renderToken{}, false
	}
	return renderToken{ConferenceID: f[1], Rendered: time.Unix(rendered, 0), Expires: time.Unix(expires, 0),
		PowBits: bits, Challenge: f[5]}, true
}
