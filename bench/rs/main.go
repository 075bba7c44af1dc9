package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/sigil-auth/sigil/verify"
)

func main() {
	mode := flag.String("mode", "verify", "verifier: verify, gojose or gooidc")
	issuer := flag.String("issuer", "", "the Sigil whose access tokens are accepted, e.g. http://127.0.0.1:8080")
	audience := flag.String("audience", "sigil", "the aud the tokens must carry")
	port := flag.Int("port", 0, "port on 127.0.0.1 (0: any free one)")
	flag.Parse()
	if *issuer == "" {
		log.Fatal("rs: -issuer is required")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	protect, err := newProtector(ctx, *mode, *issuer, *audience)
	if err != nil {
		log.Fatalf("rs: %v", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /protected", protect(http.HandlerFunc(protected)))
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		log.Fatalf("rs: %v", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	fmt.Printf("rs %s listening on http://%s\n", *mode, ln.Addr())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatalf("rs: %v", err)
	}
}

// subjectKey carries the subject from the hand-written middlewares.
type subjectKey struct{}

// protected is the protected handler: it answers the token's subject.
func protected(w http.ResponseWriter, r *http.Request) {
	sub, _ := r.Context().Value(subjectKey{}).(string)
	if c, ok := verify.ClaimsFromContext(r.Context()); ok {
		sub = c.Subject
	}
	if sub == "" {
		http.Error(w, "no subject", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = fmt.Fprintf(w, "{\"sub\":%q}\n", sub)
}

// accessClaims is the claims struct a service declares for go-jose and
// go-oidc.
type accessClaims struct {
	jwt.Claims
	ClientID string   `json:"client_id"`
	Scope    string   `json:"scope"`
	Email    string   `json:"email"`
	Roles    []string `json:"roles"`
}

func newProtector(ctx context.Context, mode, issuer, audience string) (func(http.Handler) http.Handler, error) {
	switch mode {
	case "verify":
		v, err := verify.New(ctx, issuer, verify.WithAudience(audience))
		if err != nil {
			return nil, err
		}
		return v.Middleware, nil
	case "gojose":
		return goJose(ctx, issuer, audience)
	case "gooidc":
		return goOIDC(ctx, issuer, audience)
	}
	return nil, fmt.Errorf("-mode %q: use verify, gojose or gooidc", mode)
}

// discoverJWKS reads the issuer's discovery document for its jwks_uri.
func discoverJWKS(ctx context.Context, issuer string) (string, error) {
	var doc struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := getJSON(ctx, strings.TrimRight(issuer, "/")+"/.well-known/openid-configuration", &doc); err != nil {
		return "", err
	}
	if doc.JWKSURI == "" {
		return "", errors.New("discovery names no jwks_uri")
	}
	return doc.JWKSURI, nil
}

func getJSON(ctx context.Context, url string, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", url, res.StatusCode)
	}
	return json.NewDecoder(res.Body).Decode(into)
}

func bearer(r *http.Request) (string, bool) {
	return strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
}

// goJose is what a service writes by hand with go-jose: the key set read
// once at start, each key usable only under its own alg.
func goJose(ctx context.Context, issuer, audience string) (func(http.Handler) http.Handler, error) {
	jwksURL, err := discoverJWKS(ctx, issuer)
	if err != nil {
		return nil, err
	}
	var set jose.JSONWebKeySet
	if err := getJSON(ctx, jwksURL, &set); err != nil {
		return nil, err
	}
	type key struct {
		jwk  jose.JSONWebKey
		algs []jose.SignatureAlgorithm
	}
	keys := map[string]key{}
	for _, k := range set.Keys {
		if k.Use == "sig" || k.Use == "" {
			keys[k.KeyID] = key{k, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(k.Algorithm)}}
		}
	}
	var all []jose.SignatureAlgorithm
	for _, k := range keys {
		all = append(all, k.algs...)
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			raw, ok := bearer(r)
			if !ok {
				http.Error(w, "no token", http.StatusUnauthorized)
				return
			}
			tok, err := jwt.ParseSigned(raw, all)
			if err != nil || len(tok.Headers) != 1 {
				http.Error(w, "malformed token", http.StatusUnauthorized)
				return
			}
			k, ok := keys[tok.Headers[0].KeyID]
			if !ok || tok.Headers[0].Algorithm != string(k.algs[0]) {
				http.Error(w, "unknown key", http.StatusUnauthorized)
				return
			}
			var c accessClaims
			if err := tok.Claims(k.jwk.Key, &c); err != nil {
				http.Error(w, "bad signature", http.StatusUnauthorized)
				return
			}
			if c.Expiry == nil || c.ValidateWithLeeway(jwt.Expected{
				Issuer: issuer, AnyAudience: jwt.Audience{audience}, Time: time.Now(),
			}, time.Minute) != nil {
				http.Error(w, "invalid claims", http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), subjectKey{}, c.Subject)))
		})
	}, nil
}

// goOIDC is coreos/go-oidc's verifier, as its documentation sets it up
// for a resource server.
func goOIDC(ctx context.Context, issuer, audience string) (func(http.Handler) http.Handler, error) {
	jwksURL, err := discoverJWKS(ctx, issuer)
	if err != nil {
		return nil, err
	}
	keySet := oidc.NewRemoteKeySet(ctx, jwksURL)
	verifier := oidc.NewVerifier(issuer, keySet, &oidc.Config{
		ClientID:             audience,
		SupportedSigningAlgs: []string{oidc.RS256, oidc.ES256, oidc.EdDSA},
	})
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			raw, ok := bearer(r)
			if !ok {
				http.Error(w, "no token", http.StatusUnauthorized)
				return
			}
			idt, err := verifier.Verify(r.Context(), raw)
			if err != nil {
				http.Error(w, "invalid token", http.StatusUnauthorized)
				return
			}
			var c accessClaims
			if err := idt.Claims(&c); err != nil {
				http.Error(w, "bad claims", http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), subjectKey{}, c.Subject)))
		})
	}, nil
}
