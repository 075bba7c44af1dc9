package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The browser tests drive a real headless Chromium (Debian's chromium
// package) through the DevTools protocol. The package shares one
// allocator; each test gets a browser process of its own, so cookies never
// leak between tests (Chromium's incognito browser contexts cannot be
// opened through the protocol version chromedp speaks here). Without
// Chromium the tests skip, except in CI (CI=true or
// SIGIL_TEST_REQUIRE_BROWSER=1), where they fail.

var browser struct {
	once   sync.Once
	alloc  context.Context
	cancel context.CancelFunc
}

func TestMain(m *testing.M) {
	code := m.Run()
	if browser.cancel != nil {
		browser.cancel()
	}
	if sharedMailpit != nil {
		sharedMailpit.stop()
	}
	os.Exit(code)
}

func chromiumPath() string {
	for _, p := range []string{os.Getenv("SIGIL_TEST_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := exec.LookPath(p); err == nil {
			return p
		}
	}
	return ""
}

func requireBrowser() bool {
	return os.Getenv("CI") == "true" || os.Getenv("SIGIL_TEST_REQUIRE_BROWSER") == "1"
}

// newTab returns a browser tab in a fresh incognito context, closed at the
// end of the test, with a generous per-test deadline (the machine may be
// busy; nothing here is a timing assertion).
func newTab(t *testing.T) context.Context {
	t.Helper()
	return newTabFor(t, 2*time.Minute)
}

// newTabFor is newTab with a deadline of d, for tests that walk through
// many pages in one tab (a virtual authenticator lives in its tab).
func newTabFor(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		if requireBrowser() {
			t.Fatal("chromium is not installed (apt-get install chromium); browser tests must run in CI")
		}
		t.Skip("chromium not installed; set SIGIL_TEST_REQUIRE_BROWSER=1 to fail instead")
	}
	browser.once.Do(func() {
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(path),
			chromedp.NoSandbox,
			chromedp.DisableGPU,
			chromedp.Flag("disable-quic", true),
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.Flag("no-first-run", true),
			chromedp.WindowSize(414, 896), // a phone-sized viewport
		)
		browser.alloc, browser.cancel = chromedp.NewExecAllocator(context.Background(), opts...)
	})
	tab, cancel := chromedp.NewContext(browser.alloc)
	if err := chromedp.Run(tab); err != nil {
		cancel()
		t.Fatalf("start chromium: %v", err)
	}
	// The deadline covers the actions, not the browser's life: a timeout
	// on the context that started the browser would stop it.
	timed, cancelTimeout := context.WithTimeout(tab, d)
	t.Cleanup(func() { cancelTimeout(); cancel() })
	return timed
}

// run runs browser actions, failing the test with a screenshot on error.
func runBrowser(t *testing.T, tab context.Context, actions ...chromedp.Action) {
	t.Helper()
	if err := chromedp.Run(tab, actions...); err != nil {
		shot := screenshot(t, tab, "failure")
		var loc string
		_ = chromedp.Run(tab, chromedp.Location(&loc))
		t.Fatalf("browser: %v (at %s; screenshot %s)", err, loc, shot)
	}
}

// screenshot saves the page as a PNG under SIGIL_TEST_SCREENSHOTS (or
// the test's temporary directory) and returns its path.
func screenshot(t *testing.T, tab context.Context, name string) string {
	t.Helper()
	dir := os.Getenv("SIGIL_TEST_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	var buf []byte
	if err := chromedp.Run(tab, chromedp.FullScreenshot(&buf, 100)); err != nil {
		return "(no screenshot: " + err.Error() + ")"
	}
	path := filepath.Join(dir, strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())+"-"+name+".png")
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		return "(no screenshot: " + err.Error() + ")"
	}
	return path
}

// browserEnv is adminEnv for a server the browser reaches: it listens on
// a fixed free port and its issuer is http://localhost:PORT (a host
// name, as WebAuthn needs).
func browserEnv(t *testing.T, dbURL string, extra map[string]string) map[string]string {
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	env := adminEnv(dbURL, map[string]string{"SIGIL_ADDR": addr, "SIGIL_ISSUER": fmt.Sprintf("http://localhost:%s", port)})
	for k, v := range extra {
		env[k] = v
	}
	return env
}
