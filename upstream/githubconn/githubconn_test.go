package githubconn

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/upstream"
)

func TestPrimaryEmail(t *testing.T) {
	for _, c := range []struct {
		name     string
		emails   []Email
		want     string
		verified bool
	}{
		{"primary verified", []Email{{"a@x.com", false, true}, {"p@x.com", true, true}}, "p@x.com", true},
		{"primary unverified, another verified", []Email{{"a@x.com", false, true}, {"p@x.com", true, false}}, "p@x.com", false},
		{"no primary", []Email{{"a@x.com", false, true}}, "", false},
		{"none", nil, "", false},
	} {
		if got, v := PrimaryEmail(c.emails); got != c.want || v != c.verified {
			t.Errorf("%s: %q %v, want %q %v", c.name, got, v, c.want, c.verified)
		}
	}
}

func TestParseToken(t *testing.T) {
	for _, c := range []struct {
		status int
		body   string
		want   error
	}{
		{200, `{"access_token":"gho_x","token_type":"bearer","scope":"read:user"}`, nil},
		{200, `{"error":"bad_verification_code","error_description":"The code passed is incorrect or expired."}`, upstream.ErrRefused},
		{400, `{"error":"invalid_request"}`, upstream.ErrRefused},
		{200, `access_token=gho_x&token_type=bearer`, upstream.ErrRejected},
		{200, `{"token_type":"bearer"}`, upstream.ErrRejected},
		{200, `{"access_token":"x","token_type":"mac"}`, upstream.ErrRejected},
		{404, `<html>`, upstream.ErrRejected},
		{502, `{"access_token":"x","token_type":"bearer"}`, upstream.ErrUnavailable},
		{200, `{"access_token":"` + strings.Repeat("x", maxBody) + `","token_type":"bearer"}`, upstream.ErrRejected},
	} {
		tok, err := ParseToken(c.status, []byte(c.body))
		if c.want == nil && (err != nil || tok != "gho_x") || c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%d %.60s: %q %v, want %v", c.status, c.body, tok, err, c.want)
		}
	}
}

func TestParseAPI(t *testing.T) {
	limited := http.Header{"X-Ratelimit-Remaining": {"0"}}
	for _, c := range []struct {
		status int
		h      http.Header
		body   string
		want   error
	}{
		{200, nil, `{"id":1}`, nil},
		{200, nil, `{"id":"one"}`, upstream.ErrRejected},
		{401, nil, `{"message":"Bad credentials"}`, upstream.ErrRejected},
		{403, nil, `{"message":"Forbidden"}`, upstream.ErrRejected},
		{403, limited, `{"message":"API rate limit exceeded"}`, upstream.ErrUnavailable},
		{429, http.Header{"Retry-After": {"60"}}, `{}`, upstream.ErrUnavailable},
		{503, nil, `{}`, upstream.ErrUnavailable},
	} {
		var v struct {
			ID int64 `json:"id"`
		}
		err := ParseAPI("/user", c.status, c.h, []byte(c.body), &v)
		if c.want == nil && (err != nil || v.ID != 1) || c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%d %s: %v, want %v", c.status, c.body, err, c.want)
		}
	}
}

func TestEndpoints(t *testing.T) {
	if got := APIBase("https://github.com"); got != "https://api.github.com" {
		t.Errorf("github.com API %s", got)
	}
	if got := APIBase("https://ghe.example.com/"); got != "https://ghe.example.com/api/v3" {
		t.Errorf("GHE API %s", got)
	}
	c, err := New(time.Second).Open(context.Background(), upstream.Upstream{Issuer: "https://github.com", ClientID: "Iv1.a",
		Scopes: []string{"read:user", "user:email"}}, "s", "https://sigil.example.com/login/upstream/gh/callback", false)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(c.AuthURL("st", "no-nonce", "ch", true))
	q := u.Query()
	if u.Scheme+"://"+u.Host+u.Path != "https://github.com/login/oauth/authorize" || q.Get("client_id") != "Iv1.a" ||
		q.Get("scope") != "read:user user:email" || q.Get("state") != "st" || q.Get("code_challenge") != "ch" ||
		q.Get("code_challenge_method") != "S256" || q.Has("nonce") || q.Has("prompt") || q.Get("redirect_uri") != "https://sigil.example.com/login/upstream/gh/callback" {
		t.Errorf("authorize URL %s", u)
	}
}

// Finish against a server that answers slowly, hugely, or not at all.
func TestFinishErrors(t *testing.T) {
	mux := http.NewServeMux()
	var mode atomic.Value
	mode.Store("")
	mux.HandleFunc("POST /login/oauth/access_token", func(w http.ResponseWriter, r *http.Request) {
		switch mode.Load() {
		case "slow":
			// Longer than the client waits.
			select {
			case <-r.Context().Done():
			case <-time.After(2 * time.Second):
			}
		case "huge":
			w.Write([]byte(`{"access_token":"`))
			w.Write([]byte(strings.Repeat("x", maxBody+10)))
		default:
			w.Write([]byte(`{"access_token":"t","token_type":"bearer"}`))
		}
	})
	mux.HandleFunc("GET /api/v3/user", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"id":0,"login":"ghost"}`))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c, err := New(300*time.Millisecond).Open(context.Background(), upstream.Upstream{Issuer: srv.URL}, "s", "http://cb", true)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct {
		mode, iss string
		want      error
	}{
		{"slow", "", upstream.ErrUnavailable},
		{"huge", "", upstream.ErrRejected},
		{"", "https://github.com", upstream.ErrRejected},
		{"", "", upstream.ErrRejected}, // GET /user without an id
		{"", srv.URL, upstream.ErrRejected},
	} {
		mode.Store(m.mode)
		if _, err := c.Finish(context.Background(), "code", m.iss, "v", "", 0); !errors.Is(err, m.want) {
			t.Errorf("%q iss %q: %v, want %v", m.mode, m.iss, err, m.want)
		}
	}
	srv.Close()
	if _, err := New(time.Second).Open(context.Background(), upstream.Upstream{Issuer: srv.URL}, "s", "http://cb", true); err == nil {
		t.Error("Open of a GitHub that is down with fresh set")
	}
	if _, err := c.Finish(context.Background(), "code", "", "v", "", 0); !errors.Is(err, upstream.ErrUnavailable) {
		t.Errorf("GitHub down: %v", err)
	}
}
