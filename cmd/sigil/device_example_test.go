package main

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/store/storetest"
)

var userCodeRE = regexp.MustCompile(`enter the code ([A-Z]{4}-[A-Z]{4})`)

// examples/device-login, built and run as a user would, prints the code
// and the URL; once the code is confirmed it prints an access token of
// the user for the requested resource and exits 0.
func TestExampleDeviceLogin(t *testing.T) {
	f := newDeviceFixture(t, storetest.SQLiteURL(t), nil)
	const resource = "https://notes.example.com/mcp"
	if st, _, body := f.s.postJSON(t, "/admin/resources", map[string]string{"uri": resource, "name": "Notes MCP"}, bearer(f.admin)...); st != 201 {
		t.Fatalf("register resource: %d %s", st, body)
	}
	bin := filepath.Join(t.TempDir(), "device-login")
	if out, err := exec.Command("go", "build", "-o", bin, "../../examples/device-login").CombinedOutput(); err != nil {
		t.Fatalf("build the example: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-issuer", f.iss, "-client-id", f.clientID, "-scope", "openid email", "-resource", resource)
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })

	var code string
	for deadline := time.Now().Add(30 * time.Second); code == ""; time.Sleep(50 * time.Millisecond) {
		if m := userCodeRE.FindStringSubmatch(stderr.String()); m != nil {
			code = m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no code printed:\n%s", stderr.String())
		}
	}
	if !strings.Contains(stderr.String(), f.iss+"/device") {
		t.Errorf("no verification URI printed:\n%s", stderr.String())
	}
	if _, p := f.confirm(t, newBrowserless(t, f.iss), f.iss+"/device", code, "allow"); p.Status != 200 {
		t.Fatalf("allow: %d", p.Status)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("device-login: %v\n%s", err, stderr.String())
		}
	case <-time.After(time.Minute):
		t.Fatalf("device-login did not finish:\n%s", stderr.String())
	}
	c := verifyAccessToken(t, f.s, strings.TrimSpace(stdout.String()), resource)
	if c.Subject != f.userID || c.ClientID != f.clientID {
		t.Errorf("claims %+v", c)
	}
}
