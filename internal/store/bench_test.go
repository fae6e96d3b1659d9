package store_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

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
		})
	}
}
