// Package alarmtest gives tests real receivers of alarm notifications: an
// SMTP server on loopback (github.com/emersion/go-smtp) that keeps the
// messages it gets, and an HTTP webhook receiver that checks each call's
// signature. Only tests import it.
package alarmtest

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/leadcap/leadcap/internal/alarms"
)

// Mail is one message the SMTP server accepted.
type Mail struct {
	From    string
	To      []string
	Subject string
	Body    string // decoded text
	Header  mail.Header
}

// SMTPServer is a running SMTP server that keeps every message.
type SMTPServer struct {
	Addr           string // host:port on loopback
	User, Password string // the credentials it requires; "" requires none

	mu    sync.Mutex
	mails []Mail
}

// NewSMTP starts an SMTP server on loopback, stopped when t ends. With a
// user it requires AUTH PLAIN with user and password.
func NewSMTP(t testing.TB, user, password string) *SMTPServer {
	t.Helper()
	s := &SMTPServer{User: user, Password: password}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{server: s}, nil
	}))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true // loopback without TLS, as leadcap allows
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.MaxMessageBytes = 1 << 20
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

// URL returns the smtp:// URL leadcap is configured with.
func (s *SMTPServer) URL() string {
	if s.User == "" {
		return "smtp://" + s.Addr
	}
	return "smtp://" + s.User + ":" + s.Password + "@" + s.Addr
}

// Mails returns the messages received so far.
func (s *SMTPServer) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mails...)
}

// WaitFor waits up to timeout for a message that match accepts.
func (s *SMTPServer) WaitFor(timeout time.Duration, match func(Mail) bool) (Mail, bool) {
	deadline := time.Now().Add(timeout)
	for {
		for _, m := range s.Mails() {
			if match(m) {
				return m, true
			}
		}
		if time.Now().After(deadline) {
			return Mail{}, false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// session is one SMTP session: it implements smtp.Session and, for AUTH
// PLAIN, smtp.AuthSession.
type session struct {
	server *SMTPServer
	authed bool
	from   string
	to     []string
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, password string) error {
		if user != s.server.User || password != s.server.Password {
			return smtp.ErrAuthFailed
		}
		s.authed = true
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.server.User != "" && !s.authed {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	msg, err := mail.ReadMessage(r)
	if err != nil {
		return err
	}
	var body []byte
	if msg.Header.Get("Content-Transfer-Encoding") == "quoted-printable" {
		body, err = io.ReadAll(quotedprintable.NewReader(msg.Body))
	} else {
		body, err = io.ReadAll(msg.Body)
	}
	if err != nil {
		return err
	}
	s.server.mu.Lock()
	s.server.mails = append(s.server.mails, Mail{From: s.from, To: s.to, Subject: msg.Header.Get("Subject"),
		Body: string(body), Header: msg.Header})
	s.server.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

// Call is one webhook call the receiver accepted.
type Call struct {
	Notification alarms.Notification
	Header       http.Header
	Body         []byte
}

// Receiver is a webhook receiver that accepts only correctly signed calls.
type Receiver struct {
	*httptest.Server
	Secret []byte

	mu       sync.Mutex
	calls    []Call
	failNext int // answer 503 to this many more calls
	attempts int
	rejected int // calls with a bad signature or body
}

// NewReceiver starts a webhook receiver on loopback that checks signatures
// with secret, stopped when t ends.
func NewReceiver(t testing.TB, secret []byte) *Receiver {
	rc := &Receiver{Secret: secret}
	rc.Server = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *Receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.attempts++
	if rc.failNext > 0 {
		rc.failNext--
		http.Error(w, "try later", http.StatusServiceUnavailable)
		return
	}
	var n alarms.Notification
	if err != nil || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" ||
		alarms.Verify(rc.Secret, r.Header.Get(alarms.HeaderSignature), r.Header.Get(alarms.HeaderTimestamp), body, time.Now(), 5*time.Minute) != nil ||
		json.NewDecoder(bytes.NewReader(body)).Decode(&n) != nil {
		rc.rejected++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	rc.calls = append(rc.calls, Call{Notification: n, Header: r.Header.Clone(), Body: body})
	w.WriteHeader(http.StatusNoContent)
}

// FailNext makes the receiver answer 503 to the next n calls.
func (rc *Receiver) FailNext(n int) {
	rc.mu.Lock()
	rc.failNext = n
	rc.mu.Unlock()
}

// Calls returns the accepted calls so far.
func (rc *Receiver) Calls() []Call {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]Call(nil), rc.calls...)
}

// Attempts returns how many calls arrived, accepted or not.
func (rc *Receiver) Attempts() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.attempts
}

// Rejected returns how many calls had a bad signature or body.
func (rc *Receiver) Rejected() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.rejected
}

// WaitFor waits up to timeout for an accepted call that match accepts.
func (rc *Receiver) WaitFor(timeout time.Duration, match func(alarms.Notification) bool) (Call, bool) {
	deadline := time.Now().Add(timeout)
	for {
		for _, c := range rc.Calls() {
			if match(c.Notification) {
				return c, true
			}
		}
		if time.Now().After(deadline) {
			return Call{}, false
		}
		time.Sleep(20 * time.Millisecond)
	}
}
