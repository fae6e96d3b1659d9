package export

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/url"
	"strconv"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/crypto"
)

// Download links are /api/v1/exports/<id>/download?expires=<unix seconds>&sig=<mac>,
// where mac is the key ring's keyed PRF (HMAC-SHA256 with the blind index
// key) of the export id and the expiry, in unpadded base64url. The link
// alone grants the download until it expires, like a presigned URL: share
// it as you would the file.

// View is how the API and the CLI show an export: the record, and while it
// is done a fresh download link.
type View struct {
	*leadcap.Export
	URL          string    `json:"url,omitempty"`
	URLExpiresAt time.Time `json:"url_expires_at,omitzero"`
}

// ParseLinkTTL reads how long a link should work, like "15m" or "48h":
// more than nothing, at most MaxLinkTTL. Empty is the default (zero).
func ParseLinkTTL(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 || d > MaxLinkTTL {
		return 0, leadcap.FieldErrors(map[string]string{"link_ttl": "want a duration like 15m or 24h, at most 168h (7 days)"})
	}
	return d, nil
}

// View returns e with a download link valid for ttl (0 for the default),
// but not past the export's own expiry. Only a done export has a link.
func (s *Service) View(e *leadcap.Export, ttl time.Duration) View {
	v := View{Export: e}
	if e.Status != leadcap.ExportDone {
		return v
	}
	if ttl <= 0 {
		ttl = s.cfg.LinkTTL
	}
	exp := s.cfg.Now().Add(min(ttl, MaxLinkTTL)).Truncate(time.Second)
	if exp.After(e.ExpiresAt) {
		exp = e.ExpiresAt.Truncate(time.Second)
	}
	v.URL, v.URLExpiresAt = s.link(e.ID, exp.Unix()), exp.UTC()
	return v
}

func (s *Service) link(id string, expires int64) string {
	q := url.Values{"expires": {strconv.FormatInt(expires, 10)}, "sig": {linkMAC(s.cfg.Keys, id, expires)}}
	return s.cfg.BaseURL + "/api/v1/exports/" + url.PathEscape(id) + "/download?" + q.Encode()
}

func linkMAC(keys *crypto.KeyRing, id string, expires int64) string {
	return base64.RawURLEncoding.EncodeToString(keys.BlindIndex("export-download", id+"\n"+strconv.FormatInt(expires, 10)))
}

// Download checks a download link and opens the export it names. A link
// whose signature does not match is EFORBIDDEN, an expired one EGONE;
// both are audited as denied. The reader decrypts as it is read, and its
// Read fails if the file is not the one recorded (size and SHA-256), so a
// caller that has sent part of it must abort rather than finish.
func (s *Service) Download(ctx context.Context, id, expires, sig string, m Meta) (*leadcap.Export, io.ReadCloser, error) {
	deny := func(reason string, err error) (*leadcap.Export, io.ReadCloser, error) {
		ev := AuditEvent{Action: AuditDownload, ExportID: id, Actor: m.Actor, ClientIP: m.ClientIP,
			UserAgent: m.UserAgent, Result: AuditDenied, Detail: map[string]string{"reason": reason}}
		if aerr := s.audit(ctx, ev); aerr != nil {
			return nil, nil, errors.Join(err, aerr)
		}
		return nil, nil, err
	}
	exp, perr := strconv.ParseInt(expires, 10, 64)
	want, derr := base64.RawURLEncoding.DecodeString(sig)
	got, _ := base64.RawURLEncoding.DecodeString(linkMAC(s.cfg.Keys, id, exp))
	if perr != nil || derr != nil || !crypto.ConstantTimeEqual(want, got) {
		return deny("bad signature", leadcap.Errorf(leadcap.EFORBIDDEN, "this download link is not valid"))
	}
	if s.cfg.Now().Unix() >= exp {
		return deny("link expired", leadcap.Errorf(leadcap.EGONE, "this download link has expired; ask for a new one"))
	}
	e, err := s.cfg.Store.Export(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if e.Status != leadcap.ExportDone {
		return nil, nil, leadcap.Errorf(leadcap.ECONFLICT, "export %s is %s, not done", id, e.Status)
	}
	r, _, err := s.cfg.Blob.Get(ctx, e.ObjectKey)
	if err != nil {
		return nil, nil, fmt.Errorf("export: open %s: %w", e.ObjectKey, err)
	}
	ev := AuditEvent{Action: AuditDownload, ExportID: id, Actor: m.Actor, ClientIP: m.ClientIP, UserAgent: m.UserAgent,
		Result: AuditSuccess, Detail: map[string]string{"format": e.Format, "rows": strconv.FormatInt(e.Rows, 10)}}
	if err := s.audit(ctx, ev); err != nil {
		r.Close()
		return nil, nil, err
	}
	return e, &checkedReader{r: crypto.NewOpenReader(r, s.cfg.Keys, streamName(id)), c: r, h: sha256.New(), want: e}, nil
}

// checkedReader reads an export's plaintext and fails at the end unless
// its size and SHA-256 are the recorded ones.
type checkedReader struct {
	r    io.Reader
	c    io.Closer
	h    hash.Hash
	n    int64
	want *leadcap.Export
}

func (c *checkedReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	if c.n > c.want.Bytes {
		return n, fmt.Errorf("export %s: longer than the %d bytes recorded", c.want.ID, c.want.Bytes)
	}
	if errors.Is(err, io.EOF) {
		if sum := hex.EncodeToString(c.h.Sum(nil)); c.n != c.want.Bytes || sum != c.want.SHA256 {
			return n, fmt.Errorf("export %s: %d bytes with SHA-256 %s, recorded %d bytes with %s",
				c.want.ID, c.n, sum, c.want.Bytes, c.want.SHA256)
		}
	}
	return n, err
}

func (c *checkedReader) Close() error { return c.c.Close() }
