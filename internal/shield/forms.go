package shield

import (
	"context"
	"html/template"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/intake"
	"github.com/leadcap/leadcap/internal/store"
)

// Spam reasons: why a submission was quarantined. The client never sees
// them; admins do, on the lead.
const (
	ReasonHoneypot           = "honeypot"
	ReasonRenderTokenMissing = "render_token_missing"
	ReasonRenderTokenInvalid = "render_token_invalid" // malformed, forged, or for another conference
	ReasonRenderTokenExpired = "render_token_expired"
	ReasonTooFast            = "too_fast"
	ReasonPowMissing         = "pow_missing"
	ReasonPowWrong           = "pow_wrong"
	ReasonPowReplayed        = "pow_replayed"
)

// Defaults of Defences.
const (
	DefaultMinFillTime    = 2 * time.Second
	DefaultRenderTokenTTL = 14 * 24 * time.Hour
)

// Defences are the server-wide switches of the form abuse defences. A
// defence applies to a conference's submissions when it is on here and
// not switched off for the conference (leadcap.FormDefences); the proof
// of work applies only to conferences that ask for it.
type Defences struct {
	Honeypot    bool
	MinFillTime time.Duration // 0: off
	RenderToken bool
	// RenderTokenTTL is how long after rendering a form is accepted: long
	// enough for a lead queued offline for a week.
	RenderTokenTTL time.Duration
	ProofOfWork    bool
	PowBits        int
}

// DefaultDefences returns every defence on, with the default settings.
func DefaultDefences() Defences {
	return Defences{Honeypot: true, MinFillTime: DefaultMinFillTime, RenderToken: true,
		RenderTokenTTL: DefaultRenderTokenTTL, ProofOfWork: true, PowBits: DefaultPowBits}
}

// FormOptions configure Forms.
type FormOptions struct {
	Keys     MAC // signs render tokens: the key ring
	Store    *store.Store
	Shield   *Shield // the per-conference rate limit; nil for none
	Now      func() time.Time
	Defences Defences
	// VerifyDevice, if set, checks a kiosk device link's token sent as
	// device_token with a submission for the conference. It returns the
	// device's id for a good token, whose kiosk skips the proof of work;
	// "" for a token that proves nothing (made up, changed, expired), sent
	// on like any submission; and an error for a token the submission is
	// refused for (a revoked link), or when it cannot tell. Without it,
	// device_token is ignored and the booth form path says which device
	// it verified in Caller.KioskDevice.
	VerifyDevice func(ctx context.Context, token, conferenceID string) (deviceID string, err error)
}

// Forms issues render tokens for the booth form and screens submissions
// with the form abuse defences.
type Forms struct {
	o FormOptions
}

// NewForms returns Forms; zero settings in o.Defences take the defaults.
func NewForms(o FormOptions) *Forms {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Defences.RenderTokenTTL <= 0 {
		o.Defences.RenderTokenTTL = DefaultRenderTokenTTL
	}
	if o.Defences.PowBits == 0 {
		o.Defences.PowBits = DefaultPowBits
	}
	return &Forms{o: o}
}

// Caller is what the server knows of who submits.
type Caller struct {
	// Trusted is set for an integration posting with a bearer token that
	// may create leads: none of the defences apply.
	Trusted bool
	// KioskDevice is the id of a kiosk device whose signed link the caller
	// has verified: the proof of work does not apply.
	KioskDevice string
	ClientIP    netip.Addr
	Route       string
}

// FormToken is what the booth form embeds: the render token and, when the
// conference asks for a proof of work, its difficulty.
type FormToken struct {
	RenderToken string    `json:"render_token"`
	PowBits     int       `json:"pow_bits,omitempty"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// powOn reports whether c's submissions need a proof of work.
func (f *Forms) powOn(c *leadcap.Conference) bool {
	return f.o.Defences.ProofOfWork && c.Defences.ProofOfWork
}

// Token returns a fresh render token for c's form, with a proof-of-work
// challenge when c asks for one.
func (f *Forms) Token(c *leadcap.Conference) FormToken {
	now := f.o.Now()
	t := renderToken{ConferenceID: c.ID, Rendered: now, Expires: now.Add(f.o.Defences.RenderTokenTTL),
		Challenge: newChallenge()}
	if f.powOn(c) {
		t.PowBits = f.o.Defences.PowBits
	}
	return FormToken{RenderToken: t.sign(f.o.Keys), PowBits: t.PowBits, ExpiresAt: t.Expires.UTC().Truncate(time.Second)}
}

// Fields returns the hidden inputs the booth form puts inside its <form>
// for c: the render token (with the proof of work's difficulty in
// data-pow-bits for pow.js), the proof of work's answer, and the honeypot.
// The honeypot sits in a box of class "lc-hp" that the form's style sheet
// must move off screen (the CSP allows no inline style); a person never
// sees or fills it, autofill is told to leave it alone, and screen readers
// skip it.
func (f *Forms) Fields(c *leadcap.Conference) template.HTML {
	t := f.Token(c)
	var b strings.Builder
	b.WriteString(`<input type="hidden" name="render_token" value="` + template.HTMLEscapeString(t.RenderToken) + `"`)
	if t.PowBits > 0 {
		b.WriteString(` data-pow-bits="` + strconv.Itoa(t.PowBits) + `"`)
	}
	b.WriteString(`>`)
	if t.PowBits > 0 {
		b.WriteString(`<input type="hidden" name="pow_nonce" value="">`)
	}
	b.WriteString(`<div class="lc-hp" aria-hidden="true"><label>Website <input type="text" name="website" value="" ` +
		`tabindex="-1" autocomplete="off"></label></div>`)
	return template.HTML(b.String())
}

// Screen runs the form abuse defences on a validated submission to c, in
// this fixed order: the kiosk device token (a refused one is an error),
// the honeypot, the render token (present, signed by
// this server's keys, for c, not expired), the minimum fill time (from the
// token's render time, which only a verified token can vouch for), and the
// proof of work (right, and not used before by another submission). It
// returns the reason of the first that fails, or "" when all pass. Before
// the defences it takes a token from c's rate limit, whose refusal is the
// one error a client sees. A reason is never an error: the caller stores
// the lead as spam and answers as for any lead. Screen also returns the id
// of the kiosk device whose token in carries, when it verified one.
func (f *Forms) Screen(ctx context.Context, c *leadcap.Conference, in *intake.Input, caller Caller) (reason, device string, err error) {
	if caller.Trusted {
		return "", "", nil
	}
	if f.o.Shield != nil {
		if err := f.o.Shield.AllowConference(ctx, c.ID, caller.ClientIP, caller.Route); err != nil {
			return "", "", err
		}
	}
	if device, err = f.kioskDevice(ctx, in, c); err != nil {
		return "", "", err
	}
	reason, err = f.defences(ctx, c, in, caller, device)
	return reason, device, err
}

// defences runs Screen's checks after the device token, device being the
// verified token's device or "".
func (f *Forms) defences(ctx context.Context, c *leadcap.Conference, in *intake.Input, caller Caller, device string) (string, error) {
	d := f.o.Defences
	if d.Honeypot && !c.Defences.HoneypotOff && strings.TrimSpace(in.Website) != "" {
		return ReasonHoneypot, nil
	}
	pow := f.powOn(c) && caller.KioskDevice == "" && device == ""
	tokenOn := d.RenderToken && !c.Defences.RenderTokenOff
	// The proof of work's challenge is in the render token, so a
	// conference that asks for it needs the token even if the token's own
	// check is off.
	if !tokenOn && !pow {
		return "", nil
	}
	now := f.o.Now()
	if in.RenderToken == "" {
		return ReasonRenderTokenMissing, nil
	}
	t, ok := parseRenderToken(f.o.Keys, in.RenderToken)
	if !ok || t.ConferenceID != c.ID || t.Rendered.After(now.Add(maxClockSkew)) {
		return ReasonRenderTokenInvalid, nil
	}
	if !now.Before(t.Expires) {
		return ReasonRenderTokenExpired, nil
	}
	if d.MinFillTime > 0 && !c.Defences.FillTimeOff && now.Sub(t.Rendered) < d.MinFillTime {
		return ReasonTooFast, nil
	}
	if !pow {
		return "", nil
	}
	bits := t.PowBits
	if bits == 0 {
		// Rendered before the conference asked for a proof of work: the
		// page offered no puzzle, so no answer can be right.
		return ReasonPowMissing, nil
	}
	if in.PowNonce == "" {
		return ReasonPowMissing, nil
	}
	if !validNonce(in.PowNonce) {
		return ReasonPowWrong, nil
	}
	digest := PowDigest(in.RenderToken, in.PowNonce)
	if zeroBits(digest) < bits {
		return ReasonPowWrong, nil
	}
	fresh, err := f.o.Store.UsePowSolution(ctx, digest[:], in.SubmissionID, t.Expires)
	if err != nil {
		return "", err
	}
	if !fresh {
		return ReasonPowReplayed, nil
	}
	return "", nil
}

// kioskDevice returns the id of the kiosk device whose token in carries,
// if VerifyDevice accepts it for c; "" when there is none or it proves
// nothing; an error when the submission must be refused for it.
func (f *Forms) kioskDevice(ctx context.Context, in *intake.Input, c *leadcap.Conference) (string, error) {
	if in.DeviceToken == "" || f.o.VerifyDevice == nil {
		return "", nil
	}
	return f.o.VerifyDevice(ctx, in.DeviceToken, c.ID)
}
