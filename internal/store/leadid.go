package store

import (
	"crypto/rand"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
)

// leadIDs makes lead ids: UUIDv7 (RFC 9562) whose time is the store's
// clock, so that a lead's id says when it was stored even under a clock
// that tests set. Within one millisecond the 12 bits after the version
// count up, so one store's ids increase as it makes them; so they do when
// the clock steps back a little. After a step back of more than
// clockSlack the ids follow the clock again: listings find leads by the
// time in their ids, which must stay close to their created_at.
type leadIDs struct {
	mu     sync.Mutex
	lastMS int64
	seq    int
}

func (g *leadIDs) next(now time.Time) (string, error) {
	g.mu.Lock()
	ms := now.UnixMilli()
	if ms <= g.lastMS && ms > g.lastMS-clockSlack.Milliseconds() {
		ms, g.seq = g.lastMS, g.seq+1
		if g.seq > 0xfff {
			ms, g.seq = ms+1, 0
		}
	} else {
		g.seq = 0
	}
	g.lastMS = ms
	seq := g.seq
	g.mu.Unlock()
	var u uuid.UUID
	if _, err := rand.Read(u[8:]); err != nil {
		return "", fmt.Errorf("store: lead id: %w", err)
	}
	for i := range 6 {
		u[i] = byte(ms >> (40 - 8*i))
	}
	u[6] = 0x70 | byte(seq>>8)
	u[7] = byte(seq)
	u[8] = 0x80 | u[8]&0x3f
	return u.String(), nil
}
