package main

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/mfa"
	"github.com/sigil-auth/sigil/store/storetest"
)

// testClock is a clock the test moves by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock {
	// A step boundary, so that "now" and "now + 30s" are adjacent steps.
	return &testClock{t: time.Unix(1_800_000_000-1_800_000_000%30, 0)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// mfaAnswer is a 403 problem of a login that needs a second factor.
type mfaAnswer struct {
	Type     string   `json:"type"`
	Status   int      `json:"status"`
	MFAToken string   `json:"mfaToken"`
	Methods  []string `json:"methods"`
}

// loginNeedsMFA logs in with the right password and expects a 403 of
// problem type typ.
func loginNeedsMFA(t *testing.T, s *server, email, password, typ string) mfaAnswer {
	t.Helper()
	st, h, b := s.postJSON(t, "/auth/login", map[string]string{"email": email, "password": password})
	var a mfaAnswer
	decode(t, b, &a)
	if st != http.StatusForbidden || a.Type != typ || a.MFAToken == "" || !strings.HasPrefix(h.Get("Content-Type"), "application/problem+json") {
		t.Fatalf("login of %s: %d %s, want 403 %s with an mfaToken", email, st, b, typ)
	}
	return a
}

// loginMFA posts the second step and returns the status, the problem type
// (on failure) and the tokens (on success).
func loginMFA(t *testing.T, s *server, mfaToken, code string) (int, string, loginResult) {
	t.Helper()
	st, _, b := s.postJSON(t, "/auth/login/mfa", map[string]string{"mfaToken": mfaToken, "code": code})
	var r loginResult
	var p problem
	if st == http.StatusOK {
		decode(t, b, &r)
	} else {
		decode(t, b, &p)
	}
	return st, p.Type, r
}

func totpCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := mfa.TOTPCode(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type enrolment struct {
	Secret     string `json:"secret"`
	OTPAuthURI string `json:"otpauthUri"`
}

// enrolTOTP enrols a TOTP authenticator with auth as Bearer token and the
// user's password (none with an enrolment token) and returns its secret
// and the recovery codes.
func enrolTOTP(t *testing.T, s *server, auth, password string, clock *testClock) (string, []string) {
	t.Helper()
	st, _, b := s.postJSON(t, "/auth/mfa/totp", passwordBody(password), bearer(auth)...)
	if st != http.StatusOK {
		t.Fatalf("enrol: %d %s", st, b)
	}
	var e enrolment
	decode(t, b, &e)
	if e.Secret == "" || !strings.HasPrefix(e.OTPAuthURI, "otpauth://totp/") || !strings.Contains(e.OTPAuthURI, "secret="+e.Secret) {
		t.Fatalf("enrolment %s", b)
	}
	st, _, b = s.postJSON(t, "/auth/mfa/totp/confirm", map[string]string{"code": totpCode(t, e.Secret, clock.Now())}, bearer(auth)...)
	if st != http.StatusOK {
		t.Fatalf("confirm: %d %s", st, b)
	}
	var rc struct {
		RecoveryCodes []string `json:"recoveryCodes"`
	}
	decode(t, b, &rc)
	if len(rc.RecoveryCodes) != 10 || len(slices.Compact(slices.Sorted(slices.Values(rc.RecoveryCodes)))) != 10 {
		t.Fatalf("recovery codes %v, want 10 distinct", rc.RecoveryCodes)
	}
	return e.Secret, rc.RecoveryCodes
}

// TOTP over the REST API: enrol, the mfa-required login, wrong, replayed
// and recovery codes, mfaToken expiry and exhaustion, the per-account
// throttle, removal and an administrator's reset, on both stores.
func TestTOTPLoginOverHTTP(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		clock := newTestClock()
		s := startServerClock(t, adminEnv(dbURL, nil), clock.Now)
		const email, pw = "otp@example.com", "correct horse battery"
		user := s.signupLogin(t, email, pw)

		// A wrong first code leaves the enrolment pending.
		st, _, b := s.postJSON(t, "/auth/mfa/totp", passwordBody(pw), bearer(user.Token)...)
		if st != http.StatusOK {
			t.Fatalf("enrol: %d %s", st, b)
		}
		var e enrolment
		decode(t, b, &e)
		st, _, b = s.postJSON(t, "/auth/mfa/totp/confirm", map[string]string{"code": "000000"}, bearer(user.Token)...)
		if st != http.StatusUnprocessableEntity {
			t.Fatalf("confirm with a wrong code: %d %s", st, b)
		}
		loginNeedsNothing(t, s, email, pw)
		secret, recovery := enrolTOTP(t, s, user.Token, pw, clock)
		if n := countRowsWhere(t, dbURL, "mfa_totp", "sealed_secret LIKE '%"+secret+"%'"); n != 0 {
			t.Fatal("the TOTP secret is stored in clear")
		}
		if n := countRowsWhere(t, dbURL, "mfa_recovery_codes", "code_hash LIKE '%"+strings.ReplaceAll(recovery[0], "-", "")+"%'"); n != 0 {
			t.Fatal("a recovery code is stored in clear")
		}
		if st, _, _ := s.postJSON(t, "/auth/mfa/totp", passwordBody(pw), bearer(user.Token)...); st != http.StatusConflict {
			t.Fatalf("a second enrolment: %d, want 409", st)
		}

		a := loginNeedsMFA(t, s, email, pw, "urn:sigil:problem:mfa-required")
		if !slices.Contains(a.Methods, "totp") || !slices.Contains(a.Methods, "recovery_code") {
			t.Fatalf("methods %v", a.Methods)
		}
		// The code that confirmed the enrolment is spent.
		if st, typ, _ := loginMFA(t, s, a.MFAToken, totpCode(t, secret, clock.Now())); st != 401 || typ != "urn:sigil:problem:invalid-code" {
			t.Fatalf("replayed confirmation code: %d %s", st, typ)
		}
		clock.Add(30 * time.Second)
		code := totpCode(t, secret, clock.Now())
		st, _, toks := loginMFA(t, s, a.MFAToken, code)
		if st != 200 || toks.Token == "" || toks.RefreshToken == "" {
			t.Fatalf("right code: %d", st)
		}
		if c := verifyAccessToken(t, s, toks.Token, "sigil"); !slices.Equal(c.AMR, []string{"pwd", "otp", "mfa"}) {
			t.Fatalf("amr %v", c.AMR)
		}
		if st, typ, _ := loginMFA(t, s, a.MFAToken, totpCode(t, secret, clock.Now().Add(30*time.Second))); st != 401 || typ != "urn:sigil:problem:invalid-mfa-token" {
			t.Fatalf("spent mfaToken: %d %s", st, typ)
		}
		// The same code on a new login is a replay, within its window.
		a = loginNeedsMFA(t, s, email, pw, "urn:sigil:problem:mfa-required")
		if st, typ, _ := loginMFA(t, s, a.MFAToken, code); st != 401 || typ != "urn:sigil:problem:invalid-code" {
			t.Fatalf("replayed code: %d %s", st, typ)
		}
		// A recovery code works once, typed in any case and spacing.
		if st, _, _ := loginMFA(t, s, a.MFAToken, strings.ToLower(strings.ReplaceAll(recovery[3], "-", " "))); st != 200 {
			t.Fatalf("recovery code: %d", st)
		}
		a = loginNeedsMFA(t, s, email, pw, "urn:sigil:problem:mfa-required")
		if st, typ, _ := loginMFA(t, s, a.MFAToken, recovery[3]); st != 401 || typ != "urn:sigil:problem:invalid-code" {
			t.Fatalf("recovery code used twice: %d %s", st, typ)
		}
		// An mfaToken lives five minutes.
		clock.Add(5*time.Minute + time.Second)
		if st, typ, _ := loginMFA(t, s, a.MFAToken, totpCode(t, secret, clock.Now())); st != 401 || typ != "urn:sigil:problem:invalid-mfa-token" {
			t.Fatalf("expired mfaToken: %d %s", st, typ)
		}
		// It survives four wrong codes; the fifth ends it, and the fifth
		// wrong code in a row locks the account's second factor for a
		// minute (SIGIL_LOCKOUT_THRESHOLD=5).
		// (A right code first clears the failures counted so far.)
		clock.Add(30 * time.Second)
		a = loginNeedsMFA(t, s, email, pw, "urn:sigil:problem:mfa-required")
		if st, _, _ := loginMFA(t, s, a.MFAToken, totpCode(t, secret, clock.Now())); st != 200 {
			t.Fatalf("right code: %d", st)
		}
		clock.Add(30 * time.Second)
		a = loginNeedsMFA(t, s, email, pw, "urn:sigil:problem:mfa-required")
		for i := range 5 {
			if st, typ, _ := loginMFA(t, s, a.MFAToken, "123456"); st != 401 || typ != "urn:sigil:problem:invalid-code" {
				t.Fatalf("wrong code %d: %d %s", i+1, st, typ)
			}
		}
		if st, typ, _ := loginMFA(t, s, a.MFAToken, totpCode(t, secret, clock.Now())); st != 401 || typ != "urn:sigil:problem:invalid-mfa-token" {
			t.Fatalf("right code after five wrong ones: %d %s", st, typ)
		}
		a = loginNeedsMFA(t, s, email, pw, "urn:sigil:problem:mfa-required")
		if st, typ, _ := loginMFA(t, s, a.MFAToken, totpCode(t, secret, clock.Now())); st != 429 || typ != "urn:sigil:problem:throttled" {
			t.Fatalf("right code while locked: %d %s", st, typ)
		}
		clock.Add(61 * time.Second)
		st, _, toks = loginMFA(t, s, a.MFAToken, totpCode(t, secret, clock.Now()))
		if st != 200 {
			t.Fatalf("right code after the lock: %d", st)
		}
		if n := countRowsWhere(t, dbURL, "audit_events", "type = 'mfa.failure' AND user_id = '"+user.UserID+"'"); n != 9 {
			t.Fatalf("%d mfa.failure events, want 9 (a wrong confirmation, three reused codes, five wrong codes)", n)
		}

		// Regenerating recovery codes needs a code and voids the old ones.
		clock.Add(30 * time.Second)
		st, _, b = s.postJSON(t, "/auth/mfa/recovery-codes", map[string]string{"code": totpCode(t, secret, clock.Now())}, bearer(toks.Token)...)
		if st != 200 {
			t.Fatalf("regenerate: %d %s", st, b)
		}
		a = loginNeedsMFA(t, s, email, pw, "urn:sigil:problem:mfa-required")
		if st, _, _ := loginMFA(t, s, a.MFAToken, recovery[5]); st != 401 {
			t.Fatalf("an old recovery code after regeneration: %d", st)
		}

		// Removal needs a current code; then the password alone logs in.
		clock.Add(30 * time.Second)
		if st, _, _ := doJSON(t, s, http.MethodDelete, "/auth/mfa/totp", `{"code":"000000"}`, toks.Token); st != 422 {
			t.Fatalf("remove with a wrong code: %d", st)
		}
		if st, _, b := doJSON(t, s, http.MethodDelete, "/auth/mfa/totp", `{"code":"`+totpCode(t, secret, clock.Now())+`"}`, toks.Token); st != 204 {
			t.Fatalf("remove: %d %s", st, b)
		}
		loginNeedsNothing(t, s, email, pw)

		// An administrator resets a user's factors.
		clock.Add(30 * time.Second)
		enrolTOTP(t, s, s.login(t, email, pw).Token, pw, clock)
		loginNeedsMFA(t, s, email, pw, "urn:sigil:problem:mfa-required")
		if st, _, _ := doJSON(t, s, http.MethodDelete, "/admin/users/"+user.UserID+"/mfa", "", toks.Token); st != 403 {
			t.Fatalf("reset by a non-admin: %d", st)
		}
		if st, _, b := doJSON(t, s, http.MethodDelete, "/admin/users/"+user.UserID+"/mfa", "", s.adminToken(t)); st != 204 {
			t.Fatalf("reset: %d %s", st, b)
		}
		loginNeedsNothing(t, s, email, pw)
		if n := countRowsWhere(t, dbURL, "audit_events", "type = 'mfa.reset' AND user_id = '"+user.UserID+"'"); n != 1 {
			t.Fatalf("%d mfa.reset events", n)
		}
	})
}

// With SIGIL_MFA_REQUIRED_ROLES=admin an administrator without a second
// factor gets no tokens, only an enrolment token; once enrolled, the login
// asks for the second factor. Other users are not affected.
func TestMFARequiredRolesForceEnrolment(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		clock := newTestClock()
		s := startServerClock(t, adminEnv(dbURL, map[string]string{"SIGIL_MFA_REQUIRED_ROLES": "admin"}), clock.Now)
		s.signupLogin(t, "plain@example.com", "plain password 1")

		a := loginNeedsMFA(t, s, adminEmail, adminPassword, "urn:sigil:problem:mfa-enrollment-required")
		// The enrolment token is no access token.
		if st, _, _ := s.get(t, "/auth/me", bearer(a.MFAToken)...); st != 401 {
			t.Fatalf("/auth/me with an enrolment token: %d", st)
		}
		// Right after the password, the enrolment token is proof enough.
		secret, _ := enrolTOTP(t, s, a.MFAToken, "", clock)
		a = loginNeedsMFA(t, s, adminEmail, adminPassword, "urn:sigil:problem:mfa-required")
		clock.Add(30 * time.Second)
		st, _, toks := loginMFA(t, s, a.MFAToken, totpCode(t, secret, clock.Now()))
		if st != 200 {
			t.Fatalf("second factor: %d", st)
		}
		if st, _, b := s.get(t, "/admin/clients", bearer(toks.Token)...); st != 200 {
			t.Fatalf("admin API with the MFA login's token: %d %s", st, b)
		}
	})
}

// loginNeedsNothing expects the password alone to log in.
func loginNeedsNothing(t *testing.T, s *server, email, password string) {
	t.Helper()
	if st, _, b := s.postJSON(t, "/auth/login", map[string]string{"email": email, "password": password}); st != 200 {
		t.Fatalf("login of %s: %d %s, want 200", email, st, b)
	}
}

// passwordBody is the body {"password"} of a request that adds a second
// factor, {} for none.
func passwordBody(password string) map[string]string {
	if password == "" {
		return map[string]string{}
	}
	return map[string]string{"password": password}
}

func doJSON(t *testing.T, s *server, method, path, body, tok string) (int, http.Header, []byte) {
	t.Helper()
	ctype := ""
	if body != "" {
		ctype = "application/json"
	}
	return do(t, method, s.Base+path, ctype, body, bearer(tok)...)
}
