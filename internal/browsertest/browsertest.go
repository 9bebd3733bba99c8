// Package browsertest starts headless Chromium for the project's real-browser tests, with the
// flags this project's machines need, and keeps screenshots as test artifacts.
package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/internal/testgate"
)

// Path returns Debian's Chromium (or another Chromium or Chrome on PATH), or "" when there is none.
func Path() string {
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// New starts headless Chromium for one test and returns a context for its first tab; every
// wait of the test ends within budget, and the browser is closed when the test ends. Without a
// browser the test is skipped, saying how to install one. The background-networking flags
// matter: without them Chromium floods a closed network with connection attempts.
func New(t *testing.T, budget time.Duration) context.Context {
	t.Helper()
	testgate.Slow(t, "drives headless Chromium")
	path := Path()
	if path == "" {
		t.Skip("no Chromium found: install Debian's chromium package (apt-get install -y chromium) to run the real-browser tests")
	}
	parent, cancelParent := context.WithTimeout(context.Background(), budget)
	alloc, cancelAlloc := chromedp.NewExecAllocator(parent,
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1280, 1000),
		chromedp.UserDataDir(t.TempDir()),
	)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancelCtx(); cancelAlloc(); cancelParent() })
	require.NoError(t, chromedp.Do(ctx), "starting %s", path)
	return ctx
}

// Screenshot keeps a full-page PNG of the tab as a test artifact, in $ARTIFACTS_DIR when set
// (make test sets .artifacts/), else in the test's temporary directory.
func Screenshot(ctx context.Context, t *testing.T, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	require.NoError(t, err)
	require.True(t, len(png) > 8 && string(png[1:4]) == "PNG", "a PNG screenshot")
	dir := os.Getenv("ARTIFACTS_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	path := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(path, png, 0o644))
	t.Logf("screenshot: %s", path)
}

// ClickVisible clicks with the mouse, as a person does (a press and a release at the element's
// centre, where a script's el.click() would also reach an element a person cannot, and would
// not notice the page moving under the pointer between the two), the first element matching css
// that is visible and enabled and whose first line of visible text is text ("" for any). It
// waits up to within for such an element. Pages that render a control twice, one copy per
// screen width (the Temporal Web UI's workflow header), need the visible one: a selector alone
// may find the hidden copy.
func ClickVisible(ctx context.Context, t *testing.T, css, text string, within time.Duration) {
	t.Helper()
	mark := fmt.Sprintf("c%d", time.Now().UnixNano())
	sel, err := json.Marshal(css)
	require.NoError(t, err)
	want, err := json.Marshal(text)
	require.NoError(t, err)
	_, err = chromedp.Run(ctx, chromedp.Poll[bool](fmt.Sprintf(`(() => {
		const want = %s;
		const el = [...document.querySelectorAll(%s)].find(e =>
			e.checkVisibility({visibilityProperty: true, opacityProperty: true}) && !e.disabled &&
			e.getAttribute('aria-disabled') !== 'true' &&
			(want === '' || e.innerText.trim().split('\n')[0].trim() === want));
		if (!el) return false;
		el.setAttribute('data-browsertest-click', %q);
		return true;
	})()`, want, sel, mark), chromedp.WithPollingInterval(200*time.Millisecond), chromedp.WithPollingTimeout(within)))
	if err != nil {
		Screenshot(ctx, t, "click-FAILED.png")
	}
	require.NoError(t, err, "a visible, enabled %s %q on the page", css, text)
	cctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	require.NoError(t, chromedp.Do(cctx, chromedp.Click(chromedp.CSS(fmt.Sprintf(`[data-browsertest-click=%q]`, mark)))),
		"clicking %s %q", css, text)
}
