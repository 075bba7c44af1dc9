package main

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/store/storetest"
)

// Two Sigil processes on one Postgres, each keeping the clients it has
// authenticated in memory: a secret rotated on one stops working on the
// other as soon as the change notification arrives (and at once on the
// first), and so does a deleted client.
func TestClientChangesReachEveryInstance(t *testing.T) {
	bin := buildSigil(t)
	env := adminEnv(storetest.PostgresURL(t), nil)
	a := startSigilProc(t, "sigil-a", bin, env)
	b := startSigilProc(t, "sigil-b", bin, env)
	admin := a.adminToken(t)
	id, secret := a.createClient(t, admin, map[string]any{"name": "svc", "scopes": []string{"read"}, "audience": "api"})

	grant := url.Values{"grant_type": {"client_credentials"}}
	token := func(p *sigilProc, secret string) int {
		t.Helper()
		st, _, _ := p.postForm(t, "/oauth2/token", grant, basic(id, secret)...)
		return st
	}
	// refusedOn polls p until it refuses secret, for at most 10 s.
	refusedOn := func(p *sigilProc, secret, what string) time.Duration {
		t.Helper()
		start := time.Now()
		for time.Since(start) < 10*time.Second {
			switch st := token(p, secret); st {
			case http.StatusUnauthorized:
				return time.Since(start)
			case http.StatusOK:
			default:
				t.Fatalf("%s on %s: status %d", what, p.name, st)
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Fatalf("%s: %s still accepts it after 10s", what, p.name)
		return 0
	}
	for _, p := range []*sigilProc{a, b, b} {
		if st := token(p, secret); st != http.StatusOK {
			t.Fatalf("client_credentials on %s: %d", p.name, st)
		}
	}

	st, _, body := a.postJSON(t, "/admin/clients/"+id+"/secret", map[string]any{}, bearer(admin)...)
	if st != http.StatusOK {
		t.Fatalf("rotate secret: %d %s", st, body)
	}
	var rotated struct{ ClientSecret string }
	decode(t, body, &rotated)
	if st := token(a, secret); st != http.StatusUnauthorized {
		t.Fatalf("old secret on the instance that rotated it: %d", st)
	}
	t.Logf("old secret refused on the other instance after %s", refusedOn(b, secret, "old secret"))
	if st := token(b, rotated.ClientSecret); st != http.StatusOK {
		t.Fatalf("new secret on %s: %d", b.name, st)
	}

	st, _, body = do(t, http.MethodDelete, a.Base+"/admin/clients/"+id, "", "", bearer(admin)...)
	if st != http.StatusNoContent {
		t.Fatalf("delete client: %d %s", st, body)
	}
	if st := token(a, rotated.ClientSecret); st != http.StatusUnauthorized {
		t.Fatalf("deleted client on the instance that deleted it: %d", st)
	}
	t.Logf("deleted client refused on the other instance after %s", refusedOn(b, rotated.ClientSecret, "deleted client"))
}
