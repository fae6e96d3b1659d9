package store_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadcap/leadcap/internal/store"
	"github.com/leadcap/leadcap/internal/store/storetest"
)

// TestWALStartsOverUnderSteadyLoad keeps the SQLite writer busy without a
// pause and checks that the WAL file stays small: the checkpoints must
// catch up with it so that SQLite writes it from its beginning again,
// instead of appending to it for as long as the load lasts.
func TestWALStartsOverUnderSteadyLoad(t *testing.T) {
	if _, err := writtenBytes(); err != nil {
		t.Skipf("needs /proc/self/io to count the bytes written: %v", err)
	}
	// 16 MB instead of 512, so that the test writes a few times that;
	// undone after the store (opened next, closed first) has stopped.
	t.Cleanup(store.SetWALRestartFrames(4096))
	s := MustOpen(t, storetest.SQLite(t))
	c := MustConference(t, s, "steady")
	const target = 384 << 20 // bytes this process writes to files
	start, _ := writtenBytes()
	deadline := time.Now().Add(2 * time.Minute)
	var n atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Bool
	for range 32 {
		wg.Go(func() {
			for !failed.Load() {
				w, _ := writtenBytes()
				if w-start >= target || time.Now().After(deadline) {
					return
				}
				i := n.Add(1)
				email := fmt.Sprintf("steady%d@example.com", i)
				if _, err := s.CaptureLead(context.Background(), newLead(c, fmt.Sprint("s", i), email), email); err != nil {
					t.Error(err)
					failed.Store(true)
				}
			}
		})
	}
	wg.Wait()
	w, _ := writtenBytes()
	if w-start < target {
		t.Fatalf("wrote %d MB in two minutes (%d leads), too little to tell", (w-start)>>20, n.Load())
	}
	fi, err := os.Stat(s.Path() + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	// SQLite counts the times the WAL started over in its header.
	restarts, err := walRestarts(s.Path() + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	// The WAL starts over once it passes 16 MB and a checkpoint has
	// nearly caught up, which the checkpointer looks at every 250 ms, so
	// it grows past 16 MB by what a fast machine writes in a few ticks; a
	// WAL that never started over would hold more than a third of what was
	// written (the rest is the checkpoints' copies into the database).
	t.Logf("%d leads, %d MB written, WAL %d MB, started over %d times", n.Load(), (w-start)>>20, fi.Size()>>20, restarts)
	if fi.Size() > 128<<20 || restarts < 2 {
		t.Errorf("WAL is %d MB after %d MB written, started over %d times", fi.Size()>>20, (w-start)>>20, restarts)
	}
}

// walRestarts reads the checkpoint sequence number from a WAL's header,
// which SQLite increments each time the WAL starts over.
func walRestarts(path string) (uint32, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var hdr [16]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint32(hdr[12:]), nil
}

// writtenBytes is how many bytes this process has caused to be written to
// storage (Linux).
func writtenBytes() (int64, error) {
	f, err := os.Open("/proc/self/io")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "write_bytes: "); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("no write_bytes in /proc/self/io")
}
