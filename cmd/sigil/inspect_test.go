package main

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/keys/keystest"
	"github.com/sigil-auth/sigil/store/storetest"
)

type inspection struct {
	Header   map[string]any `json:"header"`
	Claims   map[string]any `json:"claims"`
	Valid    bool           `json:"valid"`
	KeyState string         `json:"keyState"`
	Problems []struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"problems"`
}

func (in inspection) codes() []string {
	var c []string
	for _, p := range in.Problems {
		c = append(c, p.Code)
	}
	return c
}

// inspect posts a token to the inspector and decodes the answer.
func (s *server) inspect(t *testing.T, admin, token, audience string) inspection {
	t.Helper()
	st, h, b := s.postJSON(t, "/admin/tokens/inspect", map[string]string{"token": token, "audience": audience}, bearer(admin)...)
	if st != http.StatusOK || h.Get("Cache-Control") != "no-store" {
		t.Fatalf("inspect: %d %s", st, b)
	}
	var in inspection
	decode(t, b, &in)
	return in
}

// wantProblems checks that the inspection found exactly the codes given.
func wantProblems(t *testing.T, what string, in inspection, codes ...string) {
	t.Helper()
	got := strings.Join(in.codes(), ",")
	if got != strings.Join(codes, ",") || in.Valid != (len(codes) == 0) {
		t.Fatalf("%s: problems %q (valid %v), want %q: %+v", what, got, in.Valid, strings.Join(codes, ","), in.Problems)
	}
	for _, p := range in.Problems {
		if p.Message == "" {
			t.Fatalf("%s: problem %s has no explanation", what, p.Code)
		}
	}
}

// The token inspector decodes a pasted token on the server and names each
// reason it does not verify: bad signature, unknown kid, revoked kid,
// expired, not yet valid, wrong audience, revoked jti; the token never
// reaches the log; only administrators may use it.
func TestTokenInspectorExplainsFailures(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		clock := keystest.NewClock(time.Now())
		s := startServerClock(t, adminEnv(dbURL, map[string]string{"SIGIL_LOG_LEVEL": "debug"}), clock.Now)
		admin := s.adminToken(t)
		user := s.signupLogin(t, "inspected@example.com", "user-password")

		in := s.inspect(t, admin, user.Token, "")
		wantProblems(t, "fresh token", in)
		if in.Header["typ"] != "at+jwt" || in.Header["kid"] == "" || in.Claims["email"] != "inspected@example.com" || in.KeyState != "active" {
			t.Fatalf("decoded %+v", in)
		}
		kid := in.Header["kid"].(string)

		// A changed payload keeps the header: bad signature.
		parts := strings.Split(user.Token, ".")
		forged := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"http://sigil.test","sub":"x","aud":"sigil","exp":9999999999,"iat":1,"nbf":1,"jti":"j"}`)) + "." + parts[2]
		wantProblems(t, "forged", s.inspect(t, admin, forged, ""), "bad_signature")

		// A kid this authority never had.
		hdr := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","kid":"no-such-key","typ":"at+jwt"}`))
		wantProblems(t, "unknown kid", s.inspect(t, admin, hdr+"."+parts[1]+"."+parts[2], ""), "unknown_kid")

		// none is refused whatever else the token says.
		none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","kid":"x","typ":"at+jwt"}`))
		in = s.inspect(t, admin, none+"."+parts[1]+".", "")
		if in.Valid || in.codes()[0] != "alg_not_allowed" {
			t.Fatalf("alg none: %v", in.codes())
		}

		wantProblems(t, "other audience", s.inspect(t, admin, user.Token, "billing-api"), "wrong_audience")
		wantProblems(t, "not a JWT", s.inspect(t, admin, "abc.def", ""), "malformed")
		if st, _, _ := s.postJSON(t, "/admin/tokens/inspect", map[string]string{"token": ""}, bearer(admin)...); st != http.StatusUnprocessableEntity {
			t.Fatalf("empty token: %d", st)
		}
		if st, _, _ := s.postJSON(t, "/admin/tokens/inspect", map[string]string{"token": user.Token}, bearer(user.Token)...); st != http.StatusForbidden {
			t.Fatalf("non-admin: %d", st)
		}

		// Revoked at /oauth2/revoke by the login client: revoked jti.
		victim := s.login(t, "inspected@example.com", "user-password")
		if st, _, b := s.postForm(t, "/oauth2/revoke", url.Values{"token": {victim.Token}, "client_id": {"sigil"}}); st != http.StatusOK {
			t.Fatalf("revoke: %d %s", st, b)
		}
		wantProblems(t, "revoked jti", s.inspect(t, admin, victim.Token, ""), "revoked_jti")

		// Time moves: the token expires; a token from the future is not
		// valid yet.
		clock.Advance(time.Hour)
		admin = s.adminToken(t)
		wantProblems(t, "expired", s.inspect(t, admin, user.Token, ""), "expired")
		future := s.login(t, "inspected@example.com", "user-password")
		clock.Advance(-2 * time.Hour)
		admin = s.adminToken(t)
		wantProblems(t, "future", s.inspect(t, admin, future.Token, ""), "not_yet_valid")

		// Revoking the key that signed it: revoked kid.
		if st, _, b := s.postJSON(t, "/admin/keys/"+kid+"/revoke", nil, bearer(admin)...); st != http.StatusOK {
			t.Fatalf("revoke key: %d %s", st, b)
		}
		admin = s.adminToken(t)
		in = s.inspect(t, admin, future.Token, "")
		if in.KeyState != "revoked" || in.codes()[0] != "revoked_kid" {
			t.Fatalf("revoked key: %+v", in)
		}

		for _, tok := range []string{user.Token, future.Token, victim.Token} {
			if strings.Contains(s.stderr.String(), tok) || strings.Contains(s.stderr.String(), strings.Split(tok, ".")[2]) {
				t.Fatal("a token reached the log")
			}
		}
	})
}

// Every use of the token inspector is audited as token.inspected, with
// the administrator as actor and the token's jti and sub, never the token
// itself; a refused inspection too. On both stores.
func TestTokenInspectionIsAudited(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := startServer(t, adminEnv(dbURL, nil))
		admin := s.login(t, adminEmail, adminPassword)
		user := s.signupLogin(t, "inspected@example.com", "user-password")
		in := s.inspect(t, admin.Token, user.Token, "")
		if st, _, _ := s.postJSON(t, "/admin/tokens/inspect", map[string]string{"token": ""}, bearer(admin.Token)...); st != http.StatusUnprocessableEntity {
			t.Fatalf("empty token: %d", st)
		}

		st, _, body := s.get(t, "/admin/audit?type=token.inspected", bearer(admin.Token)...)
		if st != http.StatusOK {
			t.Fatalf("audit: %d %s", st, body)
		}
		var p auditPage
		decode(t, body, &p)
		if len(p.Events) != 2 {
			t.Fatalf("%d token.inspected events, want 2: %+v", len(p.Events), p.Events)
		}
		refused, inspected := p.Events[0], p.Events[1] // newest first
		jti, sub := in.Claims["jti"].(string), in.Claims["sub"].(string)
		if inspected.Actor != admin.UserID || !strings.Contains(inspected.Detail, jti) || !strings.Contains(inspected.Detail, sub) {
			t.Errorf("inspection event %+v: want actor %s and the token's jti %s and sub %s", inspected, admin.UserID, jti, sub)
		}
		if refused.Actor != admin.UserID || refused.Detail == "" {
			t.Errorf("refused inspection event %+v", refused)
		}
		parts := strings.Split(user.Token, ".")
		for _, e := range p.Events {
			if strings.Contains(e.Detail, parts[1]) || strings.Contains(e.Detail, parts[2]) {
				t.Errorf("the audit event holds the token: %+v", e)
			}
		}
	})
}
