package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/browsertest"
	"github.com/leadcap/leadcap/internal/shield"
	"github.com/leadcap/leadcap/internal/store/storetest"
)

// browser returns a headless Chromium context that ends after a minute
// (see browsertest.Start).
func browser(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(browsertest.Start(t, 800, 600), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// TestPowSolverInBrowser runs internal/web/static/pow.js in Chromium on a
// form rendered with shield.Forms.Fields, and sends its answer to the
// server, which accepts it once and only once.
func TestPowSolverInBrowser(t *testing.T) {
	ctx := browser(t)
	ts := newTestServerWith(t, storetest.SQLite(t), setup{forms: func(o *shield.FormOptions) { o.Defences.PowBits = 16 }})
	c := ts.mustConference(t, "expo", leadcap.StatusOpen)
	c.Defences.ProofOfWork = true
	if err := ts.store.UpdateConference(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	script, err := os.ReadFile("../web/static/pow.js")
	if err != nil {
		t.Fatal(err)
	}
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/pow.js":
			w.Header().Set("Content-Type", "text/javascript")
			w.Write(script)
		case "/form":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, "<!doctype html><title>form</title><form method=post>%s</form>", ts.forms.Fields(c))
		default:
			http.NotFound(w, r)
		}
	}))
	defer page.Close()

	// The SHA-256 of the script agrees with Go's, on one block and on two.
	if err := chromedp.Do(ctx, chromedp.Navigate(page.URL+"/form")); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("leadcap ", 20)
	digests, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](fmt.Sprintf(
		`import('/pow.js').then(m => [%q, %q].map(s => m.sha256(new TextEncoder().encode(s)).map(x => x.toString(16).padStart(8, '0')).join('')))`,
		"abc", long), chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range []string{"abc", long} {
		want := sha256.Sum256([]byte(s))
		if i >= len(digests) || digests[i] != hex.EncodeToString(want[:]) {
			t.Fatalf("sha256(%q) in the browser = %v, want %x", s, digests, want)
		}
	}

	// fill() answers the form's challenge.
	start := time.Now()
	nonce, err := chromedp.Run(ctx, chromedp.Evaluate[string](`import('/pow.js').then(m => m.fill(document.forms[0]))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Chromium solved a 16-bit challenge in %s (nonce %s)", time.Since(start).Round(time.Millisecond), nonce)
	field := func(name string) string {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('input[name=`+name+`]').value`))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	token, inForm, honeypot := field("render_token"), field("pow_nonce"), field("website")
	if nonce == "" || inForm != nonce || token == "" || honeypot != "" {
		t.Fatalf("form after fill: nonce %q in form %q token %q honeypot %q", nonce, inForm, token, honeypot)
	}
	ts.clock.add(shield.DefaultMinFillTime)
	send := func(sub string) *leadcap.Lead {
		r := ts.newClient("192.0.2.1").do(t, "POST", "/api/v1/leads", lead(map[string]any{
			"submission_id": sub, "email": sub + "@example.com", "render_token": token, "pow_nonce": nonce}))
		if r.status != 201 {
			t.Fatalf("%s: %d %s", sub, r.status, r.raw)
		}
		return leadOf(t, ts, r)
	}
	if l := send("browser-1"); l.Spam {
		t.Fatalf("the browser's solution was refused: %s", l.SpamReason)
	}
	if l := send("browser-2"); l.SpamReason != shield.ReasonPowReplayed {
		t.Fatalf("replayed solution: %+v", l)
	}

	// The solver's speed in this browser, for docs/PERFORMANCE.md: tries
	// per second over several challenges, and so the expected time of the
	// default difficulty (2^bits tries on average).
	rate, err := chromedp.Run(ctx, chromedp.Evaluate[float64](fmt.Sprintf(`import('/pow.js').then(async m => {
		let tries = 0, ms = 0;
		for (let i = 0; i < 16; i++) {
			const t0 = performance.now();
			tries += Number(await m.solve(%q + i, 16)) + 1;
			ms += performance.now() - t0;
		}
		return tries / ms * 1000;
	})`, token), chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Chromium tries %.0f nonces a second: a %d-bit challenge takes %.2f s on average", rate,
		shield.DefaultPowBits, float64(uint64(1)<<shield.DefaultPowBits)/rate)
}
