package main

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"testing"

	"github.com/sigil-auth/sigil/store/storetest"
)

// After some traffic /metrics shows every series operators alert on.
func TestMetricsAfterActivity(t *testing.T) {
	s := startServer(t, testEnv(storetest.SQLiteURL(t), map[string]string{"SIGIL_LOCKOUT_THRESHOLD": "1"}))
	s.signupLogin(t, "m@example.com", "password123")
	loginAttempt(t, s, "x@example.com", "wrong-password") // failure, locks x
	loginAttempt(t, s, "x@example.com", "wrong-password") // throttled
	_, h, _ := s.get(t, "/.well-known/jwks.json")
	s.get(t, "/.well-known/jwks.json", "If-None-Match", h.Get("ETag"))

	_, _, body := s.get(t, "/metrics")
	text := string(body)
	for _, re := range []string{
		`sigil_tokens_issued_total\{alg="RS256",grant="password"\} 1`,
		`sigil_login_failures_total 1`,
		`sigil_throttled_requests_total\{reason="account"\} 1`,
		`sigil_key_events_total\{event="key.activated"\} 1`,
		`sigil_jwks_requests_total\{code="200"\} 1`,
		`sigil_jwks_requests_total\{code="304"\} 1`,
		`sigil_http_request_duration_seconds_bucket\{code="200",method="POST",route="/auth/login",le="[^"]+"\} [1-9]`,
		`sigil_http_request_duration_seconds_count\{code="201",method="POST",route="/auth/signup"\} 1`,
		`sigil_active_key_age_seconds [0-9.e+-]+`,
		`sigil_keyring_reloads_total [1-9]`,
	} {
		if !regexp.MustCompile(`(?m)^` + re + `$`).MatchString(text) {
			t.Errorf("/metrics lacks %s", re)
		}
	}
}

// A client inventing HTTP methods cannot grow the metrics: unknown methods
// share one label value, so 1,000 distinct methods leave the number of
// request-duration series as it was after the first.
func TestInventedMethodsLeaveMetricSeriesFlat(t *testing.T) {
	s := startServer(t, testEnv(storetest.SQLiteURL(t), nil))
	series := func() int {
		_, _, body := s.get(t, "/metrics")
		return len(regexp.MustCompile(`(?m)^sigil_http_request_duration_seconds_count\{`).FindAllIndex(body, -1))
	}
	send := func(method string) {
		req, err := http.NewRequest(method, s.Base+"/auth/me", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	send("INVENTED0")
	series() // the scrape itself is a series from now on
	before := series()
	for i := 1; i < 1000; i++ {
		send(fmt.Sprintf("INVENTED%d", i))
	}
	if after := series(); after != before {
		t.Fatalf("request-duration series grew from %d to %d after 1,000 invented methods", before, after)
	}
	_, _, body := s.get(t, "/metrics")
	if !regexp.MustCompile(`(?m)^sigil_http_request_duration_seconds_count\{code="[0-9]+",method="OTHER",route="[^"]+"\} [1-9]`).Match(body) {
		t.Fatalf("/metrics does not count the invented methods under method=\"OTHER\"")
	}
}
