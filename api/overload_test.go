package api

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/keys"
)

func postLogin(t *testing.T, base, email string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Post(base+"/auth/login", "application/json",
		strings.NewReader(`{"email":"`+email+`","password":"correct horse battery"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// When the only hashing slot is held by a login, a second login over HTTP
// gets 503 problem+json with Retry-After at once, and logins succeed again
// once the slot is free.
func TestLoginOverloadAnswers503WithRetryAfter(t *testing.T) {
	st := newMemStore()
	srv, _ := newTestServer(t, st, keys.EdDSA, func(c *authority.Config) { c.MaxConcurrentHashes, c.MaxHashQueue = 1, -1 })
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()

	resp, err := http.Post(ts.URL+"/auth/signup", "application/json",
		strings.NewReader(`{"email":"ada@example.com","password":"correct horse battery","name":"Ada"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("signup: %d", resp.StatusCode)
	}

	entered, release := st.holdLookups()
	defer release()
	first := make(chan int, 1)
	go func() {
		resp, err := http.Post(ts.URL+"/auth/login", "application/json",
			strings.NewReader(`{"email":"ada@example.com","password":"correct horse battery"}`))
		if err != nil {
			first <- 0
			return
		}
		resp.Body.Close()
		first <- resp.StatusCode
	}()
	<-entered

	for _, email := range []string{"ada@example.com", "nobody@example.com"} {
		resp, body := postLogin(t, ts.URL, email)
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("login %s while busy: %d %s", email, resp.StatusCode, body)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("Content-Type %q", ct)
		}
		if ra := resp.Header.Get("Retry-After"); ra != "1" {
			t.Errorf("Retry-After %q, want 1", ra)
		}
		var p Problem
		if err := json.Unmarshal(body, &p); err != nil || p.Type != problemBase+"overloaded" || p.Status != 503 {
			t.Errorf("problem %s (%v)", body, err)
		}
	}

	release()
	if st := <-first; st != http.StatusOK {
		t.Fatalf("admitted login: %d", st)
	}
	if resp, body := postLogin(t, ts.URL, "ada@example.com"); resp.StatusCode != http.StatusOK {
		t.Fatalf("login after release: %d %s", resp.StatusCode, body)
	}
}
