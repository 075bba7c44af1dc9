package api

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sigil-auth/sigil/keys"
)

// The JWKS goes straight from observe to its handler; its answers stay the
// route's: 200 with the snapshot's bytes and headers, HEAD without a body,
// 304 on a matching If-None-Match (in a list, weak or not), 405 problem
// for other methods, and the route label in the metrics.
func TestJWKSAnswers(t *testing.T) {
	srv, _ := newTestServer(t, newMemStore(), keys.EdDSA, nil)
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	body, etag := srv.keys.Ring().Load().JWKS()

	for _, tc := range []struct {
		method, inm string
		status      int
		body        string
	}{
		{http.MethodGet, "", 200, string(body)},
		{http.MethodHead, "", 200, ""},
		{http.MethodGet, etag, 304, ""},
		{http.MethodGet, `"other", W/` + etag, 304, ""},
		{http.MethodGet, "*", 304, ""},
		{http.MethodGet, `"other"`, 200, string(body)},
		{http.MethodPost, "", 405, ""},
	} {
		req, _ := http.NewRequest(tc.method, ts.URL+"/.well-known/jwks.json", nil)
		if tc.inm != "" {
			req.Header.Set("If-None-Match", tc.inm)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		name := tc.method + " " + tc.inm
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d", name, resp.StatusCode, tc.status)
			continue
		}
		if resp.Header.Get("X-Request-Id") == "" {
			t.Errorf("%s: no X-Request-Id", name)
		}
		switch tc.status {
		case 200:
			if string(got) != tc.body {
				t.Errorf("%s: body %q", name, got)
			}
			if resp.Header.Get("ETag") != etag || resp.Header.Get("Cache-Control") != "public, max-age=300" ||
				resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("Vary") != "Origin" {
				t.Errorf("%s: headers %v", name, resp.Header)
			}
			if resp.ContentLength != int64(len(body)) {
				t.Errorf("%s: Content-Length %d, want %d", name, resp.ContentLength, len(body))
			}
		case 304:
			if resp.Header.Get("ETag") != etag || len(got) != 0 {
				t.Errorf("%s: ETag %q body %q", name, resp.Header.Get("ETag"), got)
			}
		case 405:
			if resp.Header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s: Content-Type %q", name, resp.Header.Get("Content-Type"))
			}
		}
	}

	resp, err := http.Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`sigil_http_request_duration_seconds_count{code="200",method="GET",route="/.well-known/jwks.json"} 2`,
		`sigil_http_request_duration_seconds_count{code="304",method="GET",route="/.well-known/jwks.json"} 3`,
		`sigil_jwks_requests_total{code="200"} 3`,
		`sigil_jwks_requests_total{code="304"} 3`,
	} {
		if !strings.Contains(string(m), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestETagMatch(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   bool
	}{
		{`"abc"`, true}, {`W/"abc"`, true}, {` "x" , "abc" `, true}, {`*`, true},
		{`"abcd"`, false}, {`"x",`, false}, {`,`, false}, {`abc`, false},
	} {
		if got := etagMatch(tc.header, `"abc"`); got != tc.want {
			t.Errorf("etagMatch(%q) = %v", tc.header, got)
		}
	}
}
