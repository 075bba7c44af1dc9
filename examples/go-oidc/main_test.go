package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

const adminEmail, adminPassword = "root@example.com", "admin password 123"

// startSigil builds and runs the real `sigil serve` on a free port with a
// fresh SQLite database; it returns the issuer URL once /readyz is 200.
func startSigil(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	bin := os.Getenv("SIGIL_BIN")
	if bin == "" {
		bin = filepath.Join(dir, "sigil")
		if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/sigil").CombinedOutput(); err != nil {
			t.Fatalf("build sigil: %v\n%s", err, out)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	base := "http://" + addr
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "SIGIL_ADDR="+addr, "SIGIL_ISSUER="+base,
		"SIGIL_DATABASE_URL=sqlite:"+filepath.Join(dir, "sigil.db"), "SIGIL_ARGON2_MEMORY=1024",
		"SIGIL_ARGON2_TIME=1", "SIGIL_RATE_LIMIT=0", "SIGIL_LOG_LEVEL=warn",
		"SIGIL_ADMIN_EMAIL="+adminEmail, "SIGIL_ADMIN_PASSWORD="+adminPassword)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() })
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

func call(t *testing.T, method, u, token string, body any, form url.Values) (int, map[string]any) {
	t.Helper()
	var rd *bytes.Reader
	ct := ""
	switch {
	case form != nil:
		rd, ct = bytes.NewReader([]byte(form.Encode())), "application/x-www-form-urlencoded"
	case body != nil:
		b, _ := json.Marshal(body)
		rd, ct = bytes.NewReader(b), "application/json"
	default:
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, u, rd)
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(r.Body).Decode(&out)
	return r.StatusCode, out
}

func login(t *testing.T, sigil, email, password string, signup bool) string {
	t.Helper()
	if signup {
		if st, b := call(t, "POST", sigil+"/auth/signup", "", map[string]string{"email": email, "password": password, "name": "N"}, nil); st != 201 {
			t.Fatalf("signup %d %v", st, b)
		}
	}
	st, b := call(t, "POST", sigil+"/auth/login", "", map[string]string{"email": email, "password": password}, nil)
	if st != 200 {
		t.Fatalf("login %d %v", st, b)
	}
	return b["token"].(string)
}

func TestResourceServerAgainstSigil(t *testing.T) {
	sigil := startSigil(t)
	v, err := newVerifier(context.Background(), sigil, "sigil")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(routes(v))
	defer srv.Close()

	user := login(t, sigil, "ada@example.com", "a long password 1", true)
	admin := login(t, sigil, adminEmail, adminPassword, false)
	if st, b := call(t, "GET", srv.URL+"/notes", user, nil, nil); st != 200 || b["email"] != "ada@example.com" {
		t.Errorf("user GET: %d %v", st, b)
	}
	if st, _ := call(t, "DELETE", srv.URL+"/notes", user, nil, nil); st != 403 {
		t.Errorf("user DELETE: %d, want 403", st)
	}
	if st, _ := call(t, "DELETE", srv.URL+"/notes", admin, nil, nil); st != 200 {
		t.Errorf("admin DELETE: %d, want 200", st)
	}
	if st, _ := call(t, "GET", srv.URL+"/notes", "", nil, nil); st != 401 {
		t.Errorf("no token: %d, want 401", st)
	}
	parts := strings.Split(user, ".")
	tampered := parts[0] + "." + parts[1] + "x." + parts[2]
	if st, _ := call(t, "GET", srv.URL+"/notes", tampered, nil, nil); st != 401 {
		t.Errorf("tampered: %d, want 401", st)
	}
	// The tutorial's shared-secret token.
	hs, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte("Asecretkey")}, (&jose.SignerOptions{}).WithType("at+jwt"))
	shared, _ := jwt.Signed(hs).Claims(jwt.Claims{Issuer: sigil, Audience: jwt.Audience{"sigil"}, Subject: "x", Expiry: jwt.NewNumericDate(time.Now().Add(time.Hour))}).Serialize()
	if st, _ := call(t, "GET", srv.URL+"/notes", shared, nil, nil); st != 401 {
		t.Errorf("HS256 shared secret: %d, want 401", st)
	}
	// A Sigil token for another audience.
	st, c := call(t, "POST", sigil+"/admin/clients", admin, map[string]any{"name": "billing", "scopes": []string{"invoices"}, "audience": "billing"}, nil)
	if st != 201 {
		t.Fatalf("create client: %d %v", st, c)
	}
	st, tok := call(t, "POST", sigil+"/oauth2/token", "", nil, url.Values{"grant_type": {"client_credentials"}, "client_id": {c["clientId"].(string)}, "client_secret": {c["clientSecret"].(string)}})
	if st != 200 {
		t.Fatalf("client_credentials: %d %v", st, tok)
	}
	if st, _ := call(t, "GET", srv.URL+"/notes", tok["access_token"].(string), nil, nil); st != 401 {
		t.Errorf("other audience: %d, want 401", st)
	}
}

// TestRejectsIDTokens uses an issuer the test controls to sign one token
// with typ at+jwt and one with typ JWT (an ID token's): go-oidc alone
// accepts both; the example accepts only the first.
func TestRejectsIDTokens(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	jwk := jose.JSONWebKey{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}
	mux := http.NewServeMux()
	idp := httptest.NewServer(mux)
	defer idp.Close()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"issuer":%q,"jwks_uri":%q,"authorization_endpoint":%q,"token_endpoint":%q,"id_token_signing_alg_values_supported":["RS256"]}`,
			idp.URL, idp.URL+"/jwks", idp.URL+"/authorize", idp.URL+"/token")
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{jwk}})
	})
	v, err := newVerifier(context.Background(), idp.URL, "sigil")
	if err != nil {
		t.Fatal(err)
	}
	sign := func(typ string) string {
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}}, (&jose.SignerOptions{}).WithType(jose.ContentType(typ)))
		if err != nil {
			t.Fatal(err)
		}
		raw, err := jwt.Signed(s).Claims(jwt.Claims{Issuer: idp.URL, Audience: jwt.Audience{"sigil"}, Subject: "u1", Expiry: jwt.NewNumericDate(time.Now().Add(5 * time.Minute))}).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	if _, err := v.verify(context.Background(), sign("at+jwt")); err != nil {
		t.Fatalf("access token rejected: %v", err)
	}
	if _, err := v.oidc.Verify(context.Background(), sign("JWT")); err != nil {
		t.Fatalf("go-oidc alone should accept the ID token (the reason for the typ check): %v", err)
	}
	if _, err := v.verify(context.Background(), sign("JWT")); err != errNotAccessToken {
		t.Fatalf("ID token: %v, want errNotAccessToken", err)
	}
}
