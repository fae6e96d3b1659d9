package store

import (
	"sync/atomic"
	"time"
)

// BurstRate is the lead capture rate, per second on this server, above
// which Store.Burst reports a burst. Below it the background work that
// follows a capture (the raw copy, search indexing) costs a sliver of the
// machine; above it, that work would take the processor time that visitors
// waiting for their answer need.
const BurstRate = 500

// BurstDefer is how long the background work that follows a capture
// waits by default while a burst lasts (outbox.Worker and indexer.Worker
// take it unless told otherwise).
const BurstDefer = 30 * time.Second

// burstMeter counts lead captures in the current and the previous second.
// Its counts are approximate under contention, which is all a hint needs.
type burstMeter struct {
	sec  atomic.Int64 // the Unix second cur counts
	cur  atomic.Int64
	prev atomic.Int64 // captures in the second before sec
}

func (m *burstMeter) add(now time.Time) {
	s := now.Unix()
	if old := m.sec.Load(); old != s && m.sec.CompareAndSwap(old, s) {
		n := m.cur.Swap(0)
		if s != old+1 {
			n = 0
		}
		m.prev.Store(n)
	}
	m.cur.Add(1)
}

// rate is the larger of the counts of the current and the previous second.
func (m *burstMeter) rate(now time.Time) int64 {
	switch now.Unix() - m.sec.Load() {
	case 0:
		return max(m.cur.Load(), m.prev.Load())
	case 1:
		return m.cur.Load()
	}
	return 0
}

// Burst reports whether leads are being captured on this server faster
// than BurstRate a second. Background workers defer their newest work
// while it holds (see ClaimOutbox and IndexLeads), and catch up after.
func (s *Store) Burst() bool {
	return s.bursts.rate(s.now()) > BurstRate
}
