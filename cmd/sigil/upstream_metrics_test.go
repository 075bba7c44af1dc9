package main

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/sigil-auth/sigil/store/storetest"
)

// metricValue reads one series of a /metrics scrape: series is the name
// with its labels in the exposition's order; -1 for no such series.
func metricValue(t *testing.T, s *server, series string) float64 {
	t.Helper()
	_, _, body := s.get(t, "/metrics")
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(string(body))
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Sign-ins through an upstream are counted by upstream and outcome, and
// the calls to it timed: an account created, a linked identity signing
// in again, a forged state, an upstream that is down. A callback at an
// id no upstream has counts nothing, so that invented ids cannot grow
// the metric.
func TestUpstreamSignInMetrics(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		fx := newFedFixture(t, dbURL, "none", nil)
		fx.upUser(t, "new@example.com", true)
		signins := func(upstream, outcome string) float64 {
			return metricValue(t, fx.s, `sigil_upstream_signins_total{outcome="`+outcome+`",upstream="`+upstream+`"}`)
		}

		for i := range 2 {
			b := newBrowserless(t, fx.iss)
			p := fx.viaUpstream(t, b, b.get(fx.iss+"/login"), "new@example.com")
			if p.Status != http.StatusSeeOther || fx.signedInAs(t, b) != "new@example.com" {
				t.Fatalf("sign-in %d through the upstream: %d %s\n%.500s", i, p.Status, p.Header.Get("Location"), p.Body)
			}
		}
		if n := signins("corp", "created"); n != 1 {
			t.Errorf("created: %v, want 1", n)
		}
		if n := signins("corp", "signed_in"); n != 1 {
			t.Errorf("signed_in: %v, want 1", n)
		}
		// Two sign-ins: two discoveries and two code exchanges.
		if n := metricValue(t, fx.s, `sigil_upstream_request_duration_seconds_count{upstream="corp"}`); n != 4 {
			t.Errorf("timed calls to corp: %v, want 4", n)
		}

		b := newBrowserless(t, fx.iss)
		p := b.get(fx.iss + "/login/upstream/corp/callback?state=forged-state-value&code=x")
		fx.wantUpstreamError(t, "forged state", b, p, http.StatusBadRequest)
		if n := signins("corp", "failed_state"); n != 1 {
			t.Errorf("failed_state: %v, want 1", n)
		}
		p = b.get(fx.iss + "/login/upstream/invented-id/callback?state=forged-state-value&code=x")
		fx.wantUpstreamError(t, "unknown upstream", b, p, http.StatusBadRequest)
		if _, _, body := fx.s.get(t, "/metrics"); strings.Contains(string(body), "invented-id") {
			t.Error("a callback at an invented upstream id made a series")
		}

		// An upstream whose issuer answers nothing.
		st, _, body := fx.s.postJSON(t, "/admin/upstreams", map[string]any{"id": "down", "name": "Down SSO", "type": "oidc",
			"issuer": "http://" + freeAddr(t), "clientId": "c", "clientSecret": "s"}, bearer(fx.admin)...)
		if st != http.StatusCreated {
			t.Fatalf("create upstream: %d %s", st, body)
		}
		f := hidden(b.get(fx.iss + "/login"))
		f.Set("upstream", "down")
		if p := b.post(fx.iss+"/login/upstream", f); p.Status != http.StatusBadGateway {
			t.Errorf("start at an upstream that is down: %d\n%.500s", p.Status, p.Body)
		}
		if n := signins("down", "failed_unavailable"); n != 1 {
			t.Errorf("failed_unavailable: %v, want 1", n)
		}
		if n := metricValue(t, fx.s, `sigil_upstream_request_duration_seconds_count{upstream="down"}`); n != 1 {
			t.Errorf("timed calls to down: %v, want 1", n)
		}
		if n := signins("corp", "failed_unavailable"); n != -1 {
			t.Errorf("corp counted the other upstream's failure: %v", n)
		}
	})
}
