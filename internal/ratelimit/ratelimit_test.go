package ratelimit

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/leadcap/leadcap"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newClock() *clock { return &clock{t: time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)} }

func TestBurstThenRefill(t *testing.T) {
	c := newClock()
	l := New(Config{Burst: 3, Every: time.Minute, Now: c.now})
	for i := range 3 {
		if ok, _ := l.Allow("a"); !ok {
			t.Fatalf("take %d refused within the burst", i+1)
		}
	}
	ok, after := l.Allow("a")
	if ok || after != time.Minute {
		t.Fatalf("after the burst: ok=%v retry after %v, want refused for 1m", ok, after)
	}
	// Another key is not affected.
	if ok, _ := l.Allow("b"); !ok {
		t.Fatal("key b refused because of key a")
	}
	c.add(40 * time.Second)
	if ok, after := l.Allow("a"); ok || after != 20*time.Second {
		t.Fatalf("40s later: ok=%v after=%v, want refused for 20s", ok, after)
	}
	c.add(20 * time.Second)
	if ok, _ := l.Allow("a"); !ok {
		t.Fatal("a token should be back after one period")
	}
	if ok, _ := l.Allow("a"); ok {
		t.Fatal("only one token should be back")
	}
	// A long pause refills only up to the burst.
	c.add(time.Hour)
	if got := l.Tokens("a"); got != 3 {
		t.Fatalf("after an hour: %d tokens, want the burst 3", got)
	}
}

func TestReturn(t *testing.T) {
	c := newClock()
	l := New(Config{Burst: 2, Every: time.Hour, Now: c.now})
	l.Allow("k")
	l.Allow("k")
	l.Return("k")
	if got := l.Tokens("k"); got != 1 {
		t.Fatalf("after return: %d tokens, want 1", got)
	}
	l.Return("k")
	l.Return("k")
	if got := l.Tokens("k"); got != 2 {
		t.Fatalf("returns beyond the burst: %d tokens, want 2", got)
	}
}

func TestBoundedMemory(t *testing.T) {
	c := newClock()
	l := New(Config{Burst: 2, Every: time.Minute, MaxKeys: 100, Now: c.now})
	// A stranger spraying keys never grows the map past the bound.
	for i := range 1000 {
		l.Allow(fmt.Sprint("spray-", i))
		if l.Len() > 100 {
			t.Fatalf("%d keys remembered, bound is 100", l.Len())
		}
	}
	// Idle keys go first: once refilled they are forgotten, and an
	// emptied key that is still remembered stays empty.
	l2 := New(Config{Burst: 1, Every: time.Minute, MaxKeys: 10, Now: c.now})
	for i := range 9 {
		l2.Allow(fmt.Sprint("idle-", i))
	}
	c.add(2 * time.Minute) // the nine refill
	l2.Allow("hot")        // empties hot
	for i := range 9 {
		l2.Allow(fmt.Sprint("new-", i))
	}
	if ok, _ := l2.Allow("hot"); ok {
		t.Fatal("the empty bucket was evicted before the idle full ones")
	}
}

func TestConcurrent(t *testing.T) {
	l := New(Config{Burst: 50, Every: time.Hour})
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for range 20 {
		wg.Go(func() {
			for range 10 {
				if ok, _ := l.Allow("shared"); ok {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if allowed != 50 {
		t.Fatalf("%d allowed from 200 concurrent takes, want exactly the burst 50", allowed)
	}
}

func TestExceededError(t *testing.T) {
	for _, tt := range []struct {
		after, want time.Duration
	}{{0, time.Second}, {300 * time.Millisecond, time.Second}, {time.Second, time.Second}, {61500 * time.Millisecond, 62 * time.Second}} {
		err := Exceeded(tt.after, "slow down")
		var ee *ExceededError
		if !errors.As(err, &ee) || ee.RetryAfter() != tt.want {
			t.Fatalf("after %v: retry after %v, want %v", tt.after, ee.RetryAfter(), tt.want)
		}
		if leadcap.ErrorCode(err) != leadcap.ETOOMANY || leadcap.ErrorMessage(err) != "slow down" {
			t.Fatalf("code %s message %q", leadcap.ErrorCode(err), leadcap.ErrorMessage(err))
		}
	}
}
