package store

import (
	"context"
	"fmt"
	"time"

	"github.com/leadcap/leadcap"
)

const alarmColumns = `node, alarm, state, value, threshold, window_ms, summary, since, checked_at`

// upsertAlarm writes the state row of a.
func upsertAlarm(tx *Tx, a leadcap.Alarm) error {
	_, err := tx.exec(`INSERT INTO alarm_states (`+alarmColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (node, alarm) DO UPDATE SET state = excluded.state, value = excluded.value,
		threshold = excluded.threshold, window_ms = excluded.window_ms, summary = excluded.summary,
		since = excluded.since, checked_at = excluded.checked_at`,
		a.Node, a.Name, a.State, a.Value, a.Threshold, a.Window.Milliseconds(), a.Summary, micros(a.Since), micros(a.CheckedAt))
	return err
}

// SaveAlarms writes the current state of each alarm, replacing what was
// stored for it; the evaluator calls it on start and now and then, so that
// the stored values and check times stay fresh.
func (s *Store) SaveAlarms(ctx context.Context, alarms []leadcap.Alarm) error {
	err := s.write(ctx, func(tx *Tx) error {
		for _, a := range alarms {
			if err := upsertAlarm(tx, a); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: save alarms: %w", err)
	}
	return nil
}

// RecordAlarmChange stores a change of state: the event in the history and
// the alarm's new state, together.
func (s *Store) RecordAlarmChange(ctx context.Context, ev leadcap.AlarmEvent, now leadcap.Alarm) error {
	err := s.write(ctx, func(tx *Tx) error {
		if _, err := tx.exec(`INSERT INTO alarm_events (node, alarm, state, previous, value, threshold, window_ms, summary, at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			ev.Node, ev.Name, ev.State, ev.Previous, ev.Value, ev.Threshold, ev.Window.Milliseconds(), ev.Summary, micros(ev.At)); err != nil {
			return err
		}
		return upsertAlarm(tx, now)
	})
	if err != nil {
		return fmt.Errorf("store: record alarm change: %w", err)
	}
	return nil
}

// ForgetAlarms removes the state rows of node's alarms that are not in keep
// (rules turned off or renamed); their history stays. It returns how many
// it removed.
func (s *Store) ForgetAlarms(ctx context.Context, node string, keep []string) (int, error) {
	var n int
	err := s.write(ctx, func(tx *Tx) error {
		n = 0
		rows, err := tx.query(`SELECT alarm FROM alarm_states WHERE node = $1`, node)
		if err != nil {
			return err
		}
		var drop []string
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				rows.Close()
				return err
			}
			if !contains(keep, name) {
				drop = append(drop, name)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, name := range drop {
			if _, err := tx.exec(`DELETE FROM alarm_states WHERE node = $1 AND alarm = $2`, node, name); err != nil {
				return err
			}
		}
		n = len(drop)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: forget alarms: %w", err)
	}
	return n, nil
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

// Alarms returns the current state of every alarm of node, or of every node
// when node is "", by node and name.
func (s *Store) Alarms(ctx context.Context, node string) ([]leadcap.Alarm, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+alarmColumns+` FROM alarm_states
		WHERE $1 = '' OR node = $1 ORDER BY node, alarm`, node)
	if err != nil {
		return nil, fmt.Errorf("store: alarms: %w", err)
	}
	defer rows.Close()
	var out []leadcap.Alarm
	for rows.Next() {
		var a leadcap.Alarm
		var window, since, checked int64
		if err := rows.Scan(&a.Node, &a.Name, &a.State, &a.Value, &a.Threshold, &window, &a.Summary, &since, &checked); err != nil {
			return nil, fmt.Errorf("store: alarms: %w", err)
		}
		a.Window, a.Since, a.CheckedAt = time.Duration(window)*time.Millisecond, fromMicros(since), fromMicros(checked)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: alarms: %w", err)
	}
	return out, nil
}

// AlarmHistoryFilter selects alarm events. Zero values select everything.
type AlarmHistoryFilter struct {
	Node  string
	Alarm string
	Limit int // newest Limit events; default 50, at most 1000
}

// AlarmHistory returns alarm state changes, newest first.
func (s *Store) AlarmHistory(ctx context.Context, f AlarmHistoryFilter) ([]leadcap.AlarmEvent, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	f.Limit = min(f.Limit, 1000)
	rows, err := s.db.QueryContext(ctx, `SELECT id, node, alarm, state, previous, value, threshold, window_ms, summary, at
		FROM alarm_events WHERE ($1 = '' OR node = $1) AND ($2 = '' OR alarm = $2)
		ORDER BY id DESC LIMIT $3`, f.Node, f.Alarm, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("store: alarm history: %w", err)
	}
	defer rows.Close()
	var out []leadcap.AlarmEvent
	for rows.Next() {
		var e leadcap.AlarmEvent
		var window, at int64
		if err := rows.Scan(&e.ID, &e.Node, &e.Name, &e.State, &e.Previous, &e.Value, &e.Threshold, &window, &e.Summary, &at); err != nil {
			return nil, fmt.Errorf("store: alarm history: %w", err)
		}
		e.Window, e.At = time.Duration(window)*time.Millisecond, fromMicros(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: alarm history: %w", err)
	}
	return out, nil
}

// LeadCounts are the leads created in a period.
type LeadCounts struct {
	Leads int64 // spam excluded
	Spam  int64 // kept in quarantine
}

// CountLeadsSince counts the leads created at or after since, across every
// conference.
func (s *Store) CountLeadsSince(ctx context.Context, since time.Time) (LeadCounts, error) {
	var c LeadCounts
	err := s.db.QueryRowContext(ctx, `SELECT
		coalesce(sum(CASE WHEN spam THEN 0 ELSE 1 END), 0), coalesce(sum(CASE WHEN spam THEN 1 ELSE 0 END), 0)
		FROM leads WHERE created_at >= $1`, micros(since)).Scan(&c.Leads, &c.Spam)
	if err != nil {
		return LeadCounts{}, fmt.Errorf("store: count leads: %w", err)
	}
	return c, nil
}
