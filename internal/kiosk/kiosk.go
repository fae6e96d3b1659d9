// Package kiosk signs and checks device links: the links staff give a shared
// tablet so that it opens a conference's booth form in kiosk mode and stamps
// its leads with the device's id. A link is a token made of the device's
// details and a MAC over them; a token nobody signed is refused. Links
// records the links issued, so that one can be revoked or replaced (see
// links.go).
package kiosk

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/crypto"
	"github.com/leadcap/leadcap/internal/intake"
)

// MACKind is the domain of the MAC over device tokens, kept apart from every
// other use of the key ring's keyed PRF.
const MACKind = "kiosk-device"

// Limits of a device.
const (
	MaxLabel    = 64  // runes in a device label
	MaxIDLen    = 64  // bytes in a device id, as intake allows
	maxTokenLen = 600 // bytes in a token; a signed one is far shorter
	tokenPrefix = "v1."
)

// MAC computes a keyed PRF of a value; *crypto.KeyRing's BlindIndex is one.
type MAC interface {
	BlindIndex(kind, value string) []byte
}

// Device is one kiosk tablet of a conference.
type Device struct {
	ConferenceID string    // the conference whose form the tablet shows
	ID           string    // stamped on the leads: letters, digits, '-' and '_'
	Label        string    // what staff call it, e.g. "Tablet 3"
	Expires      time.Time // the link works until then
	// Issued is when the link was issued, as the store recorded it
	// (store.IssueKioskLink); zero for a link signed before leadcap
	// recorded links. It tells a device's links apart.
	Issued time.Time
}

// payload is a Device as signed; short keys keep links short.
type payload struct {
	ConferenceID string `json:"c"`
	ID           string `json:"d"`
	Label        string `json:"l"`
	Expires      int64  `json:"e"`           // Unix seconds
	Issued       int64  `json:"i,omitempty"` // Unix microseconds; absent in links signed before links were recorded
}

// DeviceID derives a device id from a label: "Tablet 3" becomes "tablet-3".
func DeviceID(label string) string {
	return intake.NormalizeSlug(label)
}

// Check returns an EINVALID error naming each bad field of d.
func (d Device) Check() error {
	fields := map[string]string{}
	if d.ConferenceID == "" {
		fields["conference"] = "is required"
	}
	if d.ID == "" {
		fields["id"] = "is required: give a label with letters or digits, or an id"
	} else if p := idProblem(d.ID); p != "" {
		fields["id"] = p
	}
	if p := labelProblem(d.Label); p != "" {
		fields["label"] = p
	}
	if d.Expires.IsZero() {
		fields["expires"] = "is required"
	}
	return leadcap.FieldErrors(fields)
}

// idProblem says what is wrong with a device id, or "".
func idProblem(id string) string {
	if id == "" || len(id) > MaxIDLen || !validID(id) {
		return "must be 1 to 64 of letters, digits, '-' and '_'"
	}
	return ""
}

func validID(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func labelProblem(label string) string {
	switch {
	case strings.TrimSpace(label) == "":
		return "is required"
	case !utf8.ValidString(label):
		return "is not valid UTF-8"
	case utf8.RuneCountInString(label) > MaxLabel:
		return "is too long (at most 64 characters)"
	case label != strings.TrimSpace(label):
		return "must not start or end with white space"
	}
	for _, r := range label {
		if !unicode.IsPrint(r) {
			return "must be printable text on one line"
		}
	}
	return ""
}

// Sign returns the token of d, to put in a device link.
func Sign(mac MAC, d Device) (string, error) {
	if err := d.Check(); err != nil {
		return "", err
	}
	b, err := json.Marshal(payload{d.ConferenceID, d.ID, d.Label, d.Expires.Unix(), microsOf(d.Issued)})
	if err != nil {
		return "", err
	}
	body := tokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return body + "." + base64.RawURLEncoding.EncodeToString(mac.BlindIndex(MACKind, body)), nil
}

// microsOf returns t in Unix microseconds, 0 for the zero time.
func microsOf(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// Verify returns the device of token if its MAC is right, it names the
// conference conferenceID, and it has not expired at now. A token that is
// malformed, forged or for another conference is an EFORBIDDEN error; an
// expired one is EGONE. It does not know of revoked links: Links.Verify
// does.
func Verify(mac MAC, token, conferenceID string, now time.Time) (Device, error) {
	forged := leadcap.Errorf(leadcap.EFORBIDDEN, "the kiosk device link is not valid")
	if len(token) > maxTokenLen || !strings.HasPrefix(token, tokenPrefix) {
		return Device{}, forged
	}
	body, sig, ok := strings.Cut(token[len(tokenPrefix):], ".")
	if !ok {
		return Device{}, forged
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !crypto.ConstantTimeEqual(got, mac.BlindIndex(MACKind, tokenPrefix+body)) {
		return Device{}, forged
	}
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return Device{}, forged
	}
	var p payload
	if err := json.Unmarshal(raw, &p); err != nil {
		return Device{}, forged
	}
	d := Device{ConferenceID: p.ConferenceID, ID: p.ID, Label: p.Label, Expires: time.Unix(p.Expires, 0).UTC()}
	if p.Issued != 0 {
		d.Issued = time.UnixMicro(p.Issued).UTC()
	}
	if d.ConferenceID != conferenceID || d.Check() != nil {
		return Device{}, forged
	}
	if !now.Before(d.Expires) {
		return Device{}, leadcap.Errorf(leadcap.EGONE, "the kiosk device link expired on %s", d.Expires.Format(time.DateOnly))
	}
	return d, nil
}
