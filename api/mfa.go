package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/mfa"
)

// Problem types of a login that needs a second factor.
const (
	problemMFARequired           = problemBase + "mfa-required"
	problemMFAEnrollmentRequired = problemBase + "mfa-enrollment-required"
)

// mfaProblem is the 403 answer of a login that must go on with a second
// factor (mfaToken + methods) or with an enrolment (mfaToken usable as the
// Bearer token of the TOTP enrolment endpoints).
type mfaProblem struct {
	Problem
	MFAToken string   `json:"mfaToken"`
	Methods  []string `json:"methods,omitempty"`
}

// writeMFAProblem answers the two second-factor outcomes of a correct
// password; it reports false for any other error.
func (s *Server) writeMFAProblem(w http.ResponseWriter, r *http.Request, err error) bool {
	var req *mfa.RequiredError
	var enr *mfa.EnrollmentRequiredError
	var body mfaProblem
	switch {
	case errors.As(err, &req):
		body = mfaProblem{Problem: Problem{Type: problemMFARequired, Title: "Second factor required", Status: http.StatusForbidden,
			Detail: "the password is right; send a code with the mfaToken to /auth/login/mfa"}, MFAToken: req.Token, Methods: req.Methods}
	case errors.As(err, &enr):
		body = mfaProblem{Problem: Problem{Type: problemMFAEnrollmentRequired, Title: "Second factor enrolment required", Status: http.StatusForbidden,
			Detail: "your role requires a second factor; enrol one at /auth/mfa/totp with the mfaToken as Bearer token, then log in again"},
			MFAToken: enr.Token, Methods: []string{mfa.MethodTOTP}}
	default:
		return false
	}
	body.RequestID = requestID(r.Context())
	noStore(w)
	writeJSONType(w, http.StatusForbidden, "application/problem+json", body)
	return true
}

type mfaLoginRequest struct {
	MFAToken string `json:"mfaToken"`
	Code     string `json:"code"`
}

func (s *Server) handleLoginMFA(w http.ResponseWriter, r *http.Request) {
	var req mfaLoginRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeProblem(w, r, err)
		return
	}
	if req.MFAToken == "" {
		s.writeProblem(w, r, invalidField("mfaToken", "is required"))
		return
	}
	if strings.TrimSpace(req.Code) == "" {
		s.writeProblem(w, r, invalidField("code", "is required"))
		return
	}
	pair, err := s.factors.CompleteLogin(r.Context(), req.MFAToken, req.Code, s.meta(r))
	if err != nil {
		s.countLoginError(err)
		s.writeProblem(w, r, err)
		return
	}
	s.writeTokens(w, pair)
}

// bearerToken returns the request's Bearer token.
func bearerToken(r *http.Request) (string, error) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	tok = strings.TrimSpace(tok)
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return "", errUnauthenticated
	}
	return tok, nil
}

// isEnrolmentToken tells an enrolment token (the mfaToken of an
// mfa-enrollment-required answer) from an access token, a JWT.
func isEnrolmentToken(tok string) bool { return !strings.Contains(tok, ".") }

// enrolmentTokenProblem makes a refused enrolment token a refused Bearer
// token.
func enrolmentTokenProblem(err error) error {
	if errors.Is(err, mfa.ErrInvalidToken) {
		return authority.ErrInvalidToken
	}
	return err
}

// mfaUser returns the user a second-factor endpoint acts for: the subject
// of a user's access token or, when enrolAllowed, of an enrolment token
// from an mfa-enrollment-required answer.
func (s *Server) mfaUser(r *http.Request, enrolAllowed bool) (string, error) {
	tok, err := bearerToken(r)
	if err != nil {
		return "", err
	}
	if enrolAllowed && isEnrolmentToken(tok) {
		id, err := s.factors.EnrollmentUser(r.Context(), tok)
		return id, enrolmentTokenProblem(err)
	}
	c, err := s.bearer(r)
	if err != nil {
		return "", err
	}
	return c.Subject, nil
}

type codeRequest struct {
	Code string `json:"code"`
}

// decodeCode reads {code}, required.
func decodeCode(r *http.Request) (string, error) {
	var req codeRequest
	if err := decodeJSON(r, &req); err != nil {
		return "", err
	}
	if strings.TrimSpace(req.Code) == "" {
		return "", invalidField("code", "is required")
	}
	return req.Code, nil
}

// codeProblem turns a wrong code on an authenticated endpoint into a 422
// naming the field (a 401 would blame the Bearer token).
func codeProblem(err error) error {
	if errors.Is(err, mfa.ErrInvalidCode) {
		return invalidField("code", "is wrong, expired or already used")
	}
	return err
}

type totpEnrolResponse struct {
	Secret     string `json:"secret"`
	OTPAuthURI string `json:"otpauthUri"`
}

// errPasswordRequired answers a request to add a second factor with an
// access token and no password.
var errPasswordRequired = &Problem{Type: problemBase + "invalid-request", Title: "Invalid request", Status: http.StatusBadRequest,
	Detail: "password is required: adding a second factor needs the account's password", Field: "password"}

// factorAdder is who asks to add a second factor, and their proof: the
// enrolment token of a sign-in held back until a factor is enrolled
// (made right after its password was checked), or a user's access token
// with the password again, so that a session or token alone adds none.
type factorAdder struct {
	enrolToken string
	userID     string
	password   string
}

// addingFactor reads the caller and the body {"password"} (optional with
// an enrolment token, which needs none) of a request that adds a second
// factor.
func (s *Server) addingFactor(r *http.Request) (factorAdder, error) {
	tok, err := bearerToken(r)
	if err != nil {
		return factorAdder{}, err
	}
	var a factorAdder
	if isEnrolmentToken(tok) {
		a.enrolToken = tok
	} else if a.userID, err = s.mfaUser(r, false); err != nil {
		return factorAdder{}, err
	}
	var req passwordRequest
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &req); err != nil {
			return factorAdder{}, err
		}
	}
	if a.enrolToken == "" && req.Password == "" {
		return factorAdder{}, errPasswordRequired
	}
	a.password = req.Password
	return a, nil
}

func (s *Server) handleEnrollTOTP(w http.ResponseWriter, r *http.Request) {
	a, err := s.addingFactor(r)
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	var e mfa.TOTPEnrolment
	if a.enrolToken != "" {
		e, err = s.factors.EnrollForSignIn(r.Context(), a.enrolToken, s.meta(r))
		err = enrolmentTokenProblem(err)
	} else {
		e, err = s.factors.EnrollTOTP(r.Context(), a.userID, authority.Reauth{Password: a.password}, s.meta(r))
	}
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	noStore(w)
	writeJSON(w, http.StatusOK, totpEnrolResponse{Secret: e.Secret, OTPAuthURI: e.URI})
}

type recoveryCodesResponse struct {
	RecoveryCodes []string `json:"recoveryCodes"`
}

func (s *Server) handleConfirmTOTP(w http.ResponseWriter, r *http.Request) {
	uid, err := s.mfaUser(r, true)
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	code, err := decodeCode(r)
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	codes, err := s.factors.ConfirmTOTP(r.Context(), uid, code, s.meta(r))
	if err != nil {
		s.writeProblem(w, r, codeProblem(err))
		return
	}
	noStore(w)
	writeJSON(w, http.StatusOK, recoveryCodesResponse{RecoveryCodes: codes})
}

func (s *Server) handleRemoveTOTP(w http.ResponseWriter, r *http.Request) {
	uid, err := s.mfaUser(r, false)
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	code, err := decodeCode(r)
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	if err := s.factors.RemoveTOTP(r.Context(), uid, code, s.meta(r)); err != nil {
		s.writeProblem(w, r, codeProblem(err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleRegenerateRecoveryCodes(w http.ResponseWriter, r *http.Request) {
	uid, err := s.mfaUser(r, false)
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	code, err := decodeCode(r)
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	codes, err := s.factors.RegenerateRecoveryCodes(r.Context(), uid, code, s.meta(r))
	if err != nil {
		s.writeProblem(w, r, codeProblem(err))
		return
	}
	noStore(w)
	writeJSON(w, http.StatusOK, recoveryCodesResponse{RecoveryCodes: codes})
}

type factorsResponse struct {
	TOTP              bool `json:"totp"`
	RecoveryCodesLeft int  `json:"recoveryCodesLeft"`
	WebAuthn          int  `json:"webauthn"`
}

func (s *Server) handleFactors(w http.ResponseWriter, r *http.Request) {
	uid, err := s.mfaUser(r, false)
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	f, err := s.factors.Factors(r.Context(), uid)
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	noStore(w)
	writeJSON(w, http.StatusOK, factorsResponse{TOTP: f.TOTP, RecoveryCodesLeft: f.RecoveryCodes, WebAuthn: f.WebAuthn})
}

func (s *Server) handleResetFactors(w http.ResponseWriter, r *http.Request) {
	if err := s.factors.ResetFactors(r.Context(), mux.Vars(r)["id"], s.adminMeta(r)); err != nil {
		s.writeProblem(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
