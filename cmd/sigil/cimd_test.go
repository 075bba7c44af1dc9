package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sigil-auth/sigil/store/storetest"
)

// documentServer serves client ID metadata documents on 127.0.0.1 and
// counts the fetches of each.
type documentServer struct {
	srv     *httptest.Server
	fetches map[string]*atomic.Int32
}

func newDocumentServer(t *testing.T, redirect string) *documentServer {
	t.Helper()
	d := &documentServer{fetches: map[string]*atomic.Int32{}}
	mux := http.NewServeMux()
	d.srv = httptest.NewServer(mux)
	t.Cleanup(d.srv.Close)
	serve := func(path string, doc func(id string) any, hdr map[string]string) {
		n := &atomic.Int32{}
		d.fetches[path] = n
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			n.Add(1)
			w.Header().Set("Content-Type", "application/json")
			for k, v := range hdr {
				w.Header().Set(k, v)
			}
			if loc := hdr["Location"]; loc != "" {
				w.WriteHeader(http.StatusFound)
				return
			}
			_ = json.NewEncoder(w).Encode(doc(d.srv.URL + path))
		})
	}
	good := func(id string) any {
		return map[string]any{"client_id": id, "client_name": "Agent One", "redirect_uris": []string{redirect},
			"grant_types": []string{"authorization_code", "refresh_token"}, "token_endpoint_auth_method": "none", "scope": "notes.read"}
	}
	serve("/agent.json", good, map[string]string{"Cache-Control": "max-age=600"})
	serve("/other-id.json", func(string) any { return good(d.srv.URL + "/agent.json") }, nil)
	serve("/secret.json", func(id string) any {
		m := good(id).(map[string]any)
		m["token_endpoint_auth_method"] = "client_secret_basic"
		return m
	}, nil)
	serve("/admin.json", func(id string) any {
		m := good(id).(map[string]any)
		m["scope"] = "notes.read sigil:admin"
		return m
	}, nil)
	serve("/big.json", func(id string) any {
		m := good(id).(map[string]any)
		m["client_name"] = strings.Repeat("x", 6<<10)
		return m
	}, nil)
	serve("/moved.json", good, map[string]string{"Location": "/agent.json"})
	return d
}

func (d *documentServer) id(path string) string { return d.srv.URL + path }

// With SIGIL_CIMD on, a client whose client_id is the URL of its metadata
// document signs a user in through the code flow with PKCE as a public,
// third-party client: the consent page names the document's host every
// time, the document is fetched once while its max-age lasts, and
// documents that lie about their client_id, ask for a secret or for
// sigil:admin, are too large or redirect are refused as unknown clients;
// on both stores (the client is never stored, its refresh tokens are).
func TestClientIDMetadataDocuments(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		testClientIDMetadataDocuments(t, dbURL)
	})
}

func testClientIDMetadataDocuments(t *testing.T, dbURL string) {
	const redirect = "http://127.0.0.1:9/callback"
	docs := newDocumentServer(t, redirect)
	f := newOIDCFixture(t, dbURL, map[string]string{"SIGIL_CIMD": "on", "SIGIL_TEST_CIMD_LOOPBACK": "1"})

	st, _, body := f.s.get(t, "/.well-known/oauth-authorization-server")
	var meta map[string]any
	decode(t, body, &meta)
	if st != http.StatusOK || meta["client_id_metadata_document_supported"] != true {
		t.Fatalf("metadata: %d %s", st, body)
	}

	clientID := docs.id("/agent.json")
	b := newBrowserless(t, f.iss)
	authorize := func() page {
		_, challenge := pkce()
		return b.get(f.authorizeURL(clientID, url.Values{"scope": {"notes.read"}, "nonce": {""},
			"code_challenge": {challenge}, "code_challenge_method": {"S256"}}))
	}
	verifier, challenge := pkce()
	login := b.get(f.authorizeURL(clientID, url.Values{"scope": {"notes.read offline_access"}, "nonce": {""},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}}))
	consent := b.signIn(login, userEmail, userPassword)
	host := strings.TrimPrefix(docs.srv.URL, "http://")
	if consent.Status != http.StatusOK || !strings.Contains(consent.Body, "Allow Agent One?") || !strings.Contains(consent.Body, "document at "+host+":") {
		t.Fatalf("consent page: %d\n%.600s", consent.Status, consent.Body)
	}
	form := hidden(consent)
	form.Set("consent", "allow")
	p := b.post(f.iss+"/consent", form)
	code := p.Location().Query().Get("code")
	if code == "" {
		t.Fatalf("consent: %d %s", p.Status, p.Header.Get("Location"))
	}
	st, h, body := f.s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {redirect}, "code_verifier": {verifier}, "client_id": {clientID}})
	a := tokenOK(t, "exchange", st, h, body)
	if c := verifyAccessToken(t, f.s, a.AccessToken, clientID); c.ClientID != clientID || !strings.Contains(c.Scope, "notes.read") {
		t.Errorf("access token: %+v", c)
	}
	if a.RefreshToken == "" {
		t.Fatal("no refresh token")
	}
	st, h, body = f.s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {a.RefreshToken}, "client_id": {clientID}})
	tokenOK(t, "refresh", st, h, body)

	// Consent is never remembered for a document's client.
	if again := authorize(); again.Status != http.StatusOK || !strings.Contains(again.Body, "Allow Agent One?") {
		t.Errorf("second authorization: %d %s, want the consent page again", again.Status, again.Header.Get("Location"))
	}
	if n := docs.fetches["/agent.json"].Load(); n != 1 {
		t.Errorf("the document was fetched %d times, want once (max-age 600)", n)
	}

	for _, path := range []string{"/other-id.json", "/secret.json", "/admin.json", "/big.json", "/moved.json", "/missing.json"} {
		p := b.get(f.authorizeURL(docs.id(path), url.Values{"code_challenge": {challenge}, "code_challenge_method": {"S256"}}))
		if p.Status != http.StatusBadRequest || p.Header.Get("Location") != "" {
			t.Errorf("%s: %d %s, want 400 and no redirect", path, p.Status, p.Header.Get("Location"))
		}
	}
	if n := docs.fetches["/agent.json"].Load(); n != 1 {
		t.Errorf("a redirecting document was followed: the target was fetched %d times", n)
	}
}

// With SIGIL_CIMD off (the default), a URL client_id is an unknown client
// and nothing is fetched; the metadata does not claim support.
func TestClientIDMetadataDocumentsOff(t *testing.T) {
	docs := newDocumentServer(t, "http://127.0.0.1:9/callback")
	f := newOIDCFixture(t, storetest.SQLiteURL(t), map[string]string{"SIGIL_TEST_CIMD_LOOPBACK": "1"})
	_, _, body := f.s.get(t, "/.well-known/oauth-authorization-server")
	if strings.Contains(string(body), "client_id_metadata_document_supported") {
		t.Errorf("metadata claims documents while off: %s", body)
	}
	_, challenge := pkce()
	p := newBrowserless(t, f.iss).get(f.authorizeURL(docs.id("/agent.json"), url.Values{"code_challenge": {challenge}, "code_challenge_method": {"S256"}}))
	if p.Status != http.StatusBadRequest || docs.fetches["/agent.json"].Load() != 0 {
		t.Errorf("off: %d, %d fetches", p.Status, docs.fetches["/agent.json"].Load())
	}
}
