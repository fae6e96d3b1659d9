package alarms_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leadcap/leadcap/internal/alarms"
	"github.com/leadcap/leadcap/internal/alarms/alarmtest"
	"github.com/leadcap/leadcap/internal/metrics"
)

var secret = []byte("a-shared-webhook-secret")

func sample() alarms.Notification {
	return alarms.Notification{Alarm: "component_errors.leads", Rule: "component_errors", State: "ALARM", Previous: "OK",
		Value: 7, Threshold: 5, Window: "5m0s", Summary: "internal errors of one component: 7 in 5m0s > 5",
		Action: "Read the log lines of that component.", Node: "web-1", At: time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)}
}

func quietDispatcher() *alarms.Dispatcher {
	d := alarms.NewDispatcher(slog.New(slog.NewTextHandler(io.Discard, nil)), metrics.New("test", nil))
	d.Backoff = 10 * time.Millisecond
	return d
}

func TestWebhookSignsAndRetries(t *testing.T) {
	rc := alarmtest.NewReceiver(t, secret)
	w, err := alarms.NewWebhook(rc.URL+"/hooks/leadcap", secret, "leadcap/test")
	if err != nil {
		t.Fatal(err)
	}
	rc.FailNext(2) // two 503s, then success
	d := quietDispatcher()
	if err := d.Deliver(context.Background(), w, sample()); err != nil {
		t.Fatal(err)
	}
	calls := rc.Calls()
	if rc.Attempts() != 3 || len(calls) != 1 || rc.Rejected() != 0 {
		t.Fatalf("attempts %d, accepted %d, rejected %d", rc.Attempts(), len(calls), rc.Rejected())
	}
	c := calls[0]
	if c.Notification != sample() || c.Header.Get(alarms.HeaderEvent) != "alarm" || c.Header.Get("User-Agent") != "leadcap/test" {
		t.Fatalf("call: %+v %v", c.Notification, c.Header)
	}
	// The signature covers the timestamp and the body: change either and
	// it no longer verifies; an old timestamp is refused.
	ts, sig := c.Header.Get(alarms.HeaderTimestamp), c.Header.Get(alarms.HeaderSignature)
	now := time.Now()
	if err := alarms.Verify(secret, sig, ts, c.Body, now, time.Minute); err != nil {
		t.Fatal(err)
	}
	tampered := []byte(strings.Replace(string(c.Body), `"ALARM"`, `"OK"`, 1))
	sec, _ := strconv.ParseInt(ts, 10, 64)
	for name, err := range map[string]error{
		"body":       alarms.Verify(secret, sig, ts, tampered, now, time.Minute),
		"timestamp":  alarms.Verify(secret, sig, strconv.FormatInt(sec+1, 10), c.Body, now, time.Minute),
		"secret":     alarms.Verify([]byte("another secret"), sig, ts, c.Body, now, time.Minute),
		"old":        alarms.Verify(secret, sig, ts, c.Body, now.Add(10*time.Minute), time.Minute),
		"no number":  alarms.Verify(secret, sig, "yesterday", c.Body, now, time.Minute),
		"no sha256=": alarms.Verify(secret, strings.TrimPrefix(sig, "sha256="), ts, c.Body, now, time.Minute),
	} {
		if err == nil {
			t.Errorf("Verify accepted a changed %s", name)
		}
	}
}

func TestWebhookGivesUp(t *testing.T) {
	ctx := context.Background()
	d := quietDispatcher()
	d.Attempts = 3

	// A receiver that refuses the signature answers 401: permanent, one try.
	rc := alarmtest.NewReceiver(t, []byte("the receiver's other secret"))
	w, _ := alarms.NewWebhook(rc.URL, secret, "leadcap/test")
	err := d.Deliver(ctx, w, sample())
	if !errors.Is(err, alarms.ErrPermanent) || rc.Attempts() != 1 {
		t.Fatalf("401: %v after %d attempts", err, rc.Attempts())
	}

	// A receiver that keeps failing: every attempt, then the last error.
	rc2 := alarmtest.NewReceiver(t, secret)
	rc2.FailNext(100)
	w2, _ := alarms.NewWebhook(rc2.URL, secret, "leadcap/test")
	err = d.Deliver(ctx, w2, sample())
	if err == nil || errors.Is(err, alarms.ErrPermanent) || rc2.Attempts() != 3 || !strings.Contains(err.Error(), "503") {
		t.Fatalf("503s: %v after %d attempts", err, rc2.Attempts())
	}

	// A receiver that does not answer in time.
	rc3 := alarmtest.NewReceiver(t, secret)
	w3, _ := alarms.NewWebhook("http://"+rc3.Listener.Addr().String(), secret, "leadcap/test")
	w3.Timeout = time.Nanosecond
	if err := w3.Send(ctx, sample()); err == nil {
		t.Fatal("a send with a 1ns timeout succeeded")
	}

	for _, bad := range []struct{ url, secret string }{{"ftp://x", "s"}, {"http://", "s"}, {"http://x", ""}} {
		if _, err := alarms.NewWebhook(bad.url, []byte(bad.secret), ""); err == nil {
			t.Errorf("NewWebhook(%q, %q) accepted", bad.url, bad.secret)
		}
	}
}

func TestEmail(t *testing.T) {
	srv := alarmtest.NewSMTP(t, "alerts", "s3cret-pass")
	e, err := alarms.NewEmail(srv.URL(), "leadcap@example.com", []string{"ops@example.com", "oncall@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	n := sample()
	n.Node = "web-1\r\nBcc: attacker@example.com" // a header must not be injected
	if err := quietDispatcher().Deliver(context.Background(), e, n); err != nil {
		t.Fatal(err)
	}
	mails := srv.Mails()
	if len(mails) != 1 {
		t.Fatalf("%d mails", len(mails))
	}
	m := mails[0]
	if m.From != "leadcap@example.com" || strings.Join(m.To, ",") != "ops@example.com,oncall@example.com" {
		t.Fatalf("envelope: %s -> %v", m.From, m.To)
	}
	if !strings.HasPrefix(m.Subject, "[leadcap] ALARM component_errors.leads on web-1") || m.Header.Get("Bcc") != "" {
		t.Fatalf("subject %q, bcc %q", m.Subject, m.Header.Get("Bcc"))
	}
	for _, want := range []string{"ALARM: component_errors.leads", "7 in 5m0s > 5", "What to do: Read the log lines", "was OK"} {
		if !strings.Contains(m.Body, want) {
			t.Errorf("body lacks %q:\n%s", want, m.Body)
		}
	}
	if m.Header.Get("Auto-Submitted") != "auto-generated" {
		t.Errorf("headers: %v", m.Header)
	}

	// Wrong credentials: the server's 535 is permanent.
	bad, _ := alarms.NewEmail("smtp://alerts:wrong@"+srv.Addr, "leadcap@example.com", []string{"ops@example.com"})
	if err := bad.Send(context.Background(), sample()); !errors.Is(err, alarms.ErrPermanent) {
		t.Fatalf("wrong password: %v", err)
	}
	// Nobody listening: a temporary failure.
	closed, _ := alarms.NewEmail("smtp://127.0.0.1:1", "leadcap@example.com", []string{"ops@example.com"})
	if err := closed.Send(context.Background(), sample()); err == nil || errors.Is(err, alarms.ErrPermanent) {
		t.Fatalf("closed port: %v", err)
	}
	for _, c := range []struct{ url, from, to string }{
		{"http://x", "a@example.com", "b@example.com"},
		{"smtp://x", "not an address", "b@example.com"},
		{"smtp://x", "a@example.com", "b@example.com\r\nBcc: c@example.com"},
	} {
		if _, err := alarms.NewEmail(c.url, c.from, []string{c.to}); err == nil {
			t.Errorf("NewEmail(%q, %q, %q) accepted", c.url, c.from, c.to)
		}
	}
}

func TestDispatcherQueuesPerChannel(t *testing.T) {
	rc := alarmtest.NewReceiver(t, secret)
	srv := alarmtest.NewSMTP(t, "", "")
	w, _ := alarms.NewWebhook(rc.URL, secret, "leadcap/test")
	e, _ := alarms.NewEmail(srv.URL(), "leadcap@example.com", []string{"ops@example.com"})
	d := alarms.NewDispatcher(slog.New(slog.NewTextHandler(io.Discard, nil)), nil, w, e)
	d.Backoff = 10 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	rc.FailNext(1) // the webhook's retry must not hold up the email
	d.Enqueue(sample())
	if _, ok := srv.WaitFor(5*time.Second, func(m alarmtest.Mail) bool { return true }); !ok {
		t.Fatal("no email")
	}
	if _, ok := rc.WaitFor(5*time.Second, func(n alarms.Notification) bool { return n == sample() }); !ok {
		t.Fatal("no webhook call")
	}
	cancel()
	<-done
	if got := d.Channels(); strings.Join(got, ",") != "webhook,email" {
		t.Fatalf("channels %v", got)
	}
}
