package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// The page audit's checks, run on one page at a time at each of
// auditSizes: axe-core's WCAG 2.1 A/AA rules (a serious or critical
// violation fails), no sideways scroll on a phone, no action out of sight
// on a desktop, no text drawn over text; and a full-page screenshot.

// auditSize is a viewport the audit looks at a page in.
type auditSize struct{ W, H int64 }

// auditSizes are a desktop and a phone.
var auditSizes = []auditSize{{1280, 800}, {390, 844}}

// axeScript is node_modules/axe-core/axe.min.js under testdata/axe,
// installed by `make axe` (npm ci), read once.
var axeScript = sync.OnceValues(func() ([]byte, error) {
	return os.ReadFile(filepath.Join("testdata", "axe", "node_modules", "axe-core", "axe.min.js"))
})

// loadAxe returns axe-core's source; without it the audit fails where
// browser tests must run, and skips elsewhere.
func loadAxe(t *testing.T) string {
	t.Helper()
	src, err := axeScript()
	if err != nil {
		if requireBrowser() {
			t.Fatalf("axe-core is not installed (run `make axe`): %v", err)
		}
		t.Skipf("axe-core is not installed (run `make axe`): %v", err)
	}
	return string(src)
}

// screenshotsDir is where the audit writes its screenshots:
// SIGIL_SCREENSHOTS_DIR (`make screenshots` sets docs/screens), else the
// test's temporary directory.
func screenshotsDir(t *testing.T) string {
	if dir := os.Getenv("SIGIL_SCREENSHOTS_DIR"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	return t.TempDir()
}

// axeViolation is one failed axe rule on a page.
type axeViolation struct {
	ID      string   `json:"id"`
	Impact  string   `json:"impact"`
	Help    string   `json:"help"`
	Targets []string `json:"targets"`
}

const axeRun = `axe.run(document, {
	runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
	resultTypes: ['violations'],
}).then(r => r.violations
	.filter(v => v.impact === 'serious' || v.impact === 'critical')
	.map(v => ({id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map(n => n.target.join(' '))})))`

// describeJS names an element for a failure message.
const describeJS = `const describe = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
	(e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\s+/).join('.') : '') +
	(e.getAttribute('name') ? '[name=' + e.getAttribute('name') + ']' : '') +
	' "' + (e.innerText || e.value || '').trim().slice(0, 30) + '"';`

// sidewaysJS answers the page's width and, when wider than the
// viewport, the elements that reach farthest past it.
const sidewaysJS = `(() => {` + describeJS + `
	const w = document.documentElement.scrollWidth;
	if (w <= innerWidth) return [];
	const far = [...document.body.querySelectorAll('*')].map(e => ({e, right: e.getBoundingClientRect().right}))
		.filter(x => x.right > innerWidth + 1).sort((a, b) => b.right - a.right);
	return ['page is ' + w + ' px wide', ...far.slice(0, 3).map(x => describe(x.e) + ' reaches ' + Math.round(x.right) + ' px')];
})()`

// hiddenActionsJS lists the links, buttons and fields that are out of the
// viewport sideways or cut off by a container that scrolls or clips.
const hiddenActionsJS = `(() => {` + describeJS + `
	const out = [];
	for (const e of document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea')) {
		const r = e.getBoundingClientRect();
		if (r.width < 2 || r.height < 2 || !e.checkVisibility({visibilityProperty: true})) continue;
		if (r.left < 0 || r.right > innerWidth) { out.push(describe(e) + ' is outside the viewport (x ' + Math.round(r.left) + '..' + Math.round(r.right) + ')'); continue; }
		for (let p = e.parentElement; p && p !== document.body; p = p.parentElement) {
			if (getComputedStyle(p).overflowX === 'visible') continue;
			const pr = p.getBoundingClientRect();
			if (r.left < pr.left - 1 || r.right > pr.right + 1) { out.push(describe(e) + ' is cut off by ' + describe(p)); break; }
		}
	}
	return out;
})()`

// overlapJS lists pairs of visible text runs drawn over each other (by
// more than a few pixels each way: adjacent lines may touch). A run is
// cut to the boxes of its ancestors that clip (overflow other than
// visible, clip, clip-path): visually hidden text (a screen-reader-only
// header, a stacked table's header row) and text scrolled out of a box
// are not drawn.
const overlapJS = `(() => {` + describeJS + `
	const drawn = (r, e) => {
		let x1 = r.left, y1 = r.top, x2 = r.right, y2 = r.bottom;
		for (let p = e; p && p !== document.body; p = p.parentElement) {
			const st = getComputedStyle(p);
			if (st.clipPath.startsWith('inset(50%') || st.clip === 'rect(0px, 0px, 0px, 0px)') return null;
			if (st.overflowX !== 'visible' || st.overflowY !== 'visible') {
				const b = p.getBoundingClientRect();
				x1 = Math.max(x1, b.left); y1 = Math.max(y1, b.top); x2 = Math.min(x2, b.right); y2 = Math.min(y2, b.bottom);
			}
		}
		return x2 - x1 >= 2 && y2 - y1 >= 2 ? {left: x1, top: y1, right: x2, bottom: y2} : null;
	};
	const runs = [];
	const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
	for (let n = walk.nextNode(); n; n = walk.nextNode()) {
		const e = n.parentElement;
		if (!n.textContent.trim() || !e.checkVisibility({opacityProperty: true, visibilityProperty: true})) continue;
		const range = document.createRange();
		range.selectNodeContents(n);
		for (const r of range.getClientRects()) {
			const d = drawn(r, e);
			if (d) runs.push({e, r: d});
		}
	}
	const out = [];
	for (let i = 0; i < runs.length; i++) for (let j = i + 1; j < runs.length; j++) {
		const a = runs[i].r, b = runs[j].r;
		const w = Math.min(a.right, b.right) - Math.max(a.left, b.left), h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
		if (w > 3 && h > 3 && runs[i].e !== runs[j].e) out.push(describe(runs[i].e) + ' overlaps ' + describe(runs[j].e));
	}
	return out.slice(0, 10);
})()`

// checkPage runs every check on the page the tab shows, at each size,
// and saves its screenshots as NAME-WIDTH.png. Failures are errors, so
// one page's findings do not hide the next page's.
func checkPage(t *testing.T, tab context.Context, axe, dir, name string) {
	t.Helper()
	for _, size := range auditSizes {
		for _, f := range findings(t, tab, axe, size) {
			t.Errorf("%s at %d×%d: %s", name, size.W, size.H, f)
		}
		var png []byte
		runBrowser(t, tab, chromedp.FullScreenshot(&png, 100))
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%d.png", name, size.W)), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// findings sizes the viewport and returns what is wrong with the page
// the tab shows: axe-core's serious and critical violations, text over
// text, and sideways scroll (a phone) or actions out of sight (wider).
func findings(t *testing.T, tab context.Context, axe string, size auditSize) []string {
	t.Helper()
	var violations []axeViolation
	var overlaps, layout []string
	var injected bool
	runBrowser(t, tab,
		chromedp.EmulateViewport(size.W, size.H),
		chromedp.Evaluate(`typeof axe !== 'undefined'`, &injected),
	)
	if !injected {
		runBrowser(t, tab, chromedp.Evaluate(axe+"\n;true", &injected))
	}
	layoutJS := hiddenActionsJS
	if size.W < 600 {
		layoutJS = sidewaysJS
	}
	runBrowser(t, tab,
		chromedp.Evaluate(axeRun, &violations, func(p *runtime.EvaluateParams) *runtime.EvaluateParams {
			return p.WithAwaitPromise(true)
		}),
		chromedp.Evaluate(overlapJS, &overlaps),
		chromedp.Evaluate(layoutJS, &layout),
	)
	var out []string
	for _, v := range violations {
		out = append(out, fmt.Sprintf("axe %s (%s): %s: %s", v.ID, v.Impact, v.Help, strings.Join(v.Targets, ", ")))
	}
	for _, o := range overlaps {
		out = append(out, "text over text: "+o)
	}
	if size.W < 600 && len(layout) > 0 {
		out = append(out, "scrolls sideways: "+strings.Join(layout, "; "))
	} else {
		out = append(out, layout...)
	}
	return out
}

// The audit's checks find what they look for, on a page made to fail
// each: text drawn over text, a page wider than a phone, a button out of
// sight and one cut off by a box that scrolls, an image with no text;
// and visually hidden text over shown text is not taken for drawn text.
func TestPageAuditChecksFindFaults(t *testing.T) {
	axe := loadAxe(t)
	tab := newTab(t)
	const faulty = `<!doctype html><html lang="en"><head><title>Faults</title></head><body><main>
<h1>Faults</h1>
<p class="one" style="position:absolute;top:100px;left:10px">Some text here</p>
<p class="two" style="position:absolute;top:104px;left:14px">Other text here</p>
<p class="seen" style="position:absolute;top:150px;left:10px">Shown text</p>
<span class="hidden" style="position:absolute;top:150px;left:10px;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);clip-path:inset(50%);white-space:nowrap">Screen-reader text</span>
<div style="margin-top:200px;width:300px;overflow-x:auto"><div style="width:900px"><button style="margin-left:600px">Cut off</button></div></div>
<button style="position:absolute;left:1400px;top:300px">Far right</button>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
</main></body></html>`
	runBrowser(t, tab, chromedp.Navigate("data:text/html,"+url.PathEscape(faulty)), chromedp.WaitVisible(`h1`))
	desk := strings.Join(findings(t, tab, axe, auditSizes[0]), "\n")
	phone := strings.Join(findings(t, tab, axe, auditSizes[1]), "\n")
	for _, want := range []string{"axe image-alt (critical)", "text over text: p.one", `"Cut off" is cut off by div`, `"Far right" is outside the viewport`} {
		if !strings.Contains(desk, want) {
			t.Errorf("at 1280 px the checks do not report %q:\n%s", want, desk)
		}
	}
	if strings.Contains(desk, "span.hidden") {
		t.Errorf("visually hidden text is reported as drawn over text:\n%s", desk)
	}
	if !strings.Contains(phone, "scrolls sideways: page is") {
		t.Errorf("at 390 px the checks do not report the sideways scroll:\n%s", phone)
	}
}

// bypassCSP lets the audit's script run on pages whose CSP allows
// scripts only from 'self'.
func bypassCSP() chromedp.Action { return cdppage.SetBypassCSP(true) }
