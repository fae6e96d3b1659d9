package alarms

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"net/url"
	"strings"
	"time"
)

// Email sends each notification as a plain-text message over SMTP.
type Email struct {
	server   *url.URL // smtp://[user:password@]host[:port] or smtps://...
	From     string
	To       []string
	Hello    string        // the name given in HELO; default "localhost"
	Timeout  time.Duration // per attempt; default 30s
	Now      func() time.Time
	implicit bool // smtps: TLS from the first byte
}

// NewEmail returns an email channel through the server named by rawURL:
// smtp://[user:password@]host[:port] (port 587 by default; STARTTLS is used
// whenever the server offers it, and credentials are sent only over TLS or
// to a server on loopback) or smtps://... (TLS from the start, port 465).
// from and every address in to must be email addresses.
func NewEmail(rawURL, from string, to []string) (*Email, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" {
		return nil, errors.New("alarms: email: want an smtp:// or smtps:// URL")
	}
	if _, err := mail.ParseAddress(from); err != nil || strings.ContainsAny(from, "\r\n") {
		return nil, fmt.Errorf("alarms: email: bad sender address %q", from)
	}
	if len(to) == 0 {
		return nil, errors.New("alarms: email: no recipients")
	}
	for _, a := range to {
		if _, err := mail.ParseAddress(a); err != nil || strings.ContainsAny(a, "\r\n") {
			return nil, fmt.Errorf("alarms: email: bad recipient address %q", a)
		}
	}
	return &Email{server: u, From: from, To: to, implicit: u.Scheme == "smtps"}, nil
}

// Name implements Channel.
func (e *Email) Name() string { return "email" }

func (e *Email) addr() string {
	port := e.server.Port()
	if port == "" {
		port = "587"
		if e.implicit {
			port = "465"
		}
	}
	return net.JoinHostPort(e.server.Hostname(), port)
}

// Send implements Channel: one SMTP session that sends one message to every
// recipient. A recipient or sender refused with a 5xx reply is permanent.
func (e *Email) Send(ctx context.Context, n Notification) error {
	timeout := e.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	host := e.server.Hostname()
	dialer := &net.Dialer{Timeout: timeout}
	var conn net.Conn
	var err error
	if e.implicit {
		conn, err = (&tls.Dialer{NetDialer: dialer, Config: &tls.Config{ServerName: host}}).DialContext(ctx, "tcp", e.addr())
	} else {
		conn, err = dialer.DialContext(ctx, "tcp", e.addr())
	}
	if err != nil {
		return fmt.Errorf("email: connect to %s: %w", e.addr(), err)
	}
	defer conn.Close()
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()

	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return fmt.Errorf("email: %s: %w", e.addr(), err)
	}
	defer c.Close()
	hello := e.Hello
	if hello == "" {
		hello = "localhost"
	}
	if err := c.Hello(hello); err != nil {
		return smtpErr("hello", err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok && !e.implicit {
		if err := c.StartTLS(&tls.Config{ServerName: host}); err != nil {
			return smtpErr("starttls", err)
		}
	}
	if user := e.server.User; user != nil {
		pass, _ := user.Password()
		// smtp.PlainAuth refuses to send credentials without TLS unless the
		// server is on loopback.
		if err := c.Auth(smtp.PlainAuth("", user.Username(), pass, host)); err != nil {
			return smtpErr("auth", err)
		}
	}
	if err := c.Mail(e.From); err != nil {
		return smtpErr("mail from", err)
	}
	for _, to := range e.To {
		if err := c.Rcpt(to); err != nil {
			return smtpErr("rcpt to", err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return smtpErr("data", err)
	}
	if _, err := w.Write(e.message(n)); err != nil {
		return smtpErr("data", err)
	}
	if err := w.Close(); err != nil {
		return smtpErr("data", err)
	}
	return c.Quit()
}

// smtpErr wraps an SMTP failure; a 5xx reply is permanent.
func smtpErr(step string, err error) error {
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return fmt.Errorf("email: %s: %w: %w", step, err, ErrPermanent)
	}
	return fmt.Errorf("email: %s: %w", step, err)
}

// Subject returns the subject line of the message for n.
func Subject(n Notification) string {
	s := fmt.Sprintf("[leadcap] %s %s on %s", n.State, n.Alarm, n.Node)
	if n.Test {
		s = "[leadcap] test notification from " + n.Node
	}
	return headerSafe(s)
}

// message builds the message for n: plain text, quoted-printable.
func (e *Email) message(n Notification) []byte {
	now := time.Now
	if e.Now != nil {
		now = e.Now
	}
	var id [12]byte
	rand.Read(id[:])
	var b bytes.Buffer
	header := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, headerSafe(v)) }
	header("From", e.From)
	header("To", strings.Join(e.To, ", "))
	header("Subject", Subject(n))
	header("Date", now().Format(time.RFC1123Z))
	header("Message-ID", "<"+hex.EncodeToString(id[:])+"@leadcap.alarms>")
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	header("Auto-Submitted", "auto-generated")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	qp.Write([]byte(strings.ReplaceAll(body(n), "\n", "\r\n")))
	qp.Close()
	return b.Bytes()
}

// body is the text of the message for n.
func body(n Notification) string {
	var b strings.Builder
	if n.Test {
		fmt.Fprintf(&b, "This is a test notification from leadcap on %s, sent at %s.\n", n.Node, n.At.Format(time.RFC3339))
		b.WriteString("Alarm notifications reach you this way.\n")
		return b.String()
	}
	fmt.Fprintf(&b, "%s: %s on %s at %s (was %s).\n\n", n.State, n.Alarm, n.Node, n.At.Format(time.RFC3339), n.Previous)
	fmt.Fprintf(&b, "%s\n", n.Summary)
	if n.Action != "" {
		fmt.Fprintf(&b, "\nWhat to do: %s\n", n.Action)
	}
	b.WriteString("\nThe history of every alarm: leadcap alarms history\n")
	return b.String()
}

// headerSafe removes what could end a header line.
func headerSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}
