package main

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/keys/keystest"
	"github.com/sigil-auth/sigil/store/storetest"
)

type problem struct {
	Type, Title, Detail, Field string
	Status                     int
}

// loginAttempt posts a login and returns the status, Retry-After and the
// problem type (empty on success).
func loginAttempt(t *testing.T, s *server, email, password string, hdr ...string) (int, string, problem) {
	t.Helper()
	st, h, body := s.postJSON(t, "/auth/login", map[string]string{"email": email, "password": password}, hdr...)
	var p problem
	if st != http.StatusOK {
		if ct := h.Get("Content-Type"); ct != "application/problem+json" {
			t.Fatalf("login %s: %d with Content-Type %q, want problem+json: %s", email, st, ct, body)
		}
		decode(t, body, &p)
	}
	return st, h.Get("Retry-After"), p
}

// auditEvents reads the audit log of the test's database.
func auditEvents(t testing.TB, dbURL string, q authority.EventQuery) []authority.Event {
	t.Helper()
	if q.Limit == 0 {
		q.Limit = 500
	}
	ev, err := openDB(t, dbURL).ListEvents(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// After SIGIL_LOCKOUT_THRESHOLD failures in a row an email is refused with
// 429 and Retry-After, for a minute doubling per further failure up to 15
// minutes; success resets the count; unknown emails are throttled exactly
// like known ones. Time moves by the authority's clock.
func TestFailedLoginsLockTheEmailWithBackoff(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		clock := keystest.NewClock(time.Now())
		s := startServerClock(t, testEnv(dbURL, nil), clock.Now)
		s.signupLogin(t, "known@example.com", "right-password")

		for _, email := range []string{"known@example.com", "unknown@example.com"} {
			for i := 1; i <= 5; i++ {
				if st, _, p := loginAttempt(t, s, email, "wrong-password"); st != 401 || p.Type != "urn:sigil:problem:invalid-credentials" {
					t.Fatalf("%s failure %d: %d %+v, want 401", email, i, st, p)
				}
			}
		}
		// Both emails are now locked for a minute, with identical answers:
		// throttling does not tell which of them has an account.
		var answers []problem
		for _, email := range []string{"known@example.com", "unknown@example.com"} {
			st, ra, p := loginAttempt(t, s, email, "right-password")
			if st != 429 || ra != "60" || p.Status != 429 || p.Type != "urn:sigil:problem:throttled" {
				t.Fatalf("%s while locked: %d Retry-After %q %+v; want 429 with Retry-After 60", email, st, ra, p)
			}
			answers = append(answers, p)
		}
		if answers[0] != answers[1] {
			t.Fatalf("locked known and unknown emails answer differently: %+v vs %+v", answers[0], answers[1])
		}
		clock.Advance(30 * time.Second)
		if _, ra, _ := loginAttempt(t, s, "known@example.com", "right-password"); ra != "30" {
			t.Fatalf("Retry-After half-way through the lock = %q, want 30", ra)
		}

		// After the minute the right password works and resets the count.
		clock.Advance(31 * time.Second)
		if st, _, p := loginAttempt(t, s, "known@example.com", "right-password"); st != 200 {
			t.Fatalf("login after the lock expired: %d %+v", st, p)
		}
		for i := 1; i <= 4; i++ {
			loginAttempt(t, s, "known@example.com", "wrong-password")
		}
		if st, _, _ := loginAttempt(t, s, "known@example.com", "right-password"); st != 200 {
			t.Fatalf("4 failures after a success locked the account: %d", st)
		}

		// Each further failure after a lock doubles it: 2, 4, 8, then 15
		// minutes (capped).
		for _, want := range []int{120, 240, 480, 900, 900} {
			clock.Advance(time.Duration(want) * time.Second) // past any earlier lock
			if st, _, _ := loginAttempt(t, s, "unknown@example.com", "wrong-password"); st != 401 {
				t.Fatalf("attempt after the lock expired: %d, want 401", st)
			}
			st, ra, _ := loginAttempt(t, s, "unknown@example.com", "wrong-password")
			if st != 429 || ra != strconv.Itoa(want) {
				t.Fatalf("next lock: %d Retry-After %s, want 429 Retry-After %d", st, ra, want)
			}
		}

		if ev := auditEvents(t, dbURL, authority.EventQuery{Type: "account.locked"}); len(ev) < 2 {
			t.Errorf("account.locked events = %d, want at least one per email", len(ev))
		}
		if ev := auditEvents(t, dbURL, authority.EventQuery{Type: "login.throttled"}); len(ev) < 3 {
			t.Errorf("login.throttled events = %d", len(ev))
		}
		_, _, metrics := s.get(t, "/metrics")
		if !strings.Contains(string(metrics), `sigil_throttled_requests_total{reason="account"}`) {
			t.Errorf("/metrics lacks throttled requests by account:\n%s", grepLines(string(metrics), "sigil_throttled"))
		}
	})
}

// Concurrent failures on one email from many clients are all counted: the
// lock starts after exactly the threshold, whatever the interleaving.
func TestConcurrentFailuresAreAllCounted(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := startServer(t, testEnv(dbURL, map[string]string{"SIGIL_LOCKOUT_THRESHOLD": "10"}))
		var wg sync.WaitGroup
		statuses := make(chan int, 10)
		for i := 0; i < 10; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st, _, _ := s.postJSON(t, "/auth/login", map[string]string{"email": "victim@example.com", "password": "wrong-password"})
				statuses <- st
			}()
		}
		wg.Wait()
		close(statuses)
		for st := range statuses {
			if st != 401 {
				t.Fatalf("concurrent failure answered %d, want 401", st)
			}
		}
		if st, ra, _ := loginAttempt(t, s, "victim@example.com", "wrong-password"); st != 429 || ra == "" {
			t.Fatalf("after 10 concurrent failures: %d Retry-After %q, want 429", st, ra)
		}
	})
}

// SIGIL_LOCKOUT_THRESHOLD=0 turns account throttling off.
func TestLockoutThresholdZeroTurnsThrottlingOff(t *testing.T) {
	dbURL := storetest.SQLiteURL(t)
	s := startServer(t, testEnv(dbURL, map[string]string{"SIGIL_LOCKOUT_THRESHOLD": "0"}))
	for i := 0; i < 8; i++ {
		if st, _, _ := loginAttempt(t, s, "x@example.com", "wrong-password"); st != 401 {
			t.Fatalf("attempt %d: %d, want 401", i, st)
		}
	}
	if n := countRows(t, dbURL, "login_throttle"); n != 0 {
		t.Fatalf("login_throttle rows = %d with throttling off", n)
	}
}

// The per-client token bucket refuses a client over SIGIL_RATE_LIMIT (burst
// twice the rate) on the credential endpoints with 429, Retry-After and a
// problem, audits it once and counts every refusal; other clients (by
// SIGIL_CLIENT_IP_HEADER) and other endpoints are unaffected.
func TestPerClientRateLimit(t *testing.T) {
	dbURL := storetest.SQLiteURL(t)
	s := startServer(t, testEnv(dbURL, map[string]string{"SIGIL_RATE_LIMIT": "1/m", "SIGIL_CLIENT_IP_HEADER": "X-Forwarded-For"}))
	from := func(ip string) []string { return []string{"X-Forwarded-For", "198.51.100.7, " + ip} }
	// 1/m: a burst of 1 (at least one), then one a minute.
	for i, path := range []string{"/auth/login", "/auth/signup", "/auth/refresh", "/oauth2/token"} {
		ip := "203.0.113." + strconv.Itoa(10+i)
		ctype, body := "application/json", `{}`
		if path == "/oauth2/token" {
			ctype, body = "application/x-www-form-urlencoded", "grant_type=client_credentials"
		}
		first, _, _ := do(t, http.MethodPost, s.Base+path, ctype, body, from(ip)...)
		if first == 429 {
			t.Fatalf("%s: first request refused", path)
		}
		for i := 0; i < 3; i++ {
			st, h, b := do(t, http.MethodPost, s.Base+path, ctype, body, from(ip)...)
			wantThrottled(t, path, st, h, b, 60)
		}
	}
	// Spellings of the path that might slip past the limiter never reach
	// the login handler (which would answer 401 or 422): the router
	// redirects or refuses them, or the limiter sees the decoded path
	// (the encoded and the query-string spellings: two more refusals).
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, p := range []string{"//auth/login", "/auth/./login", "/auth/login/", "/auth/%6Cogin", "/AUTH/LOGIN", "/auth/login?x=1"} {
		req, _ := http.NewRequest(http.MethodPost, s.Base+p, strings.NewReader(`{"email":"a@example.com","password":"password123"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", "203.0.113.10")
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == 401 || resp.StatusCode == 422 || resp.StatusCode == 200 {
			t.Errorf("POST %s from a limited client reached the login handler: %d", p, resp.StatusCode)
		}
	}
	// Another client is not affected, nor are other endpoints.
	if st, _, _ := loginAttempt(t, s, "a@example.com", "password123", from("203.0.113.200")...); st != 401 {
		t.Fatalf("another client: %d, want 401", st)
	}
	for i := 0; i < 5; i++ {
		if st, _, _ := s.get(t, "/.well-known/jwks.json", from("203.0.113.12")...); st != 200 {
			t.Fatalf("JWKS limited: %d", st)
		}
	}
	ev := auditEvents(t, dbURL, authority.EventQuery{Type: "request.throttled"})
	if len(ev) != 4 {
		t.Errorf("request.throttled events = %d, want one per client (4)", len(ev))
	}
	_, _, m := s.get(t, "/metrics")
	if !strings.Contains(string(m), `sigil_throttled_requests_total{reason="rate"} 14`) {
		t.Errorf("metrics:\n%s", grepLines(string(m), "sigil_throttled"))
	}
}

// wantThrottled checks a rate-limit refusal: 429 with a Retry-After of 1
// to maxWait seconds, and a body the caller can parse: a problem on
// /auth/*, an RFC 6749 error (temporarily_unavailable) on /oauth2/*.
func wantThrottled(t *testing.T, path string, st int, h http.Header, body []byte, maxWait int) {
	t.Helper()
	ra, err := strconv.Atoi(h.Get("Retry-After"))
	if st != http.StatusTooManyRequests || err != nil || ra < 1 || ra > maxWait {
		t.Fatalf("%s over the limit: %d Retry-After %q %s", path, st, h.Get("Retry-After"), body)
	}
	if strings.HasPrefix(path, "/oauth2/") {
		wantOAuthError(t, path+" over the limit", st, h, body, http.StatusTooManyRequests, "temporarily_unavailable")
		return
	}
	var p problem
	if h.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("%s over the limit: Content-Type %q", path, h.Get("Content-Type"))
	}
	decode(t, body, &p)
	if p.Type != "urn:sigil:problem:throttled" || p.Status != http.StatusTooManyRequests {
		t.Fatalf("%s over the limit: problem %+v", path, p)
	}
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// A burst of wrong passwords sent at once for one account has at most
// SIGIL_LOCKOUT_THRESHOLD of them judged (401); the rest are refused
// before hashing, with 429 and Retry-After (or 503 by the hashing gate).
func TestParallelWrongPasswordsJudgedAtMostThreshold(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := startServer(t, testEnv(dbURL, nil))
		s.signupLogin(t, "burst@example.com", "right-password")
		const guesses = 50
		var wg sync.WaitGroup
		var mu sync.Mutex
		statuses := map[int]int{}
		start := make(chan struct{})
		for i := 0; i < guesses; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				st, ra, _ := loginAttempt(t, s, "burst@example.com", "wrong-password")
				if st == 429 && ra == "" {
					t.Errorf("429 without Retry-After")
				}
				mu.Lock()
				statuses[st]++
				mu.Unlock()
			}()
		}
		close(start)
		wg.Wait()
		t.Logf("%d parallel wrong passwords: %v", guesses, statuses)
		if statuses[401] == 0 || statuses[401] > 5 {
			t.Fatalf("%d of %d parallel wrong passwords judged (401); want 1 to 5: %v", statuses[401], guesses, statuses)
		}
		if statuses[401]+statuses[429]+statuses[503] != guesses {
			t.Fatalf("unexpected answers: %v", statuses)
		}
	})
}

// A signed-in user asked for their password again (to change it, delete
// the account, remove a passkey) makes a login attempt of it: wrong
// answers count toward the same lockout, so a stolen session or token is
// no way around it. Once locked, the right password is refused too, over
// REST (429 problem) and on the account page (429 page), and nothing is
// changed.
func TestPasswordAskedAgainCountsTowardTheLockout(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := startServer(t, browserEnv(t, dbURL, nil))
		lr := s.signupLogin(t, "kai@example.com", "the right password")
		b := newBrowserless(t, s.Issuer)
		if p := b.signIn(b.get(s.Issuer+"/login"), "kai@example.com", "the right password"); p.Status != http.StatusSeeOther {
			t.Fatalf("page sign-in: %d", p.Status)
		}
		account := b.get(s.Issuer + "/account")

		wrong := []struct {
			method, path string
			body         map[string]string
		}{
			{http.MethodPost, "/auth/password", map[string]string{"currentPassword": "a wrong password", "newPassword": "another password"}},
			{http.MethodDelete, "/auth/me", map[string]string{"password": "a wrong password"}},
			{http.MethodDelete, "/auth/mfa/webauthn/credentials/x", map[string]string{"password": "a wrong password"}},
			{http.MethodDelete, "/auth/me", map[string]string{"password": "a wrong password"}},
			{http.MethodPost, "/auth/password", map[string]string{"currentPassword": "a wrong password", "newPassword": "another password"}},
		}
		for i, c := range wrong {
			if st, _, body := s.send(t, c.method, c.path, c.body, bearer(lr.Token)...); st != http.StatusUnauthorized {
				t.Fatalf("wrong password %d on %s %s: %d %s", i+1, c.method, c.path, st, body)
			}
		}

		st, h, body := s.send(t, http.MethodDelete, "/auth/me", map[string]string{"password": "the right password"}, bearer(lr.Token)...)
		if st != http.StatusTooManyRequests || h.Get("Retry-After") == "" || !strings.Contains(string(body), "urn:sigil:problem:throttled") {
			t.Fatalf("right password while locked: %d Retry-After %q %s", st, h.Get("Retry-After"), body)
		}
		f := hidden(account)
		f.Set("password", "the right password")
		if p := b.post(s.Issuer+"/account/delete", f); p.Status != http.StatusTooManyRequests || p.Header.Get("Retry-After") == "" || !strings.Contains(p.Body, "Too many attempts") {
			t.Fatalf("account page deletion while locked: %d Retry-After %q", p.Status, p.Header.Get("Retry-After"))
		}
		if st, _, _ := s.get(t, "/auth/me", bearer(lr.Token)...); st != http.StatusOK {
			t.Fatalf("the account is gone after refused deletions: %d", st)
		}
		if st, _, p := loginAttempt(t, s, "kai@example.com", "the right password"); st != http.StatusTooManyRequests {
			t.Fatalf("login while locked: %d %+v", st, p)
		}
		if n := len(auditEvents(t, dbURL, authority.EventQuery{Type: "account.locked"})); n != 1 {
			t.Errorf("account.locked events: %d, want 1", n)
		}
	})
}
