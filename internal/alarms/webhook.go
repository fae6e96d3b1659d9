package alarms

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Webhook headers. The signature is "sha256=" and the hex HMAC-SHA256,
// keyed with the shared secret, of the timestamp header's value, a dot, and
// the body: a receiver recomputes it (Verify) and refuses old timestamps,
// so a captured call cannot be replayed later.
const (
	HeaderSignature = "X-Leadcap-Signature"
	HeaderTimestamp = "X-Leadcap-Timestamp"
	HeaderEvent     = "X-Leadcap-Event"
)

// Webhook posts each notification as JSON to URL, signed with Secret.
type Webhook struct {
	URL       string
	Secret    []byte
	UserAgent string        // e.g. leadcap/v1.2.3
	Timeout   time.Duration // per attempt; default 10s
	Client    *http.Client  // default: one that follows no redirects
	Now       func() time.Time
}

// NewWebhook returns a webhook to rawURL, an http or https URL, signed
// with secret, which must not be empty.
func NewWebhook(rawURL string, secret []byte, userAgent string) (*Webhook, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("alarms: webhook: want an http(s) URL")
	}
	if len(secret) == 0 {
		return nil, errors.New("alarms: webhook: a signing secret is required")
	}
	return &Webhook{URL: rawURL, Secret: secret, UserAgent: userAgent}, nil
}

// Name implements Channel.
func (w *Webhook) Name() string { return "webhook" }

// Send implements Channel: one signed POST. A 2xx answer is success; 408,
// 429 and 5xx answers and network errors may be retried; any other answer
// is a permanent failure.
func (w *Webhook) Send(ctx context.Context, n Notification) error {
	body, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	timeout := w.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	ts := strconv.FormatInt(now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", w.UserAgent)
	req.Header.Set(HeaderEvent, "alarm")
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, Sign(w.Secret, ts, body))
	client := w.Client
	if client == nil {
		client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	res, err := client.Do(req)
	if err != nil {
		// The URL may carry a token: name the host only.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return fmt.Errorf("webhook: post to %s: %w", req.URL.Host, err)
	}
	io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	switch {
	case res.StatusCode/100 == 2:
		return nil
	case res.StatusCode == http.StatusRequestTimeout, res.StatusCode == http.StatusTooManyRequests, res.StatusCode >= 500:
		return fmt.Errorf("webhook: %s answered %s", req.URL.Host, res.Status)
	}
	return fmt.Errorf("webhook: %s answered %s: %w", req.URL.Host, res.Status, ErrPermanent)
}

// Sign returns the signature header value for body sent at timestamp.
func Sign(secret []byte, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(timestamp))
	mac.Write([]byte("."))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify checks a webhook call as a receiver should: the signature matches
// body and timestamp under secret, and the timestamp is within tolerance of
// now.
func Verify(secret []byte, signature, timestamp string, body []byte, now time.Time, tolerance time.Duration) error {
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return errors.New("alarms: webhook: bad timestamp")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return errors.New("alarms: webhook: timestamp too far from now")
	}
	if !hmac.Equal([]byte(signature), []byte(Sign(secret, timestamp, body))) {
		return errors.New("alarms: webhook: bad signature")
	}
	return nil
}
