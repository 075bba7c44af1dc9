package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/store/storetest"
	"github.com/sigil-auth/sigil/upstream"
)

// TestSignInPageListsUpstreamsFromAShortLivedCopy: the sign-in page's
// buttons come from a copy of the upstreams at most upstream.ListedTTL
// old. A change through this instance shows at once; one written by
// another process (here the CLI) once the copy is that old.
func TestSignInPageListsUpstreamsFromAShortLivedCopy(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		clock := &testClock{t: time.Now()}
		fx := newFedFixtureClock(t, dbURL, "none", nil, clock.Now)
		buttons := func(what string, want map[string]bool) {
			t.Helper()
			st, _, body := fx.s.get(t, "/login")
			if st != http.StatusOK {
				t.Fatalf("%s: GET /login %d", what, st)
			}
			for id, shown := range want {
				if got := strings.Contains(string(body), `name="upstream" value="`+id+`"`); got != shown {
					t.Errorf("%s: button %q shown %v, want %v", what, id, got, shown)
				}
			}
		}
		buttons("created through the API", map[string]bool{"corp": true})

		out, _, err := runCLI(t, fx.s.config(), "", "upstreams", "create", "--id", "later", "--name", "Later SSO",
			"--issuer", fx.upIss, "--client-id", "later-client", "--client-secret", "later-secret")
		if err != nil {
			t.Fatalf("upstreams create: %v\n%s", err, out)
		}
		buttons("written by another process, copy still fresh", map[string]bool{"corp": true, "later": false})
		clock.Add(upstream.ListedTTL + time.Second)
		buttons("written by another process, copy expired", map[string]bool{"corp": true, "later": true})

		st, _, body := doJSON(t, fx.s, http.MethodDelete, "/admin/upstreams/later", "", fx.admin)
		if st != http.StatusNoContent {
			t.Fatalf("delete upstream: %d %s", st, body)
		}
		buttons("deleted through the API", map[string]bool{"corp": true, "later": false})
	})
}
