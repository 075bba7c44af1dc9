package api

import (
	"net/http"
	"slices"
	"testing"

	"github.com/gorilla/mux"

	"github.com/sigil-auth/sigil/keys"
)

// Every route that takes a request body is classified, so a new one cannot
// miss the hostile-input tables: the JSON ones are the jsonEndpoints table
// in cmd/sigil/hostile_test.go, the form ones the formEndpoints table
// there. Adding a route here means adding it there.
func TestEveryBodyRouteIsInAHostileInputTable(t *testing.T) {
	json := []string{"/admin/clients", "/admin/resources", "/admin/upstreams", "/admin/registration-tokens", "/oauth2/register", "/admin/keys/rotate", "/admin/tokens/inspect", "/auth/login", "/auth/logout", "/auth/refresh", "/auth/signup",
		"/auth/verify-email", "/auth/password/forgot", "/auth/password/reset", "/auth/password", "/auth/email",
		"/auth/login/mfa", "/auth/mfa/totp", "/auth/mfa/totp/confirm", "/auth/mfa/recovery-codes", "/auth/mfa/webauthn/register/begin",
		"/auth/mfa/webauthn/register/finish", "/auth/login/webauthn/begin", "/auth/login/webauthn/finish"}
	form := []string{"/oauth2/introspect", "/oauth2/revoke", "/oauth2/token", "/oauth2/device_authorization"}
	// /oauth2/userinfo reads only its Authorization header.
	noBody := []string{"/oauth2/register/{id}", "/admin/keys/{kid}/revoke", "/admin/clients/{id}/secret", "/oauth2/userinfo",
		"/auth/verify-email/resend", "/auth/sessions/revoke-all", "/admin/users/{id}/lock", "/admin/users/{id}/unlock", "/admin/users/{id}/password-reset", "/admin/users/{id}/sessions/revoke-all"}

	s := &Server{metrics: NewMetrics(&keys.Ring{})}
	var got []string
	err := s.routes().Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		path, err := route.GetPathTemplate()
		if err != nil {
			return err
		}
		methods, err := route.GetMethods()
		if err != nil || slices.Contains(methods, http.MethodPost) { // no methods: any, POST included
			got = append(got, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Concat(json, form, noBody)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("routes accepting POST: %q\nclassified: %q\nput the new route in a hostile-input table in cmd/sigil/hostile_test.go and here", got, want)
	}
}
