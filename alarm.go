package leadcap

import "time"

// Alarm states.
const (
	AlarmOK    = "OK"    // the watched value is within its threshold
	AlarmFired = "ALARM" // the watched value crossed its threshold
)

// Alarm is the current state of one built-in alarm on one server (node).
// Each server evaluates its own metrics, so servers sharing a database each
// have their own row per alarm.
type Alarm struct {
	Node  string `json:"node"`
	Name  string `json:"name"`  // e.g. api_5xx, component_errors.leads
	State string `json:"state"` // AlarmOK or AlarmFired
	// Value is the watched quantity at the last check: a count over Window,
	// or for a level (outbox lag) its current value.
	Value     float64       `json:"value"`
	Threshold float64       `json:"threshold"`
	Window    time.Duration `json:"window_ns"` // 0 for a level
	Summary   string        `json:"summary"`   // one line: what was seen against what limit
	Since     time.Time     `json:"since"`     // when it entered State
	CheckedAt time.Time     `json:"checked_at"`
}

// AlarmEvent is one change of an alarm's state, kept as its history.
type AlarmEvent struct {
	ID        int64         `json:"id"`
	Node      string        `json:"node"`
	Name      string        `json:"name"`
	State     string        `json:"state"`
	Previous  string        `json:"previous"`
	Value     float64       `json:"value"`
	Threshold float64       `json:"threshold"`
	Window    time.Duration `json:"window_ns"`
	Summary   string        `json:"summary"`
	At        time.Time     `json:"at"`
}

// AlarmStaleAfter is how long a stored alarm state is believed without a new
// check. A running server checks its alarms at least every 30 seconds; the
// states of a server that stopped stay behind and go stale.
const AlarmStaleAfter = 3 * time.Minute

// Stale reports whether no server has checked a for AlarmStaleAfter.
func (a Alarm) Stale(now time.Time) bool { return now.Sub(a.CheckedAt) > AlarmStaleAfter }

// Firing reports whether a is in state ALARM and not stale.
func (a Alarm) Firing(now time.Time) bool { return a.State == AlarmFired && !a.Stale(now) }
