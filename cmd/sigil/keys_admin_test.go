package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/store/storetest"
)

// adminKey is one entry of GET /admin/keys.
type adminKey struct {
	KID         string     `json:"kid"`
	Alg         string     `json:"alg"`
	State       string     `json:"state"`
	CreatedAt   *time.Time `json:"createdAt"`
	ActivatedAt *time.Time `json:"activatedAt"`
	RetiredAt   *time.Time `json:"retiredAt"`
	ExpiresAt   *time.Time `json:"expiresAt"`
}

func (s *server) listKeys(t testing.TB, tok string) []adminKey {
	t.Helper()
	st, _, body := s.get(t, "/admin/keys", bearer(tok)...)
	if st != http.StatusOK {
		t.Fatalf("GET /admin/keys: %d %s", st, body)
	}
	var out struct {
		Keys []adminKey `json:"keys"`
	}
	decode(t, body, &out)
	return out.Keys
}

func (s *server) rotateKey(t testing.TB, tok, body string) (string, string) {
	t.Helper()
	st, _, b := do(t, http.MethodPost, s.Base+"/admin/keys/rotate", "application/json", body, bearer(tok)...)
	if st != http.StatusCreated {
		t.Fatalf("rotate %q: %d %s", body, st, b)
	}
	var r struct{ KID, Alg, State string }
	decode(t, b, &r)
	if r.State != "active" || r.KID == "" {
		t.Fatalf("rotate answered %s", b)
	}
	return r.KID, r.Alg
}

func jwksPublishes(t testing.TB, s *server, kid string) bool {
	t.Helper()
	_, _, body := s.get(t, "/.well-known/jwks.json")
	var set struct {
		Keys []struct {
			KID string `json:"kid"`
		} `json:"keys"`
	}
	decode(t, body, &set)
	for _, k := range set.Keys {
		if k.KID == kid {
			return true
		}
	}
	return false
}

func TestAdminKeysRotateListRevoke(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		env := adminEnv(dbURL, nil)
		s := startServer(t, env)
		admin := s.login(t, adminEmail, adminPassword)
		user := s.signupLogin(t, "ada@example.com", "correct horse battery")
		first := tokenHeader(t, user.Token)["kid"].(string)

		keys0 := s.listKeys(t, admin.Token)
		if len(keys0) != 1 || keys0[0].KID != first || keys0[0].State != "active" || keys0[0].Alg != "RS256" ||
			keys0[0].CreatedAt == nil || keys0[0].ActivatedAt == nil || keys0[0].RetiredAt != nil || keys0[0].ExpiresAt != nil {
			t.Fatalf("keys before rotation: %+v", keys0)
		}

		// Rotate with an empty body, then to another algorithm.
		second, alg := s.rotateKey(t, admin.Token, "")
		if alg != "RS256" || second == first {
			t.Fatalf("rotate: %s %s", second, alg)
		}
		third, alg := s.rotateKey(t, admin.Token, `{"alg":"EdDSA"}`)
		if alg != "EdDSA" {
			t.Fatalf("rotate to EdDSA gave %s", alg)
		}
		after := s.signupLogin(t, "bob@example.com", "correct horse battery")
		if h := tokenHeader(t, after.Token); h["kid"] != third || h["alg"] != "EdDSA" {
			t.Fatalf("new tokens are signed by %v, want %s EdDSA", h, third)
		}

		// The token issued before the rotations still passes, and every
		// key that signed a live token is still published.
		if st, _, body := s.get(t, "/auth/me", bearer(user.Token)...); st != http.StatusOK {
			t.Fatalf("pre-rotation token after rotation: %d %s", st, body)
		}
		verifyWithJWKS(t, s, user.Token)

		list := s.listKeys(t, admin.Token)
		states := map[string]adminKey{}
		for _, k := range list {
			states[k.KID] = k
		}
		if len(list) != 3 || list[0].KID != third {
			t.Fatalf("list not newest first: %+v", list)
		}
		for _, kid := range []string{first, second} {
			k := states[kid]
			if k.State != "retired" || k.RetiredAt == nil || k.ExpiresAt == nil ||
				!k.ExpiresAt.Equal(k.RetiredAt.Add(15*time.Minute+time.Minute)) {
				t.Fatalf("retired key %s: %+v", kid, k)
			}
		}
		if !states[first].RetiredAt.Equal(*states[second].ActivatedAt) || !states[second].RetiredAt.Equal(*states[third].ActivatedAt) {
			t.Fatalf("history has a gap: %+v", list)
		}

		// Revoke the key of the pre-rotation token: it fails at once,
		// and leaves the JWKS.
		st, _, body := s.postJSON(t, "/admin/keys/"+first+"/revoke", nil, bearer(admin.Token)...)
		if st != http.StatusOK || !strings.Contains(string(body), `"state":"revoked"`) {
			t.Fatalf("revoke: %d %s", st, body)
		}
		if st, _, _ := s.get(t, "/auth/me", bearer(user.Token)...); st != http.StatusUnauthorized {
			t.Fatalf("token of a revoked key: %d", st)
		}
		if jwksPublishes(t, s, first) {
			t.Fatal("revoked key still in the JWKS")
		}
		// The admin's own token was signed by that key too.
		if st, _, _ := s.get(t, "/admin/keys", bearer(admin.Token)...); st != http.StatusUnauthorized {
			t.Fatalf("admin token of a revoked key: %d", st)
		}
		admin = s.login(t, adminEmail, adminPassword)
		// Revoking twice is idempotent.
		if st, _, body := do(t, http.MethodPost, s.Base+"/admin/keys/"+first+"/revoke", "", "", bearer(admin.Token)...); st != http.StatusOK {
			t.Fatalf("second revoke: %d %s", st, body)
		}

		// Revoking the active key makes a new one active at once.
		st, _, body = s.postJSON(t, "/admin/keys/"+third+"/revoke", nil, bearer(admin.Token)...)
		if st != http.StatusOK {
			t.Fatalf("revoke active: %d %s", st, body)
		}
		if st, _, _ := s.get(t, "/auth/me", bearer(after.Token)...); st != http.StatusUnauthorized {
			t.Fatalf("token of the revoked active key: %d", st)
		}
		// The admin's token was signed by the revoked active key: log in again.
		admin = s.login(t, adminEmail, adminPassword)
		list = s.listKeys(t, admin.Token)
		active := 0
		for _, k := range list {
			if k.State == "active" {
				active++
				if k.KID == third || !jwksPublishes(t, s, k.KID) {
					t.Fatalf("replacement key %+v", k)
				}
			}
		}
		if active != 1 {
			t.Fatalf("%d active keys after revoking the active one", active)
		}
		if st, _, body := s.get(t, "/auth/me", bearer(admin.Token)...); st != http.StatusOK {
			t.Fatalf("new login after revocations: %d %s", st, body)
		}

		// Audit: who, when, which kid, why.
		var me struct{ UserID string }
		_, _, body = s.get(t, "/auth/me", bearer(admin.Token)...)
		decode(t, body, &me)
		revoked := auditEvents(t, dbURL, authority.EventQuery{Type: "key.revoked"})
		if len(revoked) != 2 {
			t.Fatalf("key.revoked events: %+v", revoked)
		}
		for _, e := range revoked {
			if e.Actor != me.UserID || e.Detail == "" || e.At.IsZero() || (e.KID != first && e.KID != third) {
				t.Fatalf("revocation event %+v, want actor %s", e, me.UserID)
			}
		}
		activated := auditEvents(t, dbURL, authority.EventQuery{Type: "key.activated"})
		if len(activated) != 4 { // bootstrap, two rotations, the replacement
			t.Fatalf("key.activated events: %+v", activated)
		}
		for _, e := range activated[:3] {
			if e.Actor != me.UserID {
				t.Fatalf("activation by an admin recorded as %+v", e)
			}
		}
		if activated[3].Actor != "system" {
			t.Fatalf("bootstrap activation recorded as %+v", activated[3])
		}
	})
}

func TestAdminKeysRefuseWithoutAdmin(t *testing.T) {
	dbURL := storetest.SQLiteURL(t)
	env := testEnv(dbURL, nil)
	if _, _, err := runCLI(t, env, "", "migrate"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCLI(t, env, "admin password\n", "users", "create", "--email", "root@example.com", "--admin", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, env)
	admin := s.login(t, "root@example.com", "admin password")
	user := s.signupLogin(t, "ada@example.com", "correct horse battery")
	kid := tokenHeader(t, user.Token)["kid"].(string)

	cases := []struct {
		name, method, path, body string
		hdr                      []string
		status                   int
		wwwAuth                  string
	}{
		{"list without token", "GET", "/admin/keys", "", nil, 401, "Bearer"},
		{"rotate without token", "POST", "/admin/keys/rotate", "", nil, 401, "Bearer"},
		{"revoke without token", "POST", "/admin/keys/" + kid + "/revoke", "", nil, 401, "Bearer"},
		{"list with a forged token", "GET", "/admin/keys", "", bearer(user.Token[:len(user.Token)-4] + "AAAA"), 401, "Bearer"},
		{"list as a user", "GET", "/admin/keys", "", bearer(user.Token), 403, ""},
		{"rotate as a user", "POST", "/admin/keys/rotate", "", bearer(user.Token), 403, ""},
		{"revoke as a user", "POST", "/admin/keys/" + kid + "/revoke", "", bearer(user.Token), 403, ""},
		{"revoke an unknown kid", "POST", "/admin/keys/no-such-kid/revoke", "", bearer(admin.Token), 404, ""},
		{"rotate to an unsupported alg", "POST", "/admin/keys/rotate", `{"alg":"HS256"}`, bearer(admin.Token), 422, ""},
		{"rotate with an unknown field", "POST", "/admin/keys/rotate", `{"algorithm":"EdDSA"}`, bearer(admin.Token), 422, ""},
		{"rotate with malformed JSON", "POST", "/admin/keys/rotate", `{"alg":`, bearer(admin.Token), 400, ""},
		{"list with a wrong method", "DELETE", "/admin/keys", "", bearer(admin.Token), 405, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctype := ""
			if c.body != "" {
				ctype = "application/json"
			}
			st, h, body := do(t, c.method, s.Base+c.path, ctype, c.body, c.hdr...)
			if st != c.status {
				t.Fatalf("%d %s, want %d", st, body, c.status)
			}
			if got := h.Get("Content-Type"); got != "application/problem+json" {
				t.Fatalf("content type %q", got)
			}
			var p struct {
				Status int    `json:"status"`
				Title  string `json:"title"`
			}
			decode(t, body, &p)
			if p.Status != c.status || p.Title == "" {
				t.Fatalf("problem %s", body)
			}
			if c.wwwAuth != "" && !strings.HasPrefix(h.Get("WWW-Authenticate"), c.wwwAuth) {
				t.Fatalf("WWW-Authenticate %q", h.Get("WWW-Authenticate"))
			}
		})
	}
	// Nothing above changed the keys.
	list := s.listKeys(t, admin.Token)
	if len(list) != 1 || list[0].KID != kid || list[0].State != "active" {
		t.Fatalf("keys changed by refused requests: %+v", list)
	}
	b, _ := json.Marshal(list)
	if strings.Contains(string(b), "sealed") || strings.Contains(string(b), `"d"`) {
		t.Fatalf("key listing leaks private material: %s", b)
	}
}
