package shield

import (
	"sync"
	"time"

	"github.com/leadcap/leadcap"
)

// Bounds of the block record: under attack the shield writes at most
// maxRowsPerSecond rows for each second (per server), whatever the number of
// requests it refuses, and keeps at most maxPendingSeconds seconds of them
// while the database is slow or down.
const (
	maxRowsPerSecond  = 100
	maxPendingSeconds = 60
	// OtherIP stands for the client IPs past the cap of a second.
	OtherIP = "other"
)

type recordKey struct {
	sec      int64
	rule, ip string
}

// recorder counts refused requests per second, rule and client IP, for the
// block record in the database.
type recorder struct {
	mu   sync.Mutex
	rows map[recordKey]*leadcap.ShieldBlockRecord
	keys map[int64]int // distinct keys per second
}

func newRecorder() *recorder {
	return &recorder{rows: map[recordKey]*leadcap.ShieldBlockRecord{}, keys: map[int64]int{}}
}

// add counts one refused request.
func (r *recorder) add(at time.Time, rule, ip, country, route string) {
	sec := at.Unix()
	r.mu.Lock()
	defer r.mu.Unlock()
	k := recordKey{sec, rule, ip}
	if rec := r.rows[k]; rec != nil {
		rec.Count++
		return
	}
	if r.keys[sec] >= maxRowsPerSecond {
		k.ip, country, route = OtherIP, "", ""
		if rec := r.rows[k]; rec != nil {
			rec.Count++
			return
		}
	}
	if len(r.keys) >= maxPendingSeconds {
		return // the database has not taken the record for a minute: drop
	}
	r.keys[sec]++
	r.rows[k] = &leadcap.ShieldBlockRecord{At: time.Unix(sec, 0).UTC(), Rule: rule, ClientIP: k.ip,
		Country: country, Route: route, Count: 1}
}

// take returns the rows counted so far and starts afresh.
func (r *recorder) take() []leadcap.ShieldBlockRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.rows) == 0 {
		return nil
	}
	out := make([]leadcap.ShieldBlockRecord, 0, len(r.rows))
	for _, rec := range r.rows {
		out = append(out, *rec)
	}
	clear(r.rows)
	clear(r.keys)
	return out
}
