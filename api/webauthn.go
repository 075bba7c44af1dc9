package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/gorilla/mux"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/mfa"
)

// The JSON endpoints of passkeys and security keys, for a single-page app
// running the WebAuthn ceremonies itself: begin returns the options for
// navigator.credentials.create/get and a ceremonyId; finish sends the
// ceremonyId back with the PublicKeyCredential as JSON.

func (s *Server) registerWebAuthn(r *mux.Router) {
	s.handle(r, "/auth/mfa/webauthn/register/begin", AccessEnrolment, s.handleWebAuthnRegisterBegin, http.MethodPost)
	s.handle(r, "/auth/mfa/webauthn/register/finish", AccessEnrolment, s.handleWebAuthnRegisterFinish, http.MethodPost)
	s.handle(r, "/auth/mfa/webauthn/credentials", AccessAccount, s.handleWebAuthnCredentials, http.MethodGet)
	s.handle(r, "/auth/mfa/webauthn/credentials/{id}", AccessAccount, s.handleWebAuthnRename, http.MethodPatch)
	s.handle(r, "/auth/mfa/webauthn/credentials/{id}", AccessAccount, s.handleWebAuthnRemove, http.MethodDelete)
	s.handle(r, "/auth/login/webauthn/begin", AccessPublic, s.handleWebAuthnLoginBegin, http.MethodPost)
	s.handle(r, "/auth/login/webauthn/finish", AccessPublic, s.handleWebAuthnLoginFinish, http.MethodPost)
}

// webauthnProblem maps the WebAuthn errors; others go to problemFor.
func webauthnProblem(err error, rejected int) error {
	switch {
	case errors.Is(err, mfa.ErrInvalidCeremony):
		return newProblem(http.StatusBadRequest, "invalid-ceremony", "Invalid ceremony",
			"the ceremonyId is unknown, expired or already finished; begin again")
	case errors.Is(err, mfa.ErrClonedAuthenticator):
		return newProblem(http.StatusUnauthorized, "cloned-authenticator", "Authenticator refused",
			"the authenticator's signature counter did not advance; this credential may have been copied")
	case errors.Is(err, mfa.ErrWebAuthnRejected):
		return newProblem(rejected, "webauthn-rejected", "Authenticator answer rejected",
			"the answer does not verify against the ceremony, origin or credential")
	case errors.Is(err, mfa.ErrNoWebAuthn):
		return newProblem(http.StatusConflict, "no-webauthn", "No passkey", "this account has no passkey or security key")
	case errors.Is(err, mfa.ErrWebAuthnUnavailable):
		return newProblem(http.StatusServiceUnavailable, "webauthn-unavailable", "WebAuthn unavailable",
			"the server's issuer or WebAuthn settings do not make a relying party")
	}
	return err
}

type ceremonyCreation struct {
	CeremonyID string `json:"ceremonyId"`
	*protocol.CredentialCreation
}

type ceremonyAssertion struct {
	CeremonyID string `json:"ceremonyId"`
	*protocol.CredentialAssertion
}

type webauthnCredentialJSON struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	AAGUID     string     `json:"aaguid,omitempty"`
	Transports []string   `json:"transports"`
	CreatedAt  time.Time  `json:"createdAt"`
	LastUsedAt *time.Time `json:"lastUsedAt,omitempty"`
}

func credentialJSON(c mfa.WebAuthnCredential) webauthnCredentialJSON {
	out := webauthnCredentialJSON{ID: c.ID, Name: c.Name, AAGUID: c.AAGUID, Transports: c.Transports, CreatedAt: c.CreatedAt.UTC()}
	if out.Transports == nil {
		out.Transports = []string{}
	}
	if !c.LastUsedAt.IsZero() {
		t := c.LastUsedAt.UTC()
		out.LastUsedAt = &t
	}
	return out
}

func (s *Server) handleWebAuthnRegisterBegin(w http.ResponseWriter, r *http.Request) {
	a, err := s.addingFactor(r)
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	var id string
	var creation *protocol.CredentialCreation
	if a.enrolToken != "" {
		id, creation, err = s.factors.BeginWebAuthnRegistrationForSignIn(r.Context(), a.enrolToken)
		err = enrolmentTokenProblem(err)
	} else {
		id, creation, err = s.factors.BeginWebAuthnRegistration(r.Context(), a.userID, authority.Reauth{Password: a.password}, s.meta(r))
	}
	if err != nil {
		s.writeProblem(w, r, webauthnProblem(err, http.StatusUnprocessableEntity))
		return
	}
	noStore(w)
	writeJSON(w, http.StatusOK, ceremonyCreation{CeremonyID: id, CredentialCreation: creation})
}

type registerFinishRequest struct {
	CeremonyID string          `json:"ceremonyId"`
	Name       string          `json:"name"`
	Credential json.RawMessage `json:"credential"`
}

func (s *Server) handleWebAuthnRegisterFinish(w http.ResponseWriter, r *http.Request) {
	uid, err := s.mfaUser(r, true)
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	var req registerFinishRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeProblem(w, r, err)
		return
	}
	if req.CeremonyID == "" {
		s.writeProblem(w, r, invalidField("ceremonyId", "is required"))
		return
	}
	if len(req.Credential) == 0 || req.Credential[0] != '{' {
		s.writeProblem(w, r, invalidField("credential", "must be the PublicKeyCredential as a JSON object"))
		return
	}
	c, err := s.factors.FinishWebAuthnRegistration(r.Context(), uid, req.CeremonyID, req.Name, req.Credential, s.meta(r))
	if err != nil {
		s.writeProblem(w, r, webauthnProblem(err, http.StatusUnprocessableEntity))
		return
	}
	noStore(w)
	writeJSON(w, http.StatusCreated, credentialJSON(c))
}

func (s *Server) handleWebAuthnCredentials(w http.ResponseWriter, r *http.Request) {
	uid, err := s.mfaUser(r, false)
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	list, err := s.factors.WebAuthnCredentials(r.Context(), uid)
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	out := struct {
		Credentials []webauthnCredentialJSON `json:"credentials"`
	}{Credentials: []webauthnCredentialJSON{}}
	for _, c := range list {
		out.Credentials = append(out.Credentials, credentialJSON(c))
	}
	noStore(w)
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleWebAuthnRename(w http.ResponseWriter, r *http.Request) {
	uid, err := s.mfaUser(r, false)
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	var req struct {
		Name string `json:"name"`
	}
	if err := decodeJSON(r, &req); err != nil {
		s.writeProblem(w, r, err)
		return
	}
	c, err := s.factors.RenameWebAuthnCredential(r.Context(), uid, mux.Vars(r)["id"], req.Name, s.meta(r))
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, credentialJSON(c))
}

func (s *Server) handleWebAuthnRemove(w http.ResponseWriter, r *http.Request) {
	uid, err := s.mfaUser(r, false)
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	var req passwordRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeProblem(w, r, err)
		return
	}
	if err := s.factors.RemoveWebAuthnCredential(r.Context(), uid, mux.Vars(r)["id"], authority.Reauth{Password: req.Password}, s.meta(r)); err != nil {
		s.writeProblem(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type loginBeginRequest struct {
	MFAToken string `json:"mfaToken"`
}

// handleWebAuthnLoginBegin starts a sign-in: with the mfaToken of an
// mfa-required answer as the second factor, without one as a passkey
// sign-in (discoverable credential, user verification required).
func (s *Server) handleWebAuthnLoginBegin(w http.ResponseWriter, r *http.Request) {
	var req loginBeginRequest
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &req); err != nil {
			s.writeProblem(w, r, err)
			return
		}
	}
	id, assertion, err := s.factors.BeginWebAuthnLogin(r.Context(), req.MFAToken)
	if err != nil {
		s.writeProblem(w, r, webauthnProblem(err, http.StatusUnauthorized))
		return
	}
	noStore(w)
	writeJSON(w, http.StatusOK, ceremonyAssertion{CeremonyID: id, CredentialAssertion: assertion})
}

type loginFinishRequest struct {
	CeremonyID string          `json:"ceremonyId"`
	MFAToken   string          `json:"mfaToken"`
	Credential json.RawMessage `json:"credential"`
}

func (s *Server) handleWebAuthnLoginFinish(w http.ResponseWriter, r *http.Request) {
	var req loginFinishRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeProblem(w, r, err)
		return
	}
	if req.CeremonyID == "" {
		s.writeProblem(w, r, invalidField("ceremonyId", "is required"))
		return
	}
	if len(req.Credential) == 0 || req.Credential[0] != '{' {
		s.writeProblem(w, r, invalidField("credential", "must be the PublicKeyCredential as a JSON object"))
		return
	}
	pair, err := s.factors.WebAuthnLogin(r.Context(), req.MFAToken, req.CeremonyID, req.Credential, s.meta(r))
	if err != nil {
		s.countLoginError(err)
		s.writeProblem(w, r, webauthnProblem(err, http.StatusUnauthorized))
		return
	}
	s.writeTokens(w, pair)
}
