package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/store"
)

// createClient registers a client through the admin API.
func (s *server) createClient(t *testing.T, admin string, body map[string]any) (id, secret string) {
	t.Helper()
	st, h, b := s.postJSON(t, "/admin/clients", body, bearer(admin)...)
	if st != http.StatusCreated || h.Get("Cache-Control") != "no-store" {
		t.Fatalf("create client: %d %s", st, b)
	}
	var r struct{ ClientID, ClientSecret string }
	decode(t, b, &r)
	if r.ClientID == "" || len(r.ClientSecret) < 43 {
		t.Fatalf("create client answer %s", b)
	}
	return r.ClientID, r.ClientSecret
}

func (s *server) postForm(t *testing.T, path string, form url.Values, hdr ...string) (int, http.Header, []byte) {
	t.Helper()
	return do(t, http.MethodPost, s.Base+path, "application/x-www-form-urlencoded", form.Encode(), hdr...)
}

// basic is client_secret_basic: id and secret form-urlencoded, then
// base64 (RFC 6749 §2.3.1).
func basic(id, secret string) []string {
	cred := url.QueryEscape(id) + ":" + url.QueryEscape(secret)
	return []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(cred))}
}

type oauthErr struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// wantOAuthError checks an RFC 6749 §5.2 error answer.
func wantOAuthError(t *testing.T, what string, st int, h http.Header, body []byte, wantStatus int, wantCode string) {
	t.Helper()
	var e oauthErr
	if err := json.Unmarshal(body, &e); err != nil || st != wantStatus || e.Error != wantCode || e.Description == "" {
		t.Fatalf("%s: %d %s, want %d %s", what, st, body, wantStatus, wantCode)
	}
	if ct := h.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s: Content-Type %q, want application/json", what, ct)
	}
}

type tokenAns struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	Scope        string `json:"scope"`
	RefreshToken string `json:"refresh_token"`
}

func tokenOK(t *testing.T, what string, st int, h http.Header, body []byte) tokenAns {
	t.Helper()
	if st != http.StatusOK {
		t.Fatalf("%s: %d %s", what, st, body)
	}
	if h.Get("Cache-Control") != "no-store" || h.Get("Pragma") != "no-cache" {
		t.Fatalf("%s: caching headers %v", what, h)
	}
	var a tokenAns
	decode(t, body, &a)
	if a.AccessToken == "" || a.TokenType != "Bearer" || a.ExpiresIn <= 0 {
		t.Fatalf("%s: answer %s", what, body)
	}
	return a
}

// liveInFamily counts the live tokens of the family of refresh token tok.
func liveInFamily(t *testing.T, db *store.DB, tok string) int {
	t.Helper()
	ctx := context.Background()
	rt, err := db.RefreshTokenByHash(ctx, authority.RefreshTokenKey(tok))
	if err != nil {
		t.Fatal(err)
	}
	fam, err := db.RefreshFamily(ctx, rt.FamilyID)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, x := range fam {
		if x.SpentAt.IsZero() && x.RevokedAt.IsZero() {
			n++
		}
	}
	return n
}

func countEvents(t *testing.T, db *store.DB, typ string) int {
	t.Helper()
	ev, err := db.ListEvents(context.Background(), store.AuditQuery{Type: typ})
	if err != nil {
		t.Fatal(err)
	}
	return len(ev)
}
