package inspect

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/keys"
)

// Problem codes of a token inspection: why a token does not verify.
const (
	ProblemMalformed     = "malformed"
	ProblemAlgNotAllowed = "alg_not_allowed"
	ProblemNoKID         = "no_kid"
	ProblemWrongType     = "wrong_type"
	ProblemUnknownKID    = "unknown_kid"
	ProblemRevokedKID    = "revoked_kid"
	ProblemRemovedKID    = "removed_kid"
	ProblemAlgMismatch   = "alg_mismatch"
	ProblemBadSignature  = "bad_signature"
	ProblemExpired       = "expired"
	ProblemNotYetValid   = "not_yet_valid"
	ProblemWrongIssuer   = "wrong_issuer"
	ProblemWrongAudience = "wrong_audience"
	ProblemMissingClaims = "missing_claims"
	ProblemRevokedJTI    = "revoked_jti"
)

// InspectionProblem is one reason a token fails to verify, as a stable
// code and a sentence for people.
type InspectionProblem struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Inspection is what Inspect learns about a token: its decoded header and
// claims (unverified, shown as sent), the key it names, and every reason
// it fails to verify here. Valid means no problem: Verify would accept it
// for the audience checked.
type Inspection struct {
	Header   map[string]any      `json:"header"`
	Claims   map[string]any      `json:"claims"`
	Valid    bool                `json:"valid"`
	Problems []InspectionProblem `json:"problems"`
	// Key is the state of the key named by kid here: pending, active,
	// retired, removed, revoked, or "" for a kid this authority never had.
	KeyState  string     `json:"keyState,omitempty"`
	IssuedAt  *time.Time `json:"issuedAt,omitempty"`
	NotBefore *time.Time `json:"notBefore,omitempty"`
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
}

// Inspect decodes a compact JWS and explains exactly why it would not
// verify here: every check of Verify is made separately (signature against
// the published key named by kid, typ, issuer, audience, times with
// authority.Leeway, the jti deny list) and each failure is reported, not only the
// first. audience, when set, is the audience checked; otherwise the
// configured default or any client's audience will do. The token itself is
// never logged nor stored.
//
// Every inspection is audited (authority.EventTokenInspected) with meta's actor
// and what the token names (its jti, sub and client_id, as sent, since
// an inspected token need not verify), never the token itself.
func (s *Service) Inspect(ctx context.Context, raw, audience string, meta authority.Meta) (Inspection, error) {
	in, err := s.inspect(ctx, raw, audience)
	detail := "token inspected: " + inspectedNames(in.Claims)
	if err != nil {
		detail = "token inspection refused: " + err.Error()
	} else if !in.Valid {
		detail += " (does not verify)"
	}
	s.core.Audit(ctx, authority.Event{Type: authority.EventTokenInspected, Actor: meta.Actor, IP: meta.IP, Detail: detail})
	return in, err
}

// inspectedNames describes what an inspected token's claims name, each
// value quoted and cut short: the claims are whatever was sent.
func inspectedNames(claims map[string]any) string {
	var parts []string
	for _, k := range []string{"jti", "sub", "client_id"} {
		v, ok := claims[k].(string)
		if !ok {
			continue
		}
		if len(v) > 64 {
			v = v[:64] + "…"
		}
		parts = append(parts, k+" "+strconv.QuoteToASCII(v))
	}
	if len(parts) == 0 {
		return "no jti, sub or client_id"
	}
	return strings.Join(parts, ", ")
}

func (s *Service) inspect(ctx context.Context, raw, audience string) (Inspection, error) {
	raw = strings.TrimSpace(raw)
	in := Inspection{Problems: []InspectionProblem{}}
	add := func(code, format string, args ...any) {
		in.Problems = append(in.Problems, InspectionProblem{Code: code, Message: fmt.Sprintf(format, args...)})
	}
	if raw == "" {
		return in, invalid("token", "is required")
	}
	if len(raw) > 16<<10 {
		return in, invalid("token", "is longer than any token this authority issues (16 KiB)")
	}
	if strings.IndexFunc(raw, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.')
	}) >= 0 {
		return in, invalid("token", "is not a JWT: only base64url characters and dots may appear in one")
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		add(ProblemMalformed, "A JWT has three parts separated by dots; this has %d.", len(parts))
		return in, nil
	}
	if err := decodeSegment(parts[0], &in.Header); err != nil {
		add(ProblemMalformed, "The header is not base64url-encoded JSON.")
		return in, nil
	}
	if err := decodeSegment(parts[1], &in.Claims); err != nil {
		add(ProblemMalformed, "The claims are not base64url-encoded JSON.")
	}
	s.inspectSignature(raw, &in, add)
	if in.Claims != nil {
		s.inspectClaims(ctx, &in, audience, add)
	}
	in.Valid = len(in.Problems) == 0
	return in, nil
}

// inspectSignature checks the header and the signature.
func (s *Service) inspectSignature(raw string, in *Inspection, add func(code, format string, args ...any)) {
	alg, _ := in.Header["alg"].(string)
	kid, _ := in.Header["kid"].(string)
	typ, _ := in.Header["typ"].(string)
	allowed := false
	for _, a := range authority.SignatureAlgorithms() {
		if string(a) == alg {
			allowed = true
		}
	}
	if !allowed {
		add(ProblemAlgNotAllowed, "The header's alg %q is not one this authority signs with (RS256, EdDSA, ES256); none and HMAC are always refused.", alg)
	}
	if !strings.EqualFold(typ, "at+jwt") && !strings.EqualFold(typ, "application/at+jwt") {
		add(ProblemWrongType, "The header's typ is %q, not at+jwt: this is not an access token (an ID token has typ JWT).", typ)
	}
	if kid == "" {
		add(ProblemNoKID, "The header names no kid, so no key can be chosen to check it.")
		return
	}
	snap := s.ring.Load()
	if snap == nil {
		return
	}
	var rec *keys.Record
	for _, r := range snap.Records() {
		if r.KID == kid {
			rec = &r
			break
		}
	}
	key, published := snap.Key(kid)
	switch {
	case rec == nil:
		add(ProblemUnknownKID, "The kid %q names no key of this authority: the token was signed elsewhere or by a key deleted long ago.", kid)
		return
	case rec.State == keys.Revoked:
		in.KeyState = string(keys.Revoked)
		add(ProblemRevokedKID, "The key %s was revoked at %s: every token it signed is rejected.", kid, rec.RevokedAt.UTC().Format(time.RFC3339))
		return
	case !published:
		in.KeyState = string(keys.Removed)
		add(ProblemRemovedKID, "The key %s was retired and left the JWKS at %s, after every token it signed had expired.", kid, rec.ExpiresAt.UTC().Format(time.RFC3339))
		return
	}
	in.KeyState = string(rec.State)
	if alg != key.Algorithm {
		if allowed {
			add(ProblemAlgMismatch, "The header's alg %s is not the alg of key %s (%s).", alg, kid, key.Algorithm)
		}
		return
	}
	jws, err := jose.ParseSignedCompact(raw, authority.SignatureAlgorithms())
	if err != nil || len(jws.Signatures) != 1 {
		add(ProblemMalformed, "The token is not a compact JWS with one signature.")
		return
	}
	if _, err := jws.Verify(key); err != nil {
		add(ProblemBadSignature, "The signature does not match key %s: the token was altered after signing, or signed by another key with the same kid.", kid)
	}
}

// inspectClaims checks the claims as Verify does.
func (s *Service) inspectClaims(ctx context.Context, in *Inspection, audience string, add func(code, format string, args ...any)) {
	var c authority.Claims
	b, _ := json.Marshal(in.Claims)
	if err := json.Unmarshal(b, &c); err != nil {
		add(ProblemMalformed, "A registered claim has the wrong type (exp, nbf and iat are numbers, aud a string or an array).")
		return
	}
	at := func(sec int64) *time.Time {
		if sec == 0 {
			return nil
		}
		t := time.Unix(sec, 0).UTC()
		return &t
	}
	in.IssuedAt, in.NotBefore, in.ExpiresAt = at(c.IssuedAt), at(c.NotBefore), at(c.Expiry)
	now := s.core.Now()
	if c.Issuer != s.core.Config().Issuer {
		add(ProblemWrongIssuer, "The issuer is %q; this authority is %q.", c.Issuer, s.core.Config().Issuer)
	}
	if ok, want := s.audienceAccepted(ctx, c.Audience, audience); !ok {
		add(ProblemWrongAudience, "The audience %v does not contain %s.", []string(c.Audience), want)
	}
	switch {
	case c.Expiry == 0:
		add(ProblemMissingClaims, "The token has no exp claim.")
	case now.After(time.Unix(c.Expiry, 0).Add(authority.Leeway)):
		add(ProblemExpired, "The token expired at %s (%s ago, beyond the %s leeway).",
			time.Unix(c.Expiry, 0).UTC().Format(time.RFC3339), now.Sub(time.Unix(c.Expiry, 0)).Round(time.Second), authority.Leeway)
	}
	for _, nb := range []struct {
		name string
		sec  int64
	}{{"nbf", c.NotBefore}, {"iat", c.IssuedAt}} {
		if now.Add(authority.Leeway).Before(time.Unix(nb.sec, 0)) {
			add(ProblemNotYetValid, "The token is not valid yet: %s is %s, %s from now.", nb.name,
				time.Unix(nb.sec, 0).UTC().Format(time.RFC3339), time.Unix(nb.sec, 0).Sub(now).Round(time.Second))
			break
		}
	}
	if c.Subject == "" || c.ID == "" {
		add(ProblemMissingClaims, "The token lacks a sub or a jti claim.")
	} else if denied, err := s.core.Denied(ctx, &c); err != nil {
		add(ProblemRevokedJTI, "Whether the token was revoked cannot be told: %v.", err)
	} else if denied {
		add(ProblemRevokedJTI, "The token (jti %s, session %s) was revoked: by itself at /oauth2/revoke, with its session (logout, a reused refresh token), or with its client.", c.ID, c.SessionID)
	}
}

// audienceAccepted reports whether aud holds audience, or, with none
// given, the default audience or one of a client's; want describes what
// was looked for.
func (s *Service) audienceAccepted(ctx context.Context, aud authority.Audience, audience string) (bool, string) {
	if audience != "" {
		return aud.Contains(audience), fmt.Sprintf("%q", audience)
	}
	if aud.Contains(s.core.Config().Audience) {
		return true, ""
	}
	clients, err := s.core.Clients(ctx)
	if err == nil {
		for _, cl := range clients {
			if cl.Audience != "" && aud.Contains(cl.Audience) {
				return true, ""
			}
		}
	}
	return false, fmt.Sprintf("the default audience %q nor any client's audience", s.core.Config().Audience)
}

// decodeSegment decodes one base64url part of a compact JWS into a JSON
// object, keeping numbers exact.
func decodeSegment(seg string, v *map[string]any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if *v == nil {
		return fmt.Errorf("not an object")
	}
	return nil
}
