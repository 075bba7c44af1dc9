package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/sigil-auth/sigil/keys"
	"github.com/sigil-auth/sigil/store/storetest"
)

// The RS256 signing backend this binary was built with is shown by
// `sigil --version`, `sigil version`, the start-up log line and
// sigil_build_info on /metrics.
func TestBuildShowsRSABackend(t *testing.T) {
	backend := keys.RSABackend()
	for _, args := range [][]string{{"--version"}, {"-version"}, {"version"}} {
		out, _, err := runCLI(t, map[string]string{}, "", args...)
		if err != nil {
			t.Fatalf("sigil %s: %v", args[0], err)
		}
		if !strings.HasPrefix(out, "sigil ") || !strings.Contains(out, "RSA signing backend: "+backend+" (") {
			t.Fatalf("sigil %s printed %q", args[0], out)
		}
	}
	if _, _, err := runCLI(t, map[string]string{}, "", "version", "extra"); err == nil {
		t.Fatal("sigil version extra: no error")
	}

	s := startServer(t, testEnv(storetest.SQLiteURL(t), map[string]string{"SIGIL_LOG_LEVEL": "info"}))
	if !regexp.MustCompile(`msg="starting sigil".* rsa_backend=` + backend + ` `).MatchString(s.stderr.String()) {
		t.Errorf("start-up log does not name the RSA backend %q:\n%s", backend, s.stderr.String())
	}
	_, _, body := s.get(t, "/metrics")
	re := `(?m)^sigil_build_info\{goversion="go[^"]+",rsa_backend="` + backend + `",version="[^"]+"\} 1$`
	if !regexp.MustCompile(re).Match(body) {
		t.Errorf("/metrics lacks %s", re)
	}
}
