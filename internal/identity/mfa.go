package identity

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"strings"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/crypto"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// TOTP parameters: those every authenticator app supports.
const (
	totpPeriod = 30 // seconds per step
	totpSkew   = 1  // steps accepted either side of now, for clock drift
	totpDigits = otp.DigitsSix
	// RecoveryCodes is how many single-use recovery codes a user gets.
	RecoveryCodes = 10
)

func totpOpts() totp.ValidateOpts {
	return totp.ValidateOpts{Period: totpPeriod, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1}
}

// Enrolment is a started MFA enrolment: the secret to enter in an
// authenticator app, as text, as an otpauth:// URI and as a QR code PNG.
type Enrolment struct {
	Secret string `json:"secret"`
	URI    string `json:"uri"`
	QRPNG  []byte `json:"qr_png"` // base64 in JSON
}

// EnrolMFA starts TOTP enrolment for the user: a new secret is kept
// pending until ConfirmMFA proves the app has it.
func (s *Service) EnrolMFA(ctx context.Context, userID string) (*Enrolment, error) {
	u, err := s.st.User(ctx, userID)
	if err != nil {
		return nil, err
	}
	if u.MFAEnabled {
		return nil, leadcap.Errorf(leadcap.ECONFLICT, "MFA is already on: turn it off first to enrol again")
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: s.opts.Issuer, AccountName: u.Email, Period: totpPeriod,
		SecretSize: 20, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return nil, fmt.Errorf("identity: enrol mfa: %w", err)
	}
	img, err := key.Image(256, 256)
	if err != nil {
		return nil, fmt.Errorf("identity: enrol mfa: qr code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("identity: enrol mfa: qr code: %w", err)
	}
	if err := s.st.SetPendingTOTP(ctx, u.ID, key.Secret()); err != nil {
		return nil, err
	}
	return &Enrolment{Secret: key.Secret(), URI: key.URL(), QRPNG: buf.Bytes()}, nil
}

// ConfirmMFA turns MFA on with a code from the app enrolled by EnrolMFA,
// and returns ten single-use recovery codes, to be shown once.
func (s *Service) ConfirmMFA(ctx context.Context, a Actor, userID, code string) ([]string, error) {
	u, err := s.st.User(ctx, userID)
	if err != nil {
		return nil, err
	}
	_, pending, err := s.st.TOTPSecrets(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	if pending == "" {
		return nil, leadcap.Errorf(leadcap.ECONFLICT, "no MFA enrolment is pending: start one first")
	}
	g, err := s.attempt(a, "account:"+u.Email, userTarget(u.ID))
	if err != nil {
		return nil, err
	}
	step, ok := matchTOTP(pending, code, s.now())
	if !ok {
		g.failed(ctx, a)
		return nil, leadcap.FieldErrors(map[string]string{"code": "is not the current code of the authenticator app"})
	}
	g.succeeded()
	codes := make([]string, RecoveryCodes)
	hashes := make([][]byte, RecoveryCodes)
	for i := range codes {
		raw := strings.ToLower(crypto.RandomString(12))
		codes[i] = raw[:4] + "-" + raw[4:8] + "-" + raw[8:]
		hashes[i] = s.recoveryHash(u.ID, raw)
	}
	if err := s.st.ConfirmTOTP(ctx, u.ID, step, hashes); err != nil {
		return nil, err
	}
	if err := s.audit(ctx, a, leadcap.AuditMFAEnable, userTarget(u.ID), leadcap.AuditSuccess, nil); err != nil {
		return nil, err
	}
	return codes, nil
}

// DisableMFA turns the user's MFA off after a valid TOTP or recovery code.
func (s *Service) DisableMFA(ctx context.Context, a Actor, userID, code, recovery string) error {
	u, err := s.st.User(ctx, userID)
	if err != nil {
		return err
	}
	if !u.MFAEnabled {
		return leadcap.Errorf(leadcap.ECONFLICT, "MFA is not on")
	}
	if _, err := s.secondFactor(ctx, a, u, code, recovery, "", leadcap.AuditMFADisable); err != nil {
		return err
	}
	if err := s.st.DisableMFA(ctx, u.ID); err != nil {
		return err
	}
	return s.audit(ctx, a, leadcap.AuditMFADisable, userTarget(u.ID), leadcap.AuditSuccess, nil)
}

// ResetMFA turns a user's MFA off without a code, for a user who lost
// their authenticator and recovery codes; an admin does it.
func (s *Service) ResetMFA(ctx context.Context, a Actor, userID string) (*leadcap.User, error) {
	u, err := s.st.User(ctx, userID)
	if err != nil {
		return nil, err
	}
	if err := s.st.DisableMFA(ctx, u.ID); err != nil {
		return nil, err
	}
	if err := s.audit(ctx, a, leadcap.AuditMFAReset, userTarget(u.ID), leadcap.AuditSuccess, nil); err != nil {
		return nil, err
	}
	u.MFAEnabled = false
	return u, nil
}

// RecoveryCodesLeft counts a user's unused recovery codes.
func (s *Service) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	return s.st.RecoveryCodesLeft(ctx, userID)
}

// secondFactor checks a TOTP code or a recovery code of u, throttled like a
// password, and consumes it: a TOTP step or recovery code is accepted only
// once. It returns "totp" or "recovery". A failure is audited as action.
func (s *Service) secondFactor(ctx context.Context, a Actor, u *leadcap.User, code, recovery, device, action string) (string, error) {
	code, recovery = strings.TrimSpace(code), normalizeRecovery(recovery)
	if (code == "") == (recovery == "") {
		return "", leadcap.FieldErrors(map[string]string{"code": "give either a code from the authenticator app or a recovery code"})
	}
	target := userTarget(u.ID)
	g, err := s.attempt(a, s.accountKey(u.Email, u, device), target)
	if err != nil {
		return "", err
	}
	method, reason := "totp", ""
	if code != "" {
		secret, _, err := s.st.TOTPSecrets(ctx, u.ID)
		if err != nil {
			g.succeeded()
			return "", err
		}
		step, ok := matchTOTP(secret, code, s.now())
		if !ok {
			reason = "wrong code"
		} else if fresh, err := s.st.UseTOTPStep(ctx, u.ID, step); err != nil {
			g.succeeded()
			return "", err
		} else if !fresh {
			reason = "code already used"
		}
	} else {
		method = "recovery"
		ok, err := s.st.UseRecoveryCode(ctx, u.ID, s.recoveryHash(u.ID, recovery), s.now())
		if err != nil {
			g.succeeded()
			return "", err
		} else if !ok {
			reason = "wrong or used recovery code"
		}
	}
	if reason != "" {
		if err := s.audit(ctx, a, action, target, leadcap.AuditFailure, map[string]string{"reason": reason, "method": method}); err != nil {
			return "", err
		}
		g.failed(ctx, a)
		if reason == "code already used" {
			return "", leadcap.FieldErrors(map[string]string{"code": "has been used already: wait for the next one"})
		}
		return "", leadcap.FieldErrors(map[string]string{"code": "is not valid"})
	}
	g.succeeded()
	return method, nil
}

// matchTOTP returns the time step whose code is code, within the skew
// around now.
func matchTOTP(secret, code string, now time.Time) (int64, bool) {
	code = strings.ReplaceAll(code, " ", "")
	if secret == "" || len(code) != totpDigits.Length() {
		return 0, false
	}
	cur := now.Unix() / totpPeriod
	for step := cur - totpSkew; step <= cur+totpSkew; step++ {
		want, err := totp.GenerateCodeCustom(secret, time.Unix(step*totpPeriod, 0), totpOpts())
		if err == nil && crypto.ConstantTimeEqual([]byte(want), []byte(code)) {
			return step, true
		}
	}
	return 0, false
}

// normalizeRecovery drops spaces and dashes and lower-cases, so a code may
// be typed as it was printed or not.
func normalizeRecovery(code string) string {
	return strings.ToLower(strings.NewReplacer(" ", "", "-", "").Replace(strings.TrimSpace(code)))
}

// recoveryHash is the stored form of a recovery code: a keyed hash bound
// to its user, so the table alone cannot be searched for codes.
func (s *Service) recoveryHash(userID, code string) []byte {
	return s.keys.BlindIndex("recovery-code", userID+"\x00"+code)
}
