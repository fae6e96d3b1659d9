package cli

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// startProfiler serves Go's profiler (net/http/pprof) on addr, a loopback
// address (config checks it), apart from the public listener, so that an
// operator can see where a running server spends its time:
//
//	go tool pprof http://127.0.0.1:6060/debug/pprof/profile?seconds=20
//
// It returns the server to close at shutdown.
func startProfiler(addr string, log *slog.Logger) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("serve: profiler: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	log.Warn("profiler listening: whoever reaches it can read the server's memory", "component", "http",
		"addr", ln.Addr().String())
	return srv, nil
}
