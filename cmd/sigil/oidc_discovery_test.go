package main

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/sigil-auth/sigil/store/storetest"
)

// Discovery advertises what the server does, and nothing else.
func TestDiscoveryOpenIDProvider(t *testing.T) {
	f := newOIDCFixture(t, storetest.SQLiteURL(t), nil)
	_, _, body := f.s.get(t, "/.well-known/openid-configuration")
	var d map[string]any
	decode(t, body, &d)
	want := map[string]any{
		"issuer": f.iss, "authorization_endpoint": f.iss + "/oauth2/authorize", "userinfo_endpoint": f.iss + "/oauth2/userinfo",
		"end_session_endpoint": f.iss + "/oauth2/logout", "authorization_response_iss_parameter_supported": true,
	}
	for k, v := range want {
		if d[k] != v {
			t.Errorf("%s = %v, want %v", k, d[k], v)
		}
	}
	list := func(k string) []string {
		var out []string
		b, _ := json.Marshal(d[k])
		json.Unmarshal(b, &out)
		return out
	}
	if got := list("response_types_supported"); !slices.Equal(got, []string{"code"}) {
		t.Errorf("response_types_supported %v", got)
	}
	if got := list("code_challenge_methods_supported"); !slices.Equal(got, []string{"S256"}) {
		t.Errorf("code_challenge_methods_supported %v", got)
	}
	for _, sc := range []string{"openid", "profile", "email", "offline_access"} {
		if !slices.Contains(list("scopes_supported"), sc) {
			t.Errorf("scopes_supported lacks %s", sc)
		}
	}
	for _, c := range []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "sid", "at_hash", "amr", "email", "email_verified", "name"} {
		if !slices.Contains(list("claims_supported"), c) {
			t.Errorf("claims_supported lacks %s", c)
		}
	}
	if !slices.Contains(list("grant_types_supported"), "authorization_code") || !slices.Equal(list("response_modes_supported"), []string{"query"}) {
		t.Errorf("grant types %v, response modes %v", list("grant_types_supported"), list("response_modes_supported"))
	}
}
