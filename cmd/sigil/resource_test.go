package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/keys/keystest"
	"github.com/sigil-auth/sigil/store/storetest"
	"github.com/sigil-auth/sigil/verify"
)

// freeAddr returns a loopback address with a port nobody listens on now,
// for servers whose issuer URL must be known before they start.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// startIssuerServer starts Sigil with an issuer URL that resolves to the
// server itself (so discovery works) and a bootstrap administrator.
func startIssuerServer(t *testing.T, dbURL string) (*server, loginResult) {
	t.Helper()
	addr := freeAddr(t)
	s := startServer(t, adminEnv(dbURL, map[string]string{"SIGIL_ADDR": addr, "SIGIL_ISSUER": "http://" + addr}))
	return s, s.login(t, adminEmail, adminPassword)
}

// A resource server using package verify against a real Sigil: tokens
// verify, rotations are followed without restart, revoked keys stop
// verifying, and bad tokens get 401 from the middleware.
func TestResourceServerFollowsRotationAndRevocation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s, admin := startIssuerServer(t, dbURL)
		user := s.signupLogin(t, "reader@example.com", "password123")
		clk := keystest.NewClock(time.Now())
		ctx := context.Background()
		v, err := verify.New(ctx, s.Issuer, verify.WithAudience("sigil"), verify.WithClock(clk.Now))
		if err != nil {
			t.Fatal(err)
		}
		rs := httptest.NewServer(v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, _ := verify.ClaimsFromContext(r.Context())
			fmt.Fprint(w, c.Subject)
		})))
		defer rs.Close()
		call := func(tok string) (int, string) {
			st, h, body := do(t, http.MethodGet, rs.URL, "", "", bearer(tok)...)
			return st, h.Get("WWW-Authenticate") + string(body)
		}

		if st, body := call(user.Token); st != 200 || !strings.Contains(body, user.UserID) {
			t.Fatalf("valid token: %d %s", st, body)
		}

		// Rotation: tokens of the new key verify with no restart.
		oldKID := tokenHeader(t, user.Token)["kid"].(string)
		newKID, _ := s.rotateKey(t, admin.Token, `{"alg":"EdDSA"}`)
		fresh := s.login(t, "reader@example.com", "password123")
		if got := tokenHeader(t, fresh.Token)["kid"]; got != newKID {
			t.Fatalf("new token kid %v, want %s", got, newKID)
		}
		if st, body := call(fresh.Token); st != 200 {
			t.Fatalf("token of the rotated-in key: %d %s", st, body)
		}
		if st, _ := call(user.Token); st != 200 {
			t.Fatalf("token of the retired key stopped verifying: %d", st)
		}

		// Revoking the retired key: cached until the JWKS max-age runs out.
		if st, _, body := do(t, http.MethodPost, s.Base+"/admin/keys/"+oldKID+"/revoke", "application/json", "", bearer(admin.Token)...); st != 200 {
			t.Fatalf("revoke: %d %s", st, body)
		}
		if st, _ := call(user.Token); st != 200 {
			t.Fatalf("revoked key dropped before the cache expired: %d", st)
		}
		clk.Advance(6 * time.Minute) // past SIGIL_JWKS_MAX_AGE (5m)
		if st, body := call(user.Token); st != 401 || !strings.Contains(body, `error="invalid_token"`) {
			t.Fatalf("token of a revoked key after the cache refreshed: %d %s", st, body)
		}

		// Revoking the active key: the replacement's first token takes the
		// unknown-kid path, which drops the revoked key at once. (The admin's
		// first token died with the key that signed it.)
		admin = s.login(t, adminEmail, adminPassword)
		if st, _, body := do(t, http.MethodPost, s.Base+"/admin/keys/"+newKID+"/revoke", "application/json", "", bearer(admin.Token)...); st != 200 {
			t.Fatalf("revoke active: %d %s", st, body)
		}
		clk.Advance(11 * time.Second) // past the unknown-kid interval
		replacement := s.login(t, "reader@example.com", "password123")
		if st, body := call(replacement.Token); st != 200 {
			t.Fatalf("token of the replacement key: %d %s", st, body)
		}
		if st, _ := call(fresh.Token); st != 401 {
			t.Fatalf("token of the revoked active key still verifies after the refresh: %d", st)
		}

		// Tokens that are wrong in one way each.
		env := map[string]string{"SIGIL_DATABASE_URL": dbURL}
		if strings.HasPrefix(dbURL, "postgres") {
			env["SIGIL_KEY_ENCRYPTION_KEY"] = "test:" + testKEK
		}
		priv, kid := activePrivateKey(t, env)
		alg := tokenHeader(t, replacement.Token)["alg"].(string)
		claims := func(mod func(map[string]any)) string {
			now := clk.Now().Unix()
			c := map[string]any{"iss": s.Issuer, "sub": "u1", "aud": "sigil", "exp": now + 600, "iat": now, "nbf": now,
				"jti": "j", "client_id": "sigil", "scope": "", "email": "x@example.com", "roles": []string{}}
			mod(c)
			return signRaw(t, priv, kid, alg, c)
		}
		if st, _ := call(claims(func(map[string]any) {})); st != 200 {
			t.Fatalf("control token: %d", st)
		}
		parts := strings.Split(replacement.Token, ".")
		payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
		payload[5] ^= 1
		bad := map[string]string{
			"expired":        claims(func(c map[string]any) { c["exp"] = clk.Now().Add(-5 * time.Minute).Unix() }),
			"other audience": claims(func(c map[string]any) { c["aud"] = "billing" }),
			"other issuer":   claims(func(c map[string]any) { c["iss"] = "http://impostor.test" }),
			"tampered":       parts[0] + "." + base64.RawURLEncoding.EncodeToString(payload) + "." + parts[2],
		}
		for name, tok := range bad {
			if st, body := call(tok); st != 401 || !strings.Contains(body, "invalid_token") {
				t.Errorf("%s: %d %s, want 401 invalid_token", name, st, body)
			}
		}
	})
}

// The feed demo against a real Sigil: the owner may delete a post, others
// get 403, an admin may delete anything, no token is 401.
func TestFeedDemoEndToEnd(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "feed")
	if out, err := exec.Command("go", "build", "-o", bin, "../feed").CombinedOutput(); err != nil {
		t.Fatalf("build feed: %v\n%s", err, out)
	}
	s, admin := startIssuerServer(t, storetest.SQLiteURL(t))
	alice := s.signupLogin(t, "alice@example.com", "password123")
	bob := s.signupLogin(t, "bob@example.com", "password123")

	feedAddr := freeAddr(t)
	cmd := exec.Command(bin)
	cmd.Env = []string{"FEED_ADDR=" + feedAddr, "FEED_ISSUER=" + s.Issuer, "PATH=" + os.Getenv("PATH")}
	var logs syncBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	feed := "http://" + feedAddr
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", feedAddr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("feed did not start: %v\n%s", err, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	if st, h, _ := do(t, http.MethodGet, feed+"/feed/posts", "", ""); st != 401 || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("no token: %d %v", st, h)
	}
	post := func(tok string) string {
		st, _, body := do(t, http.MethodPost, feed+"/feed/post", "application/json", `{"title":"hello","content":"first post"}`, bearer(tok)...)
		if st != 201 {
			t.Fatalf("create post: %d %s", st, body)
		}
		var p struct {
			ID, Owner string
		}
		decode(t, body, &p)
		if p.ID == "" {
			t.Fatalf("post without id: %s", body)
		}
		return p.ID
	}
	id := post(alice.Token)
	if st, _, body := do(t, http.MethodGet, feed+"/feed/posts", "", "", bearer(bob.Token)...); st != 200 || !strings.Contains(string(body), id) {
		t.Fatalf("list posts: %d %s", st, body)
	}
	if st, _, _ := do(t, http.MethodDelete, feed+"/feed/post/"+id, "", "", bearer(bob.Token)...); st != 403 {
		t.Fatalf("bob deleting alice's post: %d, want 403", st)
	}
	if st, _, _ := do(t, http.MethodDelete, feed+"/feed/post/"+id, "", "", bearer(alice.Token)...); st != 204 {
		t.Fatalf("alice deleting her post: %d, want 204", st)
	}
	id2 := post(bob.Token)
	if st, _, _ := do(t, http.MethodDelete, feed+"/feed/post/"+id2, "", "", bearer(admin.Token)...); st != 204 {
		t.Fatalf("admin deleting bob's post: %d, want 204", st)
	}
	if st, _, _ := do(t, http.MethodDelete, feed+"/feed/post/"+id2, "", "", bearer(bob.Token)...); st != 404 {
		t.Fatalf("deleting a deleted post: %d, want 404", st)
	}
}
