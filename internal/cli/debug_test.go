package cli_test

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/leadcap/leadcap/internal/store/storetest"
)

// TestProfilerOnItsOwnListener checks that LEADCAP_DEBUG_LISTEN serves Go's
// profiler on its own loopback address, and that the public listener does
// not serve it, with or without the setting.
func TestProfilerOnItsOwnListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	in := newInstance(t, storetest.SQLite(t), map[string]string{"LEADCAP_DEBUG_LISTEN": addr})
	srv := in.serve()
	get := func(url string) (int, string) {
		t.Helper()
		res, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := get("http://" + addr + "/debug/pprof/"); code != 200 || !strings.Contains(body, "goroutine") {
		t.Fatalf("profiler index: %d %.200s", code, body)
	}
	if code, body := get("http://" + addr + "/debug/pprof/goroutine?debug=1"); code != 200 || !strings.Contains(body, "goroutine profile") {
		t.Fatalf("goroutine profile: %d %.200s", code, body)
	}
	if code, _ := get(srv.url + "/debug/pprof/"); code != http.StatusNotFound {
		t.Fatalf("public listener answers the profiler: %d", code)
	}
	if !strings.Contains(srv.logs.String(), "profiler listening") {
		t.Fatalf("no log line about the profiler:\n%s", srv.logs)
	}
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get("http://" + addr + "/debug/pprof/"); err == nil {
		t.Fatal("profiler still answers after the server stopped")
	}
}
