package web_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/leadcap/leadcap/internal/browsertest"
	"github.com/leadcap/leadcap/internal/cli"
	"github.com/leadcap/leadcap/internal/crypto"
	"github.com/leadcap/leadcap/internal/intake"
	"github.com/leadcap/leadcap/internal/shield"
	"github.com/leadcap/leadcap/internal/store"
)

// liveServer is a real `leadcap serve`, run through the command line in
// this process, behind a front that the test can switch to answer 503 as
// an overloaded server would. The front passes everything else through,
// so the real server is what stores the leads.
type liveServer struct {
	URL   string // the front's
	dir   string
	env   map[string]string
	store *store.Store // the server's database, opened beside it
	keys  *crypto.KeyRing
	logs  *lockedBuffer

	down    atomic.Bool  // the front answers 503
	refused atomic.Int64 // 503 answers the front gave
	mu      sync.Mutex
	passed  []string // requests that reached the real server: "GET /c/x"
}

// requests returns the requests that reached the real server from the
// nth on.
func (l *liveServer) requests(from int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.passed[from:]...)
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startLive opens the data directory, lets seed add conferences, then
// starts `leadcap serve` on it with short kiosk times.
func startLive(t *testing.T, seed func(st *store.Store)) *liveServer {
	t.Helper()
	ctx := context.Background()
	l := &liveServer{dir: t.TempDir(), logs: &lockedBuffer{}}
	l.env = map[string]string{
		"LEADCAP_DATA_DIR":        l.dir,
		"LEADCAP_LISTEN":          "127.0.0.1:0",
		"LEADCAP_KIOSK_IDLE":      "2s",
		"LEADCAP_KIOSK_THANKS":    "1s",
		"LEADCAP_OUTBOX_INTERVAL": "100ms",
	}
	keys, _, err := crypto.LoadOrCreate(l.dir)
	if err != nil {
		t.Fatal(err)
	}
	l.keys = keys
	l.store, err = store.Open(ctx, filepath.Join(l.dir, "leadcap.db"), store.Options{Sealer: keys, Merge: intake.MergeLead})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.store.Close() })
	if _, err := l.store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	seed(l.store)

	serveCtx, stop := context.WithCancel(ctx)
	ready, done := make(chan string, 1), make(chan error, 1)
	go func() {
		done <- cli.Run(serveCtx, []string{"serve"}, &cli.Env{Getenv: l.getenv, Stdout: l.logs, Stderr: l.logs,
			Ready: func(addr string) { ready <- addr }})
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("leadcap serve: %v\n%s", err, l.logs)
	case <-time.After(20 * time.Second):
		t.Fatalf("leadcap serve did not start:\n%s", l.logs)
	}
	target, _ := url.Parse("http://" + addr)
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if l.down.Load() {
			l.refused.Add(1)
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
			return
		}
		l.mu.Lock()
		l.passed = append(l.passed, r.Method+" "+r.URL.Path)
		l.mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	l.URL = front.URL
	t.Cleanup(func() {
		front.Close()
		stop()
		if err := <-done; err != nil {
			t.Errorf("leadcap serve: %v", err)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", l.logs)
		}
	})
	return l
}

func (l *liveServer) getenv(k string) string { return l.env[k] }

// leadcap runs a leadcap command against the server's data and returns
// what it printed.
func (l *liveServer) leadcap(t *testing.T, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	env := map[string]string{"LEADCAP_PUBLIC_URL": l.URL}
	for k, v := range l.env {
		env[k] = v
	}
	err := cli.Run(context.Background(), args, &cli.Env{Getenv: func(k string) string { return env[k] }, Stdout: &out, Stderr: &out})
	if err != nil {
		t.Fatalf("leadcap %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

// startBrowser starts headless Chromium for the test (see browsertest.Start).
func startBrowser(t *testing.T) context.Context {
	return browsertest.Start(t, 390, 844)
}

// tab is one browser tab in a browser context of its own: its own storage,
// service workers and caches, as on a fresh device.
type tab struct {
	t       *testing.T
	ctx     context.Context
	workers map[target.ID]context.Context // service workers attached to
}

func newTab(t *testing.T, browser context.Context) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	// Open the tab with its own context: the first run's context is the
	// tab's lifetime, so it must not be one of do's short timeouts.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844)); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	return &tab{t: t, ctx: ctx}
}

// do runs actions, failing the test on an error or after 20 seconds.
func (b *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

func (b *tab) eval(js string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

func (b *tab) text(sel string) string {
	b.t.Helper()
	return b.eval(`(document.querySelector(` + jsString(sel) + `) || {}).innerText || ""`)
}

// wait waits until the JavaScript expression is true, across navigations.
func (b *tab) wait(what, js string, timeout time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!(`+js+`)`))
		cancel()
		switch {
		case err == nil && ok:
			return
		case time.Now().After(deadline):
			b.t.Fatalf("waiting for %s (%s): %v", what, js, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// clear empties a text input.
func (b *tab) clear(id string) {
	b.t.Helper()
	b.eval(`document.getElementById(` + jsString(id) + `).value = ""`)
}

// waitText waits until the element's text holds want.
func (b *tab) waitText(sel, want string, timeout time.Duration) {
	b.t.Helper()
	b.wait(sel+" to say "+want, `((document.querySelector(`+jsString(sel)+`) || {}).innerText || "").includes(`+jsString(want)+`)`, timeout)
}

func jsString(s string) string { return browsertest.JSString(s) }

// fill types into text inputs, sets selects and dates, and clicks the
// boxes named by id.
func (b *tab) fill(typed map[string]string, set map[string]string, clicks ...string) {
	b.t.Helper()
	for id, v := range typed {
		b.do(chromedp.SendKeys(chromedp.ID(id), v))
	}
	for id, v := range set {
		b.do(chromedp.SetValue(chromedp.ID(id), v))
	}
	for _, id := range clicks {
		b.do(chromedp.Click(chromedp.ID(id)))
	}
}

// submit sends the form, no sooner than a person could: the shield
// quarantines a form sent within its minimum fill time of being rendered.
func (b *tab) submit() {
	b.t.Helper()
	wait := shield.DefaultMinFillTime + 100*time.Millisecond
	if ms, err := chromedp.Run(b.ctx, chromedp.Evaluate[float64](`performance.now()`)); err == nil && ms < float64(wait.Milliseconds()) {
		time.Sleep(wait - time.Duration(ms)*time.Millisecond)
	}
	b.do(chromedp.Click(chromedp.CSS(`#lead button[type=submit]`)))
}

// setOffline cuts or restores the network with DevTools' network
// emulation, for the tab and for the service worker of its browser
// context: a worker is a target of its own, which the tab's emulation does
// not reach.
func (b *tab) setOffline(off bool) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	emulate := func(ctx context.Context) {
		conds := []*network.Conditions{{Offline: off, DownloadThroughput: -1, UploadThroughput: -1}}
		if _, err := chromedp.Call(ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
			EmulateOfflineServiceWorker: &off, MatchedNetworkConditions: conds}); err != nil {
			b.t.Fatalf("network emulation: %v", err)
		}
	}
	emulate(ctx)
	if _, err := chromedp.Call(ctx, network.OverrideNetworkState, network.OverrideNetworkStateParams{
		Offline: off, DownloadThroughput: -1, UploadThroughput: -1}); err != nil {
		b.t.Fatalf("network state: %v", err)
	}
	targets, err := chromedp.Targets(ctx)
	if err != nil {
		b.t.Fatal(err)
	}
	workers := 0
	for _, ti := range targets {
		if ti.Type != "service_worker" || ti.BrowserContextID != chromedp.FromContext(b.ctx).BrowserContextID {
			continue
		}
		if b.workers == nil {
			b.workers = map[target.ID]context.Context{}
		}
		wctx, ok := b.workers[ti.TargetID]
		if !ok {
			var cancel context.CancelFunc
			wctx, cancel = chromedp.NewContext(b.ctx, chromedp.WithTargetID(ti.TargetID))
			b.t.Cleanup(cancel)
			if err := chromedp.Do(wctx); err != nil {
				b.t.Fatalf("attach to the service worker: %v", err)
			}
			b.workers[ti.TargetID] = wctx
		}
		emulate(wctx)
		workers++
	}
	if workers == 0 {
		b.t.Fatal("the tab has no service worker to take offline")
	}
}

func (b *tab) disableJavaScript() {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		b.t.Fatal(err)
	}
}

func (b *tab) acceptLanguage(lang string) {
	b.t.Helper()
	if _, err := chromedp.Call(b.ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
		Headers: network.Headers{"Accept-Language": lang}}); err != nil {
		b.t.Fatal(err)
	}
}

// screenshot writes docs/screenshots/name.png when LEADCAP_SCREENSHOTS=1,
// of the whole page or of the viewport.
func (b *tab) screenshot(name string, fullPage bool) {
	b.t.Helper()
	if os.Getenv("LEADCAP_SCREENSHOTS") != "1" {
		return
	}
	action := chromedp.CaptureScreenshot()
	if fullPage {
		action = chromedp.FullScreenshot(100)
	}
	png, err := chromedp.Run(b.ctx, action)
	if err != nil {
		b.t.Fatal(err)
	}
	dir := filepath.Join("..", "..", "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}
