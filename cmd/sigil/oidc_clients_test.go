package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/sigil-auth/sigil/store/storetest"
)

// Clients of the browser flow are validated on creation, and public
// clients get no secret.
func TestOIDCClientRegistration(t *testing.T) {
	f := newOIDCFixture(t, storetest.SQLiteURL(t), nil)
	for _, c := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"wildcard", map[string]any{"name": "x", "redirectUris": []string{"https://*.example.com/cb"}}, "redirectUris"},
		{"fragment", map[string]any{"name": "x", "redirectUris": []string{"https://app.example.com/cb#x"}}, "redirectUris"},
		{"http to a public host", map[string]any{"name": "x", "redirectUris": []string{"http://app.example.com/cb"}}, "redirectUris"},
		{"javascript scheme", map[string]any{"name": "x", "redirectUris": []string{"javascript:alert(1)"}}, "redirectUris"},
		{"relative", map[string]any{"name": "x", "redirectUris": []string{"/cb"}}, "redirectUris"},
		{"unknown grant", map[string]any{"name": "x", "grantTypes": []string{"password"}}, "grantTypes"},
		{"public client_credentials", map[string]any{"name": "x", "public": true, "grantTypes": []string{"client_credentials"}}, "grantTypes"},
		{"code without redirect", map[string]any{"name": "x", "grantTypes": []string{"authorization_code"}}, "redirectUris"},
	} {
		st, _, body := f.s.postJSON(t, "/admin/clients", c.body, bearer(f.admin)...)
		var p struct{ Field string }
		json.Unmarshal(body, &p)
		if st != http.StatusUnprocessableEntity || p.Field != c.field {
			t.Errorf("%s: %d %s, want 422 on %s", c.name, st, body, c.field)
		}
	}
	st, _, body := f.s.postJSON(t, "/admin/clients", map[string]any{"name": "spa", "public": true, "redirectUris": []string{"https://app.example.com/cb"}}, bearer(f.admin)...)
	if st != http.StatusCreated || strings.Contains(string(body), "clientSecret") {
		t.Errorf("public client: %d %s", st, body)
	}
	_, _, body = f.s.get(t, "/admin/clients", bearer(f.admin)...)
	if !strings.Contains(string(body), `"grantTypes":["authorization_code","refresh_token"]`) || !strings.Contains(string(body), `"public":true`) {
		t.Errorf("client list %s", body)
	}
	// The CLI registers the same.
	out, _, err := runCLI(t, f.s.config(), "", "clients", "create", "--name", "cli-app", "--public", "--first-party",
		"--redirect-uri", "http://127.0.0.1:8000/cb", "--redirect-uri", "com.example.app:/cb", "--post-logout-redirect-uri", "http://127.0.0.1:8000/")
	if err != nil || !strings.Contains(out, "client_id:") || strings.Contains(out, "client_secret") {
		t.Fatalf("clients create --public: %v %s", err, out)
	}
	out, _, _ = runCLI(t, f.s.config(), "", "clients", "list")
	if !strings.Contains(out, "public,first-party") || !strings.Contains(out, "com.example.app:/cb") {
		t.Errorf("clients list:\n%s", out)
	}
	_, _, err = runCLI(t, f.s.config(), "", "clients", "create", "--name", "bad", "--redirect-uri", "http://example.com/cb")
	if err == nil || !strings.Contains(err.Error(), "--redirect-uri") {
		t.Errorf("CLI with a bad redirect URI: %v", err)
	}
}
