package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncbor"

	"github.com/sigil-auth/sigil/store/storetest"
)

// softKey is a software authenticator: an EC P-256 credential that
// answers WebAuthn ceremonies as a platform authenticator would, with
// attestation "none", so that the REST ceremonies run over HTTP without a
// browser.
type softKey struct {
	t      *testing.T
	priv   *ecdsa.PrivateKey
	id     []byte
	origin string
	rpID   string
	user   []byte // the user handle it stores (a discoverable credential)
	count  uint32
	uv     bool
}

func newSoftKey(t *testing.T, origin, rpID string) *softKey {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 16)
	rand.Read(id)
	return &softKey{t: t, priv: priv, id: id, origin: origin, rpID: rpID, uv: true}
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func (k *softKey) credentialID() string { return b64(k.id) }

func (k *softKey) clientData(typ, challenge string) []byte {
	b, _ := json.Marshal(protocol.CollectedClientData{Type: protocol.CeremonyType(typ), Challenge: challenge, Origin: k.origin})
	return b
}

func (k *softKey) flags(extra byte) byte {
	f := byte(protocol.FlagUserPresent) | extra
	if k.uv {
		f |= byte(protocol.FlagUserVerified)
	}
	return f
}

// create answers navigator.credentials.create with the options of a
// registration ceremony.
func (k *softKey) create(opts protocol.PublicKeyCredentialCreationOptions) json.RawMessage {
	k.t.Helper()
	if opts.RelyingParty.ID != k.rpID {
		k.t.Fatalf("registration for RP %q, want %q", opts.RelyingParty.ID, k.rpID)
	}
	switch id := opts.User.ID.(type) {
	case string:
		raw, err := base64.RawURLEncoding.DecodeString(id)
		if err != nil {
			k.t.Fatalf("user id %q: %v", id, err)
		}
		k.user = raw
	default:
		k.t.Fatalf("user id %T", opts.User.ID)
	}
	// The uncompressed point is 0x04 || X || Y.
	point, err := k.priv.PublicKey.Bytes()
	if err != nil {
		k.t.Fatal(err)
	}
	cose, err := webauthncbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: point[1:33], -3: point[33:65]})
	if err != nil {
		k.t.Fatal(err)
	}
	rp := sha256.Sum256([]byte(k.rpID))
	auth := append(rp[:], k.flags(byte(protocol.FlagAttestedCredentialData)))
	auth = binary.BigEndian.AppendUint32(auth, k.count)
	auth = append(auth, make([]byte, 16)...) // AAGUID: none
	auth = binary.BigEndian.AppendUint16(auth, uint16(len(k.id)))
	auth = append(auth, k.id...)
	auth = append(auth, cose...)
	att, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": auth})
	if err != nil {
		k.t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{"id": b64(k.id), "rawId": b64(k.id), "type": "public-key",
		"response": map[string]any{"clientDataJSON": b64(k.clientData("webauthn.create", opts.Challenge.String())),
			"attestationObject": b64(att), "transports": []string{"internal"}},
		"clientExtensionResults": map[string]any{}})
	return b
}

// get answers navigator.credentials.get with the next signature counter.
func (k *softKey) get(challenge string) json.RawMessage {
	k.count++
	return k.getWithCount(challenge, k.count)
}

func (k *softKey) getWithCount(challenge string, count uint32) json.RawMessage {
	k.t.Helper()
	rp := sha256.Sum256([]byte(k.rpID))
	auth := append(rp[:], k.flags(0))
	auth = binary.BigEndian.AppendUint32(auth, count)
	cd := k.clientData("webauthn.get", challenge)
	h := sha256.Sum256(cd)
	digest := sha256.Sum256(append(slices.Clone(auth), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, k.priv, digest[:])
	if err != nil {
		k.t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{"id": b64(k.id), "rawId": b64(k.id), "type": "public-key",
		"response": map[string]any{"clientDataJSON": b64(cd), "authenticatorData": b64(auth), "signature": b64(sig),
			"userHandle": b64(k.user)},
		"clientExtensionResults": map[string]any{}})
	return b
}

type creationAnswer struct {
	CeremonyID string                                      `json:"ceremonyId"`
	PublicKey  protocol.PublicKeyCredentialCreationOptions `json:"publicKey"`
}

type assertionAnswer struct {
	CeremonyID string                                     `json:"ceremonyId"`
	PublicKey  protocol.PublicKeyCredentialRequestOptions `json:"publicKey"`
}

// registerSoftKey registers k for the user of tok, with the user's
// password, over REST and returns the stored credential's JSON.
func registerSoftKey(t *testing.T, s *server, tok, password string, k *softKey, name string) map[string]any {
	t.Helper()
	st, _, b := s.postJSON(t, "/auth/mfa/webauthn/register/begin", passwordBody(password), bearer(tok)...)
	if st != http.StatusOK {
		t.Fatalf("register begin: %d %s", st, b)
	}
	var c creationAnswer
	decode(t, b, &c)
	if c.CeremonyID == "" || len(c.PublicKey.Challenge) < 16 {
		t.Fatalf("register begin: %s", b)
	}
	st, _, b = s.postJSON(t, "/auth/mfa/webauthn/register/finish", map[string]any{"ceremonyId": c.CeremonyID, "name": name,
		"credential": k.create(c.PublicKey)}, bearer(tok)...)
	if st != http.StatusCreated {
		t.Fatalf("register finish: %d %s", st, b)
	}
	var out map[string]any
	decode(t, b, &out)
	return out
}

// beginAssertion starts a WebAuthn sign-in (second factor with mfaToken,
// passkey without).
func beginAssertion(t *testing.T, s *server, mfaToken string) assertionAnswer {
	t.Helper()
	body := map[string]any{}
	if mfaToken != "" {
		body["mfaToken"] = mfaToken
	}
	st, _, b := s.postJSON(t, "/auth/login/webauthn/begin", body)
	if st != http.StatusOK {
		t.Fatalf("login begin: %d %s", st, b)
	}
	var a assertionAnswer
	decode(t, b, &a)
	if a.CeremonyID == "" {
		t.Fatalf("login begin: %s", b)
	}
	return a
}

// finishAssertion posts the answer and returns the status, the problem
// type and the tokens.
func finishAssertion(t *testing.T, s *server, ceremony, mfaToken string, cred json.RawMessage) (int, string, loginResult) {
	t.Helper()
	body := map[string]any{"ceremonyId": ceremony, "credential": cred}
	if mfaToken != "" {
		body["mfaToken"] = mfaToken
	}
	st, _, b := s.postJSON(t, "/auth/login/webauthn/finish", body)
	var r loginResult
	var p problem
	if st == http.StatusOK {
		decode(t, b, &r)
	} else {
		decode(t, b, &p)
	}
	return st, p.Type, r
}

// Passkeys over the REST API with a software authenticator, on both
// stores: registration (list, rename), the second factor after the
// password, a passkey alone as first factor, a ceremony used twice, an
// expired ceremony, an authenticator that never registered, a wrong
// origin, no user verification on a passkey sign-in, a cloned
// authenticator (refused and audited), removal.
func TestWebAuthnCeremoniesOverHTTP(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		clock := newTestClock()
		env := browserEnv(t, dbURL, nil)
		s := startServerClock(t, env, clock.Now)
		iss := env["SIGIL_ISSUER"]
		user := s.signupLogin(t, "kim@example.com", "a long enough password")
		key := newSoftKey(t, iss, "localhost")

		cred := registerSoftKey(t, s, user.Token, "a long enough password", key, "Laptop")
		if cred["id"] != key.credentialID() || cred["name"] != "Laptop" {
			t.Fatalf("registered %v", cred)
		}
		// The same authenticator cannot register twice: its id is excluded.
		st, _, b := s.postJSON(t, "/auth/mfa/webauthn/register/begin", passwordBody("a long enough password"), bearer(user.Token)...)
		var again creationAnswer
		decode(t, b, &again)
		if st != http.StatusOK || len(again.PublicKey.CredentialExcludeList) != 1 {
			t.Fatalf("second begin: %d %s", st, b)
		}
		// A ceremony begun by another user is not this user's.
		other := s.signupLogin(t, "lee@example.com", "a long enough password")
		st, _, b = s.postJSON(t, "/auth/mfa/webauthn/register/finish", map[string]any{"ceremonyId": again.CeremonyID,
			"credential": newSoftKey(t, iss, "localhost").create(again.PublicKey)}, bearer(other.Token)...)
		if st != http.StatusBadRequest || !strings.Contains(string(b), "invalid-ceremony") {
			t.Fatalf("another user's ceremony: %d %s", st, b)
		}

		st, _, b = doJSON(t, s, "PATCH", "/auth/mfa/webauthn/credentials/"+key.credentialID(), `{"name":"Work laptop"}`, user.Token)
		if st != http.StatusOK || !strings.Contains(string(b), `"name":"Work laptop"`) {
			t.Fatalf("rename: %d %s", st, b)
		}
		st, _, _ = doJSON(t, s, "PATCH", "/auth/mfa/webauthn/credentials/"+key.credentialID(), `{"name":"Work laptop"}`, other.Token)
		if st != http.StatusNotFound {
			t.Errorf("rename by another user: %d", st)
		}
		_, _, b = s.get(t, "/auth/mfa/webauthn/credentials", bearer(user.Token)...)
		var list struct {
			Credentials []struct {
				ID, Name   string
				Transports []string
			}
		}
		decode(t, b, &list)
		if len(list.Credentials) != 1 || list.Credentials[0].Name != "Work laptop" || !slices.Equal(list.Credentials[0].Transports, []string{"internal"}) {
			t.Fatalf("list %s", b)
		}

		// Second factor after the password.
		mfa := loginNeedsMFA(t, s, "kim@example.com", "a long enough password", "urn:sigil:problem:mfa-required")
		if !slices.Contains(mfa.Methods, "webauthn") || slices.Contains(mfa.Methods, "totp") {
			t.Fatalf("methods %v", mfa.Methods)
		}
		a := beginAssertion(t, s, mfa.MFAToken)
		if len(a.PublicKey.AllowedCredentials) != 1 || b64(a.PublicKey.AllowedCredentials[0].CredentialID) != key.credentialID() {
			t.Fatalf("allowCredentials %+v", a.PublicKey.AllowedCredentials)
		}
		answer := key.get(a.PublicKey.Challenge.String())
		st, typ, tokens := finishAssertion(t, s, a.CeremonyID, mfa.MFAToken, answer)
		if st != http.StatusOK {
			t.Fatalf("second factor: %d %s", st, typ)
		}
		if amr := verifyAccessToken(t, s, tokens.Token, "sigil").AMR; !slices.Equal(amr, []string{"pwd", "hwk", "mfa"}) {
			t.Errorf("amr %v", amr)
		}
		// The ceremony and the mfaToken are spent.
		if st, typ, _ := finishAssertion(t, s, a.CeremonyID, mfa.MFAToken, answer); st != http.StatusUnauthorized && st != http.StatusBadRequest {
			t.Errorf("replayed answer: %d %s", st, typ)
		}

		// A passkey alone: discoverable, user verification required.
		a = beginAssertion(t, s, "")
		if a.PublicKey.UserVerification != protocol.VerificationRequired || len(a.PublicKey.AllowedCredentials) != 0 {
			t.Fatalf("passkey options %+v", a.PublicKey)
		}
		st, typ, tokens = finishAssertion(t, s, a.CeremonyID, "", key.get(a.PublicKey.Challenge.String()))
		if st != http.StatusOK {
			t.Fatalf("passkey sign-in: %d %s", st, typ)
		}
		if amr := verifyAccessToken(t, s, tokens.Token, "sigil").AMR; !slices.Equal(amr, []string{"hwk", "user", "mfa"}) {
			t.Errorf("passkey amr %v", amr)
		}
		// The same ceremony a second time.
		if st, typ, _ := finishAssertion(t, s, a.CeremonyID, "", key.get(a.PublicKey.Challenge.String())); st != http.StatusBadRequest || typ != "urn:sigil:problem:invalid-ceremony" {
			t.Errorf("ceremony used twice: %d %s", st, typ)
		}
		// An expired ceremony.
		a = beginAssertion(t, s, "")
		clock.Add(6 * time.Minute)
		if st, typ, _ := finishAssertion(t, s, a.CeremonyID, "", key.get(a.PublicKey.Challenge.String())); st != http.StatusBadRequest || typ != "urn:sigil:problem:invalid-ceremony" {
			t.Errorf("expired ceremony: %d %s", st, typ)
		}
		// An authenticator that never registered, even with the user's handle.
		stranger := newSoftKey(t, iss, "localhost")
		stranger.user = key.user
		a = beginAssertion(t, s, "")
		if st, typ, _ := finishAssertion(t, s, a.CeremonyID, "", stranger.get(a.PublicKey.Challenge.String())); st != http.StatusUnauthorized || typ != "urn:sigil:problem:webauthn-rejected" {
			t.Errorf("unregistered authenticator: %d %s", st, typ)
		}
		// Another origin (a phishing site relaying the challenge).
		phish := *key
		phish.origin = "http://localhost.evil.example"
		a = beginAssertion(t, s, "")
		if st, typ, _ := finishAssertion(t, s, a.CeremonyID, "", phish.get(a.PublicKey.Challenge.String())); st != http.StatusUnauthorized || typ != "urn:sigil:problem:webauthn-rejected" {
			t.Errorf("wrong origin: %d %s", st, typ)
		}
		key.count = phish.count
		// No user verification: not enough for a passkey alone.
		key.uv = false
		a = beginAssertion(t, s, "")
		if st, typ, _ := finishAssertion(t, s, a.CeremonyID, "", key.get(a.PublicKey.Challenge.String())); st != http.StatusUnauthorized || typ != "urn:sigil:problem:webauthn-rejected" {
			t.Errorf("passkey without user verification: %d %s", st, typ)
		}
		key.uv = true
		// A clone: a copy of the key whose counter lags behind.
		a = beginAssertion(t, s, "")
		if st, typ, _ := finishAssertion(t, s, a.CeremonyID, "", key.getWithCount(a.PublicKey.Challenge.String(), 1)); st != http.StatusUnauthorized || typ != "urn:sigil:problem:cloned-authenticator" {
			t.Errorf("cloned authenticator: %d %s", st, typ)
		}
		if n := countRowsWhere(t, dbURL, "audit_events", "type = 'mfa.webauthn.clone' AND detail LIKE '%"+key.credentialID()+"%'"); n != 1 {
			t.Errorf("clone audit events: %d", n)
		}
		if n := countRowsWhere(t, dbURL, "audit_events", "type = 'mfa.failure' AND user_id = '"+user.UserID+"'"); n < 2 {
			t.Errorf("failure audit events: %d", n)
		}
		// The real key, its counter ahead, still works.
		a = beginAssertion(t, s, "")
		if st, typ, _ := finishAssertion(t, s, a.CeremonyID, "", key.get(a.PublicKey.Challenge.String())); st != http.StatusOK {
			t.Errorf("after the clone: %d %s", st, typ)
		}
		// Nothing secret is stored: the public key only.
		if n := countRowsWhere(t, dbURL, "webauthn_credentials", "credential_id = '"+key.credentialID()+"' AND sign_count = "+strconv.Itoa(int(key.count))); n != 1 {
			t.Errorf("stored sign counter is not %d", key.count)
		}

		// Removal needs the user's password: the access token alone (a
		// stolen session) cannot take the factor off. Then the password
		// alone signs in again.
		path := "/auth/mfa/webauthn/credentials/" + key.credentialID()
		st, _, _ = doJSON(t, s, "DELETE", path, `{"password":"a long enough password"}`, other.Token)
		if st != http.StatusNotFound {
			t.Errorf("removal by another user: %d", st)
		}
		for _, body := range []string{"", `{}`, `{"password":"not the password"}`} {
			st, _, b := doJSON(t, s, "DELETE", path, body, user.Token)
			if st < 400 || st >= 500 {
				t.Fatalf("removal with body %q: %d %s, want it refused", body, st, b)
			}
		}
		if st, _, b := doJSON(t, s, "DELETE", path, `{"password":"not the password"}`, user.Token); st != http.StatusUnauthorized || !strings.Contains(string(b), "urn:sigil:problem:invalid-credentials") {
			t.Errorf("removal with a wrong password: %d %s", st, b)
		}
		if n := countRowsWhere(t, dbURL, "webauthn_credentials", "credential_id = '"+key.credentialID()+"'"); n != 1 {
			t.Fatalf("a refused removal removed the passkey")
		}
		st, _, b = doJSON(t, s, "DELETE", path, `{"password":"a long enough password"}`, user.Token)
		if st != http.StatusNoContent {
			t.Fatalf("remove: %d %s", st, b)
		}
		loginNeedsNothing(t, s, "kim@example.com", "a long enough password")
		a = beginAssertion(t, s, "")
		if st, typ, _ := finishAssertion(t, s, a.CeremonyID, "", key.get(a.PublicKey.Challenge.String())); st != http.StatusUnauthorized {
			t.Errorf("removed passkey: %d %s", st, typ)
		}
	})
}
