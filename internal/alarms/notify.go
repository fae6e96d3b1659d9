package alarms

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/leadcap/leadcap/internal/metrics"
)

// Notification is what a channel sends on a change of an alarm's state. It
// is also the JSON body of a webhook call.
type Notification struct {
	Alarm     string    `json:"alarm"`              // e.g. component_errors.leads
	Rule      string    `json:"rule"`               // e.g. component_errors
	State     string    `json:"state"`              // OK or ALARM
	Previous  string    `json:"previous,omitempty"` // the state before
	Value     float64   `json:"value"`
	Threshold float64   `json:"threshold"`
	Window    string    `json:"window,omitempty"` // e.g. 5m0s; empty for a level
	Summary   string    `json:"summary"`
	Action    string    `json:"action,omitempty"` // what to do, when it fires
	Node      string    `json:"node"`
	At        time.Time `json:"at"`
	// Test marks a notification sent by `leadcap alarms test`.
	Test bool `json:"test,omitempty"`
}

// Channel delivers notifications: Webhook and Email.
type Channel interface {
	// Name is "webhook" or "email".
	Name() string
	// Send makes one attempt. An error wrapping ErrPermanent is not retried.
	Send(ctx context.Context, n Notification) error
}

// ErrPermanent marks a failure that a retry cannot fix (a webhook that
// answers 400, say).
var ErrPermanent = errors.New("permanent failure")

// Dispatcher delivers notifications to its channels in the background,
// each channel on its own queue, so a slow webhook does not hold up email.
// Each delivery is retried with exponential backoff.
type Dispatcher struct {
	Log     *slog.Logger
	Metrics *metrics.Metrics
	// Attempts is how many times a delivery is tried; default 5.
	Attempts int
	// Backoff is the wait before the first retry; it doubles up to a minute.
	// Default 1s.
	Backoff time.Duration

	channels []Channel
	queues   []chan Notification
}

// NewDispatcher returns a dispatcher to channels; call Run to deliver.
func NewDispatcher(log *slog.Logger, m *metrics.Metrics, channels ...Channel) *Dispatcher {
	d := &Dispatcher{Log: log, Metrics: m, channels: channels}
	for range channels {
		d.queues = append(d.queues, make(chan Notification, 100))
	}
	return d
}

// Channels returns the names of the configured channels.
func (d *Dispatcher) Channels() []string {
	var out []string
	for _, c := range d.channels {
		out = append(out, c.Name())
	}
	return out
}

// Enqueue queues n on every channel without waiting. A channel whose queue
// is full drops n, with an error in the log.
func (d *Dispatcher) Enqueue(n Notification) {
	for i, q := range d.queues {
		select {
		case q <- n:
		default:
			d.Log.Error("alarm notification dropped: queue full", "component", "alarms", "channel", d.channels[i].Name(), "alarm", n.Alarm)
			d.Metrics.Error("alarms")
			d.Metrics.AlarmNotification(d.channels[i].Name(), false)
		}
	}
}

// Run delivers queued notifications until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) {
	done := make(chan struct{})
	for i, c := range d.channels {
		go func() {
			defer func() { done <- struct{}{} }()
			for {
				select {
				case <-ctx.Done():
					return
				case n := <-d.queues[i]:
					if err := d.Deliver(ctx, c, n); err != nil && ctx.Err() == nil {
						d.Log.Error("alarm notification failed", "component", "alarms", "channel", c.Name(), "alarm", n.Alarm, "err", err)
						d.Metrics.Error("alarms")
					}
				}
			}
		}()
	}
	for range d.channels {
		<-done
	}
}

// Deliver sends n on c, retrying failures with backoff, and records the
// outcome. It returns the last error when every attempt failed.
func (d *Dispatcher) Deliver(ctx context.Context, c Channel, n Notification) error {
	attempts, wait := d.Attempts, d.Backoff
	if attempts <= 0 {
		attempts = 5
	}
	if wait <= 0 {
		wait = time.Second
	}
	var err error
	for i := 1; ; i++ {
		if err = c.Send(ctx, n); err == nil {
			d.Metrics.AlarmNotification(c.Name(), true)
			return nil
		}
		if errors.Is(err, ErrPermanent) || i == attempts || ctx.Err() != nil {
			break
		}
		d.Log.Warn("alarm notification failed, will retry", "component", "alarms", "channel", c.Name(),
			"alarm", n.Alarm, "attempt", i, "retry_in", wait.String(), "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Minute)
	}
	d.Metrics.AlarmNotification(c.Name(), false)
	return fmt.Errorf("alarms: %s: %w", c.Name(), err)
}
