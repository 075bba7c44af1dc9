package main

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/store/storetest"
)

// POST /admin/clients/{id}/secret gives a client a new secret, shown once:
// the old one stops working at once, the new one works, and the rotation
// is audited with the administrator's id.
func TestAdminRotatesClientSecret(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := startServer(t, adminEnv(dbURL, nil))
		admin := s.login(t, adminEmail, adminPassword)
		id, old := s.createClient(t, admin.Token, map[string]any{"name": "billing", "scopes": []string{"read"}, "audience": "billing-api"})
		cc := url.Values{"grant_type": {"client_credentials"}}
		st, h, b := s.postForm(t, "/oauth2/token", cc, basic(id, old)...)
		tokenOK(t, "old secret", st, h, b)

		st, h, b = s.postJSON(t, "/admin/clients/"+id+"/secret", nil, bearer(admin.Token)...)
		if st != http.StatusOK || h.Get("Cache-Control") != "no-store" {
			t.Fatalf("rotate secret: %d %s", st, b)
		}
		var r struct{ ClientID, ClientSecret string }
		decode(t, b, &r)
		if r.ClientID != id || len(r.ClientSecret) < 43 || r.ClientSecret == old {
			t.Fatalf("rotate answer %s", b)
		}
		st, h, b = s.postForm(t, "/oauth2/token", cc, basic(id, old)...)
		wantOAuthError(t, "old secret after rotation", st, h, b, http.StatusUnauthorized, "invalid_client")
		st, h, b = s.postForm(t, "/oauth2/token", cc, basic(id, r.ClientSecret)...)
		tokenOK(t, "new secret", st, h, b)

		_, _, b = s.get(t, "/admin/audit?type=client.secret_rotated", bearer(admin.Token)...)
		var p auditPage
		decode(t, b, &p)
		if len(p.Events) != 1 || p.Events[0].Actor != admin.UserID || p.Events[0].Detail != "client "+id {
			t.Fatalf("audit %s", b)
		}
		for _, e := range p.Events {
			if e.Detail == r.ClientSecret {
				t.Fatal("secret in the audit log")
			}
		}

		if st, _, _ := s.postJSON(t, "/admin/clients/no-such-client/secret", nil, bearer(admin.Token)...); st != http.StatusNotFound {
			t.Fatalf("unknown client: %d", st)
		}
		st, _, b = s.postJSON(t, "/admin/clients", map[string]any{"name": "spa", "public": true, "redirectUris": []string{"http://127.0.0.1:9/cb"}}, bearer(admin.Token)...)
		var pub struct{ ClientID string }
		decode(t, b, &pub)
		if st != http.StatusCreated || pub.ClientID == "" {
			t.Fatalf("public client: %d %s", st, b)
		}
		if st, _, b := s.postJSON(t, "/admin/clients/"+pub.ClientID+"/secret", nil, bearer(admin.Token)...); st != http.StatusUnprocessableEntity {
			t.Fatalf("public client secret: %d %s", st, b)
		}
		user := s.signupLogin(t, "plain@example.com", "user-password")
		if st, _, _ := s.postJSON(t, "/admin/clients/"+id+"/secret", nil, bearer(user.Token)...); st != http.StatusForbidden {
			t.Fatalf("non-admin: %d", st)
		}
	})
}

// GET /admin/audit takes from (inclusive) and to (exclusive), RFC 3339.
func TestAdminAuditTimeRange(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := startServer(t, adminEnv(dbURL, nil))
		admin := s.adminToken(t)
		before := time.Now().UTC()
		s.signupLogin(t, "ranged@example.com", "user-password")
		after := time.Now().UTC()

		count := func(q string) int {
			t.Helper()
			st, _, b := s.get(t, "/admin/audit?type=user.signup&"+q, bearer(admin)...)
			if st != http.StatusOK {
				t.Fatalf("audit %s: %d %s", q, st, b)
			}
			var p auditPage
			decode(t, b, &p)
			return len(p.Events)
		}
		f := func(t time.Time) string { return url.QueryEscape(t.Format(time.RFC3339Nano)) }
		if n := count("from=" + f(before) + "&to=" + f(after)); n != 1 {
			t.Fatalf("in range: %d events", n)
		}
		if n := count("from=" + f(after)); n != 0 {
			t.Fatalf("from after: %d events", n)
		}
		if n, all := count("to="+f(before)), count(""); n != all-1 {
			t.Fatalf("to before: %d events of %d", n, all)
		}
		for _, q := range []string{"from=yesterday", "to=2026-13-01T00:00:00Z", "from=" + f(after) + "&to=" + f(before)} {
			if st, _, b := s.get(t, "/admin/audit?"+q, bearer(admin)...); st != http.StatusUnprocessableEntity {
				t.Fatalf("%s: %d %s", q, st, b)
			}
		}
	})
}

type overviewAns struct {
	SigningAlg           string     `json:"signingAlg"`
	ActiveKID            string     `json:"activeKid"`
	ActiveSince          *time.Time `json:"activeSince"`
	ActiveKeyAgeSeconds  int64      `json:"activeKeyAgeSeconds"`
	NextRotation         *time.Time `json:"nextRotation"`
	Ready                bool       `json:"ready"`
	Users                int        `json:"users"`
	Clients              int        `json:"clients"`
	TokensIssuedLastHour int64      `json:"tokensIssuedLastHour"`
	KeyTimeline          timelineAns
}

type timelineAns struct {
	Keys []struct {
		KID       string     `json:"kid"`
		Alg       string     `json:"alg"`
		State     string     `json:"state"`
		Status    string     `json:"status"`
		Published bool       `json:"published"`
		RetiredAt *time.Time `json:"retiredAt"`
		LeavesAt  *time.Time `json:"leavesJwksAt"`
		RevokedAt *time.Time `json:"revokedAt"`
	} `json:"keys"`
	NextRotation *time.Time `json:"nextRotation"`
}

// GET /admin/overview reports the signing key, its age and the next
// scheduled rotation, readiness, the numbers of users and clients, and the
// access tokens issued in the last hour (from the metrics counter).
func TestAdminOverview(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := startServer(t, adminEnv(dbURL, map[string]string{"SIGIL_ROTATION_PERIOD": "720h", "SIGIL_SIGNING_ALG": "EdDSA"}))
		admin := s.adminToken(t)
		get := func() overviewAns {
			t.Helper()
			st, h, b := s.get(t, "/admin/overview", bearer(admin)...)
			if st != http.StatusOK || h.Get("Cache-Control") != "no-store" {
				t.Fatalf("overview: %d %s", st, b)
			}
			var o overviewAns
			decode(t, b, &o)
			return o
		}
		o := get()
		_, _, rb := s.get(t, "/readyz")
		var ready struct{ ActiveKid string }
		decode(t, rb, &ready)
		if o.SigningAlg != "EdDSA" || o.ActiveKID != ready.ActiveKid || !o.Ready || o.ActiveSince == nil || o.ActiveKeyAgeSeconds < 0 {
			t.Fatalf("overview %+v", o)
		}
		if o.NextRotation == nil || !o.NextRotation.Equal(o.ActiveSince.Add(720*time.Hour)) {
			t.Fatalf("next rotation %v, active since %v", o.NextRotation, o.ActiveSince)
		}
		// One user (the administrator); one client, the built-in console.
		if o.Users != 1 || o.Clients != 1 {
			t.Fatalf("counts %+v", o)
		}

		s.signupLogin(t, "one@example.com", "user-password")
		s.signupLogin(t, "two@example.com", "user-password")
		id, secret := s.createClient(t, admin, map[string]any{"name": "svc", "scopes": []string{}, "audience": "svc"})
		st, h, b := s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, basic(id, secret)...)
		tokenOK(t, "cc", st, h, b)
		o2 := get()
		if o2.Users != 3 || o2.Clients != 2 || o2.TokensIssuedLastHour-o.TokensIssuedLastHour != 3 {
			t.Fatalf("after two logins and a client token: %+v (before %d tokens)", o2, o.TokensIssuedLastHour)
		}
		user := s.login(t, "one@example.com", "user-password")
		if st, _, _ := s.get(t, "/admin/overview", bearer(user.Token)...); st != http.StatusForbidden {
			t.Fatalf("non-admin: %d", st)
		}
	})
}

// GET /admin/keys/timeline follows each key through rotation and
// revocation: the retired key stays published until its tokens have
// expired (retirement + token TTL + leeway), the revoked key leaves the
// JWKS at once; with rotation off there is no next rotation.
func TestAdminKeyTimeline(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := startServer(t, adminEnv(dbURL, map[string]string{"SIGIL_ACCESS_TOKEN_TTL": "10m"}))
		admin := s.adminToken(t)
		get := func() timelineAns {
			t.Helper()
			st, _, b := s.get(t, "/admin/keys/timeline", bearer(admin)...)
			if st != http.StatusOK {
				t.Fatalf("timeline: %d %s", st, b)
			}
			var tl timelineAns
			decode(t, b, &tl)
			return tl
		}
		tl := get()
		if len(tl.Keys) != 1 || tl.Keys[0].Status != "active" || !tl.Keys[0].Published || tl.NextRotation != nil {
			t.Fatalf("first timeline %+v", tl)
		}
		first := tl.Keys[0].KID
		if st, _, b := s.postJSON(t, "/admin/keys/rotate", map[string]string{"alg": "ES256"}, bearer(admin)...); st != http.StatusCreated {
			t.Fatalf("rotate: %d %s", st, b)
		}
		admin = s.adminToken(t)
		tl = get()
		if len(tl.Keys) != 2 || tl.Keys[0].Alg != "ES256" || tl.Keys[0].Status != "active" || tl.Keys[1].KID != first {
			t.Fatalf("after rotation %+v", tl)
		}
		old := tl.Keys[1]
		if old.Status != "retired" || !old.Published || old.RetiredAt == nil || old.LeavesAt == nil ||
			!old.LeavesAt.Equal(old.RetiredAt.Add(11*time.Minute)) {
			t.Fatalf("retired key %+v", old)
		}
		if st, _, b := s.postJSON(t, "/admin/keys/"+first+"/revoke", nil, bearer(admin)...); st != http.StatusOK {
			t.Fatalf("revoke: %d %s", st, b)
		}
		tl = get()
		if r := tl.Keys[1]; r.Status != "revoked" || r.Published || r.RevokedAt == nil {
			t.Fatalf("revoked key %+v", r)
		}
	})
}
