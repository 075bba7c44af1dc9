package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/store/storetest"
)

// Admin client management: authentication, validation, secrets shown
// once and never listed, delete 204 then 404.
func TestAdminClients(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := startServer(t, adminEnv(dbURL, nil))
		db := openDB(t, dbURL)
		admin := s.adminToken(t)
		user := s.signupLogin(t, "plain@example.com", "correct horse battery")

		body := map[string]any{"name": "Billing", "scopes": []string{"invoices:read", "invoices:write"}, "audience": "billing-api"}
		if st, h, _ := s.postJSON(t, "/admin/clients", body); st != 401 || h.Get("WWW-Authenticate") == "" {
			t.Fatalf("no token: %d", st)
		}
		if st, _, _ := s.postJSON(t, "/admin/clients", body, bearer(user.Token)...); st != 403 {
			t.Fatalf("non-admin: %d", st)
		}
		id, secret := s.createClient(t, admin, body)
		if stored, err := db.ClientByID(context.Background(), id); err != nil || stored.SecretHash != authority.HashToken(secret) || strings.Contains(stored.SecretHash, secret) {
			t.Fatalf("stored client %+v, %v: want only the secret's SHA-256", stored, err)
		}
		id2, _ := s.createClient(t, admin, map[string]any{"name": "Reports", "scopes": "reports:read", "audience": "reports", "tokenTtl": "5m"})
		_, _ = s.createClient(t, admin, map[string]any{"name": "Seconds", "audience": "x", "tokenTtl": 60})

		for _, c := range []struct {
			body  map[string]any
			field string
		}{
			{map[string]any{"scopes": []string{}, "audience": "a"}, "name"},
			{map[string]any{"name": "n", "scopes": []string{}, "audience": "a b"}, "audience"},
			{map[string]any{"name": "n", "audience": "a", "scopes": []string{"bad\"scope"}}, "scopes"},
			{map[string]any{"name": "n", "audience": "a", "scopes": 7}, "scopes"},
			{map[string]any{"name": "n", "audience": "a", "tokenTtl": "16m"}, "tokenTtl"},
			{map[string]any{"name": "n", "audience": "a", "tokenTtl": "soon"}, "tokenTtl"},
			{map[string]any{"name": "n", "audience": "a", "tokenTtl": 1.5}, "tokenTtl"},
			{map[string]any{"name": "n", "audience": "a", "secret": "mine"}, "secret"},
		} {
			st, _, b := s.postJSON(t, "/admin/clients", c.body, bearer(admin)...)
			var p struct{ Field string }
			decode(t, b, &p)
			if st != 422 || p.Field != c.field {
				t.Fatalf("%v: %d %s, want 422 on %s", c.body, st, b, c.field)
			}
		}

		st, h, b := s.get(t, "/admin/clients", bearer(admin)...)
		if st != 200 || h.Get("Cache-Control") != "no-store" {
			t.Fatalf("list: %d %s", st, b)
		}
		if strings.Contains(string(b), secret) || strings.Contains(string(b), authority.HashToken(secret)) || strings.Contains(strings.ToLower(string(b)), "secret") {
			t.Fatalf("the list shows a secret: %s", b)
		}
		var list struct {
			Clients []struct {
				ClientID, Name, Audience string
				Scopes                   []string
				TokenTTL                 int `json:"tokenTtl"`
				CreatedAt                time.Time
			}
		}
		decode(t, b, &list)
		ttls := map[string]int{}
		for _, c := range list.Clients {
			ttls[c.Name] = c.TokenTTL
			if c.Name == "Billing" && (c.ClientID != id || len(c.Scopes) != 2 || c.Audience != "billing-api" || c.CreatedAt.IsZero()) {
				t.Fatalf("billing client listed as %+v", c)
			}
			if c.Name == "Reports" && (c.ClientID != id2 || len(c.Scopes) != 1 || c.Scopes[0] != "reports:read") {
				t.Fatalf("reports client listed as %+v", c)
			}
		}
		// The three created and the built-in console client.
		if len(list.Clients) != 4 || ttls["Sigil admin console"] != 900 || ttls["Billing"] != 900 || ttls["Reports"] != 300 || ttls["Seconds"] != 60 {
			t.Fatalf("list = %s", b)
		}
		if st, _, _ := s.get(t, "/admin/clients", bearer(user.Token)...); st != 403 {
			t.Fatalf("non-admin list: %d", st)
		}

		if st, _, _ := do(t, http.MethodDelete, s.Base+"/admin/clients/"+id2, "", "", bearer(user.Token)...); st != 403 {
			t.Fatalf("non-admin delete: %d", st)
		}
		if st, _, b := do(t, http.MethodDelete, s.Base+"/admin/clients/"+id2, "", "", bearer(admin)...); st != 204 || len(b) != 0 {
			t.Fatalf("delete: %d %s", st, b)
		}
		if st, h, _ := do(t, http.MethodDelete, s.Base+"/admin/clients/"+id2, "", "", bearer(admin)...); st != 404 || !strings.HasPrefix(h.Get("Content-Type"), "application/problem+json") {
			t.Fatalf("second delete: %d", st)
		}
		if n, _ := db.CountRows(context.Background(), "clients"); n != 3 {
			t.Fatalf("%d clients stored, want 3 (two left and the built-in console)", n)
		}
		if countEvents(t, db, "client.created") != 3 || countEvents(t, db, "client.deleted") != 1 {
			t.Fatal("client changes not audited")
		}
		// The deleted client can no longer get tokens.
		st, h, b = s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, basic(id2, "whatever")...)
		wantOAuthError(t, "deleted client", st, h, b, 401, "invalid_client")
	})
}
