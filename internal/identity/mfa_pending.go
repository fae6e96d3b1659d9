package identity

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"net/url"
	"strconv"

	"github.com/pquerna/otp"
)

// PendingEnrolment returns the MFA enrolment EnrolMFA started for the user
// and that is not confirmed yet, as EnrolMFA returned it, or nil when
// there is none: a page can show the same QR code again after a mistyped
// code instead of a new secret the app does not have.
func (s *Service) PendingEnrolment(ctx context.Context, userID string) (*Enrolment, error) {
	u, err := s.st.User(ctx, userID)
	if err != nil {
		return nil, err
	}
	_, pending, err := s.st.TOTPSecrets(ctx, userID)
	if err != nil || pending == "" || u.MFAEnabled {
		return nil, err
	}
	v := url.Values{}
	v.Set("secret", pending)
	v.Set("issuer", s.opts.Issuer)
	v.Set("period", strconv.Itoa(totpPeriod))
	v.Set("digits", totpDigits.String())
	v.Set("algorithm", "SHA1")
	uri := "otpauth://totp/" + url.PathEscape(s.opts.Issuer+":"+u.Email) + "?" + v.Encode()
	key, err := otp.NewKeyFromURL(uri)
	if err != nil {
		return nil, fmt.Errorf("identity: pending enrolment: %w", err)
	}
	img, err := key.Image(256, 256)
	if err != nil {
		return nil, fmt.Errorf("identity: pending enrolment: qr code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("identity: pending enrolment: qr code: %w", err)
	}
	return &Enrolment{Secret: pending, URI: key.URL(), QRPNG: buf.Bytes()}, nil
}
