package store_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/leadcap/leadcap/internal/store/storetest"
)

// BenchmarkCaptureLead measures durable lead writes from many goroutines,
// as the HTTP handlers make them: each op is one new lead, committed and
// synced before it returns.
//
//	go test -run='^$' -bench=CaptureLead -cpu=2 ./internal/store/
func BenchmarkCaptureLead(b *testing.B) {
	for name, dsn := range storetest.Backends() {
		b.Run(name, func(b *testing.B) {
			s := MustOpenB(b, dsn(b))
			c := MustConferenceB(b, s, "bench")
			var n atomic.Int64
			b.SetParallelism(32)
			cpu := cpuTime()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					email := fmt.Sprintf("p%d@example.com", i)
					if _, err := s.CaptureLead(context.Background(), newLead(c, fmt.Sprint("s", i), email), email); err != nil {
						b.Error(err)
						return
					}
				}
			})
			// Wall time swings with whatever else the machine runs; the
			// process's CPU time per lead is the steadier figure.
			b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}

// cpuTime is the user and system time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
