package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"log"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
)

func main() {
	issuer := flag.String("issuer", "http://127.0.0.1:8080", "Sigil's issuer URL, as in the tokens' iss")
	audience := flag.String("audience", "sigil", "the aud this service accepts")
	addr := flag.String("addr", "127.0.0.1:8001", "listen address")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	v, err := newVerifier(ctx, *issuer, *audience)
	cancel()
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("listening on http://%s", *addr)
	srv := &http.Server{Addr: *addr, Handler: routes(v), ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

// algorithms are the algs Sigil signs with. Each belongs to one key type
// (RSA, P-256, Ed25519), so a key can only verify its own alg.
var algorithms = []string{oidc.RS256, oidc.ES256, oidc.EdDSA}

// verifier checks Sigil access tokens.
type verifier struct {
	oidc *oidc.IDTokenVerifier
}

// newVerifier reads Sigil's discovery document and builds a go-oidc
// verifier on its JWKS (fetched on demand, cached, refetched for an
// unknown kid). ClientID is the audience: go-oidc checks that aud holds it.
func newVerifier(ctx context.Context, issuer, audience string) (*verifier, error) {
	p, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		return nil, err
	}
	return &verifier{oidc: p.Verifier(&oidc.Config{ClientID: audience, SupportedSigningAlgs: algorithms})}, nil
}

// claims are the access-token claims this service reads.
type claims struct {
	Sub   string   `json:"sub"`
	Email string   `json:"email"`
	Scope string   `json:"scope"`
	Roles []string `json:"roles"`
}

var errNotAccessToken = errors.New("not an access token (typ is not at+jwt)")

// verify checks signature, alg, iss, aud and exp with go-oidc, and the
// header typ at+jwt itself (go-oidc is made for ID tokens, typ JWT, and
// would accept one here).
func (v *verifier) verify(ctx context.Context, raw string) (*claims, error) {
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA})
	if err != nil {
		return nil, err
	}
	if typ, _ := jws.Signatures[0].Header.ExtraHeaders[jose.HeaderType].(string); !strings.EqualFold(typ, "at+jwt") {
		return nil, errNotAccessToken
	}
	tok, err := v.oidc.Verify(ctx, raw)
	if err != nil {
		return nil, err
	}
	var c claims
	if err := tok.Claims(&c); err != nil {
		return nil, err
	}
	return &c, nil
}

func routes(v *verifier) http.Handler {
	mux := http.NewServeMux()
	auth := func(next func(http.ResponseWriter, *http.Request, *claims)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || raw == "" {
				w.Header().Set("WWW-Authenticate", "Bearer")
				writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "a Bearer access token is required"})
				return
			}
			c, err := v.verify(r.Context(), raw)
			if err != nil {
				w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
				writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid token"})
				return
			}
			next(w, r, c)
		}
	}
	mux.HandleFunc("GET /notes", auth(func(w http.ResponseWriter, r *http.Request, c *claims) {
		writeJSON(w, http.StatusOK, map[string]string{"sub": c.Sub, "email": c.Email, "scope": c.Scope})
	}))
	mux.HandleFunc("DELETE /notes", auth(func(w http.ResponseWriter, r *http.Request, c *claims) {
		if !slices.Contains(c.Roles, "admin") {
			w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope"`)
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "the admin role is required"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]bool{"deleted": true})
	}))
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
