package deploy

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// metricRE finds Sigil metric names in PromQL expressions.
var metricRE = regexp.MustCompile(`\bsigil_[a-z0-9_]+`)

// alertRules reads prometheus/alerts.yml and checks its structure.
func alertRules(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile("prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Alert       string            `json:"alert"`
				Expr        string            `json:"expr"`
				For         string            `json:"for"`
				Labels      map[string]string `json:"labels"`
				Annotations map[string]string `json:"annotations"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := yaml.UnmarshalStrict(raw, &f); err != nil {
		t.Fatalf("alerts.yml: %v", err)
	}
	var exprs []string
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" || strings.TrimSpace(r.Expr) == "" || r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
				t.Errorf("rule %+v: alert, expr, labels.severity and annotations.summary are required", r)
			}
			if _, err := time.ParseDuration(r.For); r.For != "" && err != nil {
				t.Errorf("rule %s: for %q: %v", r.Alert, r.For, err)
			}
			exprs = append(exprs, r.Expr)
		}
	}
	if len(exprs) == 0 {
		t.Fatal("alerts.yml has no rules")
	}
	return exprs
}

// dashboardExprs reads grafana/sigil.json and returns every panel query.
func dashboardExprs(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile("grafana/sigil.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("sigil.json: %v", err)
	}
	var exprs []string
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	return exprs
}

// startSigil runs the real `sigil serve` (SIGIL_BIN, or built from the
// repository) on a free port with a fresh SQLite database and a low rate
// limit, so that throttling shows up in the metrics.
func startSigil(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	bin := os.Getenv("SIGIL_BIN")
	if bin == "" {
		bin = filepath.Join(dir, "sigil")
		build := exec.Command("go", "build", "-o", bin, "./cmd/sigil")
		build.Dir = ".."
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("build sigil: %v\n%s", err, out)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "SIGIL_ADDR="+addr, "SIGIL_ISSUER=http://"+addr,
		"SIGIL_DATABASE_URL=sqlite:"+filepath.Join(dir, "sigil.db"), "SIGIL_ARGON2_MEMORY=1024",
		"SIGIL_ARGON2_TIME=1", "SIGIL_RATE_LIMIT=2/s", "SIGIL_LOG_LEVEL=error",
		"SIGIL_ADMIN_EMAIL=root@example.com", "SIGIL_ADMIN_PASSWORD=admin password 123")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() })
	base := "http://" + addr
	for deadline := time.Now().Add(30 * time.Second); ; {
		if r, err := http.Get(base + "/readyz"); err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("sigil did not become ready:\n%s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func post(t *testing.T, url, token, body string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	_, _ = io.Copy(io.Discard, r.Body)
	return r.StatusCode
}

// TestMetricsReferencedExist drives a real Sigil through what the rules
// watch (a login, failed logins, throttling, a key rotation, JWKS fetches,
// an authorization request) and checks that every metric named by an alert
// rule or a dashboard panel is in its /metrics.
func TestMetricsReferencedExist(t *testing.T) {
	exprs := append(alertRules(t), dashboardExprs(t)...)
	base := startSigil(t)

	req, _ := http.NewRequest("POST", base+"/auth/login", strings.NewReader(`{"email":"root@example.com","password":"admin password 123"}`))
	req.Header.Set("Content-Type", "application/json")
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var login struct{ Token string }
	_ = json.NewDecoder(r.Body).Decode(&login)
	r.Body.Close()
	if login.Token == "" {
		t.Fatalf("admin login: %d", r.StatusCode)
	}
	if st := post(t, base+"/admin/keys/rotate", login.Token, `{}`); st != 201 {
		t.Fatalf("rotate: %d", st)
	}
	throttled := false
	for i := 0; i < 20 && !throttled; i++ {
		throttled = post(t, base+"/auth/login", "", `{"email":"nobody@example.com","password":"wrong password"}`) == 429
	}
	if !throttled {
		t.Fatal("no 429 from the rate limit")
	}
	for _, p := range []string{"/.well-known/jwks.json", "/oauth2/authorize?response_type=code&client_id=nope"} {
		if r, err := http.Get(base + p); err == nil {
			r.Body.Close()
		}
	}
	r, err = http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r.Body)
	r.Body.Close()
	exported := map[string]bool{}
	for _, line := range strings.Split(string(body), "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "#" && f[1] == "TYPE" {
			exported[f[2]] = true
			if f[3] == "histogram" {
				for _, s := range []string{"_bucket", "_count", "_sum"} {
					exported[f[2]+s] = true
				}
			}
		}
	}
	seen := map[string]bool{}
	for _, e := range exprs {
		for _, m := range metricRE.FindAllString(e, -1) {
			seen[m] = true
		}
	}
	var names []string
	for m := range seen {
		names = append(names, m)
		if !exported[m] {
			t.Errorf("%s is referenced but not in /metrics", m)
		}
	}
	sort.Strings(names)
	if len(names) < 8 {
		t.Errorf("only %d metrics referenced: %v", len(names), names)
	}
	t.Logf("checked %d metrics: %v", len(names), names)
}
