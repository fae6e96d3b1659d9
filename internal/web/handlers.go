package web

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/capture"
	"github.com/leadcap/leadcap/internal/intake"
	"github.com/leadcap/leadcap/internal/kiosk"
)

// maxSlugLen bounds the conference part of a form URL; longer is no slug.
const maxSlugLen = 64

// kioskMode is how a form is shown: for a visitor's own phone, or on a
// shared tablet, either asked for with ?kiosk=1 or through a signed device
// link that names the tablet.
type kioskMode struct {
	token  string // "" for no kiosk, "1" for ?kiosk=1, else the device token
	device kiosk.Device
}

func (k kioskMode) on() bool { return k.token != "" }

// ServeForm is GET /c/{slug}: the form of an open conference, or a page
// saying why there is none. ?lang= picks the language, ?kiosk=1 the kiosk
// mode, and ?device= a signed kiosk device link.
func (b *Booth) ServeForm(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	cat := b.langs.pick(q.Get("lang"), r.Header.Get("Accept-Language"))
	c, err := b.conference(r.Context(), r.PathValue("slug"))
	if err != nil {
		b.notice(w, r, cat, c, kioskMode{}, err)
		return
	}
	k, err := b.kioskOf(r.Context(), c, q.Get("kiosk"), q.Get("device"))
	if err != nil {
		b.notice(w, r, cat, c, kioskMode{}, err)
		return
	}
	b.page(w, r, http.StatusOK, "form", b.buildForm(c, cat, k, nil, nil))
}

// Submit is POST /c/{slug}, the form sent by a browser without JavaScript.
// It answers with the thank-you page, or with the form again showing every
// value sent and each problem beside its field. Submissions take the same
// path as the API's: intake decodes and validates, capture stores.
func (b *Booth) Submit(w http.ResponseWriter, r *http.Request) {
	cat := b.langs.pick("", r.Header.Get("Accept-Language"))
	c, err := b.conference(r.Context(), r.PathValue("slug"))
	if err != nil {
		b.notice(w, r, cat, c, kioskMode{}, err)
		return
	}
	values, err := readForm(r, b.opts.MaxBodyBytes)
	if err != nil {
		b.notice(w, r, cat, c, kioskMode{}, err)
		return
	}
	cat = b.langs.pick(values.Get("lang"), r.Header.Get("Accept-Language"))
	token := values.Get("kiosk")
	k, err := b.kioskOf(r.Context(), c, token, token)
	if err != nil {
		b.notice(w, r, cat, c, kioskMode{}, err)
		return
	}
	in, err := intake.DecodeForm(values)
	if err != nil {
		b.opts.Metrics.ValidationFailed(leadcap.ErrorFields(err))
		b.notice(w, r, cat, c, k, err)
		return
	}
	in.Conference = c.Slug
	if k.on() {
		in.Source, in.DeviceID = leadcap.SourceKiosk, k.device.ID
	}
	// A tablet with a signed device link skips the proof of work.
	_, _, err = b.opts.Capture.Submit(r.Context(), in, capture.Meta{ClientIP: b.opts.ClientIP(r),
		KioskDevice: k.device.ID, Route: r.Pattern})
	if err != nil {
		b.opts.Metrics.ValidationFailed(leadcap.ErrorFields(err))
	}
	switch code := leadcap.ErrorCode(err); {
	case err == nil:
		b.thanks(w, r, c, cat, k)
	case code == leadcap.EINVALID:
		b.page(w, r, b.opts.ErrorStatus(err), "form", b.buildForm(c, cat, k, values, leadcap.ErrorFields(err)))
	case code == leadcap.ENOTFOUND || code == leadcap.ECONFLICT:
		b.notice(w, r, cat, c, k, err)
	default:
		// The database or the disk failed: show the form again, values
		// kept, so the visitor can try once more.
		b.logFailure(r, err)
		v := b.buildForm(c, cat, k, values, nil)
		v.Summary = []summaryItem{{Target: "lead", Label: cat.T("errors.form"), Message: cat.T("err.failed")}}
		b.page(w, r, b.opts.ErrorStatus(err), "form", v)
	}
}

// readForm reads the body of a form submission, which must be
// application/x-www-form-urlencoded in UTF-8 and uncompressed.
func readForm(r *http.Request, limit int64) (url.Values, error) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if cs, ok := params["charset"]; err != nil || mt != "application/x-www-form-urlencoded" || ok && !strings.EqualFold(cs, "utf-8") {
		return nil, leadcap.Errorf(leadcap.EUNSUPPORTED, "the form must be sent as application/x-www-form-urlencoded in UTF-8")
	}
	if enc := r.Header.Get("Content-Encoding"); enc != "" && !strings.EqualFold(enc, "identity") {
		return nil, leadcap.Errorf(leadcap.EUNSUPPORTED, "compressed request bodies are not supported")
	}
	return intake.ReadForm(r.Body, limit)
}

// conference returns the conference named in a form URL if it takes leads:
// ENOTFOUND when there is none, ECONFLICT (with the conference) when it is
// a draft or closed.
func (b *Booth) conference(ctx context.Context, slug string) (*leadcap.Conference, error) {
	if slug == "" || len(slug) > maxSlugLen {
		return nil, leadcap.Errorf(leadcap.ENOTFOUND, "no such conference")
	}
	c, err := b.opts.Capture.Conference(ctx, slug)
	if err != nil {
		return nil, err
	}
	if c.Status != leadcap.StatusOpen {
		return c, leadcap.Errorf(leadcap.ECONFLICT, "conference %q is %s", c.Slug, c.Status)
	}
	return c, nil
}

// kioskOf returns the kiosk mode that kioskParam ("1" or a token) and
// device (a token) ask for on conference c. A device token must be signed
// for c: a forged one is an EFORBIDDEN error, an expired, revoked or
// replaced one EGONE.
func (b *Booth) kioskOf(ctx context.Context, c *leadcap.Conference, kioskParam, device string) (kioskMode, error) {
	switch {
	case device != "" && device != "1":
		if b.opts.Kiosk == nil {
			return kioskMode{}, leadcap.Errorf(leadcap.EFORBIDDEN, "kiosk device links are not enabled")
		}
		d, err := b.opts.Kiosk.Verify(ctx, device, c.ID, b.opts.Now())
		if err != nil {
			return kioskMode{}, err
		}
		return kioskMode{token: device, device: d}, nil
	case kioskParam == "1":
		return kioskMode{token: "1"}, nil
	}
	return kioskMode{}, nil
}

// thanks answers a stored submission. In kiosk mode the page goes back to
// an empty form by itself after the thank-you time.
func (b *Booth) thanks(w http.ResponseWriter, r *http.Request, c *leadcap.Conference, cat *catalog, k kioskMode) {
	v := &thanksView{base: b.baseOf(c, cat, k), Kiosk: k.on(), Again: formURL(c.Slug, cat.code, k)}
	v.Title = cat.T("thanks.title")
	if k.on() {
		secs := max(1, int(b.opts.KioskThanks.Seconds()+0.5))
		v.Refresh = strconv.Itoa(secs) + ";url=" + v.Again
	}
	b.page(w, r, http.StatusOK, "thanks", v)
}

// notice answers err with a page that says, in the visitor's language,
// why there is no form. c may be nil.
func (b *Booth) notice(w http.ResponseWriter, r *http.Request, cat *catalog, c *leadcap.Conference, k kioskMode, err error) {
	v := &noticeView{base: b.baseOf(c, cat, k)}
	name := ""
	if c != nil {
		name = v.Conf.Name
	}
	switch code := leadcap.ErrorCode(err); {
	case code == leadcap.ENOTFOUND:
		v.Title, v.Text = cat.T("notice.not_found"), cat.T("notice.not_found_text")
	case code == leadcap.ECONFLICT && c != nil && c.Status == leadcap.StatusDraft:
		v.Title, v.Text = cat.T("notice.draft"), cat.T("notice.draft_text", "conference", name)
	case code == leadcap.ECONFLICT:
		v.Title, v.Text = cat.T("notice.closed"), cat.T("notice.closed_text", "conference", name)
	case errors.Is(err, kiosk.ErrRevoked):
		v.Title, v.Text = cat.T("notice.device_revoked"), cat.T("notice.device_revoked_text")
	case code == leadcap.EFORBIDDEN || code == leadcap.EGONE:
		v.Title, v.Text = cat.T("notice.device"), cat.T("notice.device_text")
	case code == leadcap.EINTERNAL || code == leadcap.EUNAVAILABLE:
		b.logFailure(r, err)
		v.Title, v.Text = cat.T("notice.error"), cat.T("notice.error_text")
	default: // a body that our form does not send
		v.Title, v.Text = cat.T("notice.error"), cat.T("err.unreadable")
		if c != nil && c.Status == leadcap.StatusOpen {
			v.Back = formURL(c.Slug, cat.code, k)
		}
	}
	b.page(w, r, b.opts.ErrorStatus(err), "notice", v)
}

// page renders a page and answers it with status. Pages can hold what a
// visitor typed, so no cache keeps them except the browser's service
// worker, which the form opts into.
func (b *Booth) page(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	body, err := b.render(name, data)
	if err != nil {
		b.logFailure(r, err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	if r.Method == http.MethodGet && status == http.StatusOK {
		h.Set("Cache-Control", "no-cache")
	} else {
		h.Set("Cache-Control", "no-store")
	}
	h.Set("Vary", "Accept-Language")
	b.writePage(w, r, status, body)
}

// logFailure logs an error the visitor cannot fix. The error never holds
// what the visitor typed.
func (b *Booth) logFailure(r *http.Request, err error) {
	b.opts.Log.ErrorContext(r.Context(), "booth form failed", "component", "leads", "route", r.Pattern, "err", err)
}
