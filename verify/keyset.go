package verify

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// maxDocumentSize bounds the discovery document and the JWKS read from the
// authority.
const maxDocumentSize = 1 << 20

// minRSABits is the smallest RSA modulus accepted in a key set.
const minRSABits = 2048

// keySet is an immutable snapshot of the authority's published keys. The
// Verifier swaps whole snapshots atomically, so verifications read it
// without locks.
type keySet struct {
	keys      map[string]*publicKey // by kid
	etag      string                // of the JWKS answer, for If-None-Match
	refreshAt time.Time             // when the snapshot is due for a refresh
	// staleAt is when the keys stop verifying unless a fetch succeeds:
	// the last successful fetch plus the maximum key set age.
	staleAt time.Time
}

// publicKey is one verification key of the key set.
type publicKey struct {
	jwk jose.JSONWebKey
	// algs holds the single algorithm the key is published for. Only that
	// algorithm is accepted for tokens under the key, whatever the token's
	// own header says; the slice is built once and shared by every parse.
	algs []jose.SignatureAlgorithm
}

// fetch is one key set request, shared by every caller that waits for it.
type fetch struct {
	done chan struct{} // closed when the request has finished
	err  error         // set before done is closed
}

// lookup returns the key with the given kid. The fast path reads the
// current snapshot; a missing kid or an expired snapshot takes the slow
// path, which may refresh the key set.
func (v *Verifier) lookup(ctx context.Context, kid string) (*publicKey, error) {
	ks := v.keys.Load()
	if k := ks.keys[kid]; k != nil {
		if now := v.cfg.now(); now.Before(ks.refreshAt) && now.Before(ks.staleAt) {
			return k, nil
		}
	}
	return v.lookupSlow(ctx, kid)
}

// lookupSlow refreshes the key set when it is due, or when kid is unknown
// and the unknown-kid interval has passed since the last such refresh.
// Concurrent callers share one request. A caller stops waiting when its
// context ends; the request itself goes on for the others. Cached keys keep
// verifying when a refresh fails or takes longer than the caller's context.
func (v *Verifier) lookupSlow(ctx context.Context, kid string) (*publicKey, error) {
	v.mu.Lock()
	now := v.cfg.now()
	ks := v.keys.Load()
	k := ks.keys[kid]
	due := !now.Before(ks.refreshAt)
	if k != nil && !due {
		v.mu.Unlock()
		return k, nil
	}
	f := v.inflight
	if f == nil {
		switch {
		case due:
			f = v.startFetchLocked(ctx)
		case now.Sub(v.lastUnknownKidFetch) >= v.cfg.unknownKidInterval:
			v.lastUnknownKidFetch = now
			f = v.startFetchLocked(ctx)
		}
	}
	v.mu.Unlock()

	var err error
	if f != nil {
		select {
		case <-f.done:
			err = f.err
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	ks = v.keys.Load()
	if k := ks.keys[kid]; k != nil {
		if !v.cfg.now().Before(ks.staleAt) {
			return nil, &tokenError{kind: ErrUnknownKey, reason: "the key set could not be refreshed for longer than its maximum age", err: err}
		}
		return k, nil
	}
	return nil, &tokenError{kind: ErrUnknownKey, reason: "unknown signing key", err: err}
}

// startFetchLocked starts a key set request in its own goroutine and
// records it as the one in flight. The request keeps the values of ctx but
// not its cancellation, and is bounded by fetchTimeout. v.mu must be held.
func (v *Verifier) startFetchLocked(ctx context.Context) *fetch {
	f := &fetch{done: make(chan struct{})}
	v.inflight = f
	go func() {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
		defer cancel()
		f.err = v.refresh(fctx)
		v.mu.Lock()
		v.inflight = nil
		v.mu.Unlock()
		close(f.done)
	}()
	return f
}

// refresh fetches the key set and installs it. When the fetch fails, the
// cached keys stay in use and, if they were due, are trusted for another
// minimum refresh interval before the next attempt. Failures are logged at
// most once per minimum refresh interval.
func (v *Verifier) refresh(ctx context.Context) error {
	err := v.fetchKeys(ctx)
	now := v.cfg.now()
	v.mu.Lock()
	defer v.mu.Unlock()
	if err == nil {
		if v.failures > 0 {
			v.cfg.logger.Info("verify: key set refresh recovered", "jwks_uri", v.jwksURL, "failures", v.failures)
			v.failures = 0
			v.lastFailureLog = time.Time{}
		}
		return nil
	}
	if cur := v.keys.Load(); !now.Before(cur.refreshAt) {
		v.keys.Store(&keySet{keys: cur.keys, etag: cur.etag, refreshAt: now.Add(v.cfg.minRefresh), staleAt: cur.staleAt})
	}
	v.failures++
	if v.lastFailureLog.IsZero() || now.Sub(v.lastFailureLog) >= v.cfg.minRefresh {
		v.cfg.logger.Warn("verify: key set refresh failed; cached keys stay in use",
			"jwks_uri", v.jwksURL, "failures", v.failures, "err", err)
		v.lastFailureLog = now
	}
	return err
}

// fetchKeys requests the key set, revalidating the cached one with its
// ETag, and installs the result as a new snapshot.
func (v *Verifier) fetchKeys(ctx context.Context) error {
	prev := v.keys.Load()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.jwksURL, nil)
	if err != nil {
		return fmt.Errorf("fetch key set: %w", err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	if prev.etag != "" {
		req.Header.Set("If-None-Match", prev.etag)
	}
	resp, err := v.cfg.client.Do(req)
	if err != nil {
		return fmt.Errorf("fetch key set: %w", err)
	}
	defer resp.Body.Close()

	now := v.cfg.now()
	next := &keySet{
		keys:      prev.keys,
		etag:      prev.etag,
		refreshAt: now.Add(v.lifetime(resp.Header)),
		staleAt:   now.Add(v.cfg.maxKeySetAge),
	}
	if etag := resp.Header.Get("ETag"); etag != "" {
		next.etag = etag
	}
	switch resp.StatusCode {
	case http.StatusNotModified:
		if prev.etag == "" {
			return errors.New("fetch key set: 304 Not Modified to an unconditional request")
		}
	case http.StatusOK:
		keys, err := v.parseKeySet(io.LimitReader(resp.Body, maxDocumentSize))
		if err != nil {
			return fmt.Errorf("fetch key set: %w", err)
		}
		next.keys = keys
	default:
		return fmt.Errorf("fetch key set: unexpected status %s", resp.Status)
	}
	v.keys.Store(next)
	return nil
}

// lifetime is how long a key set answer is trusted: its Cache-Control
// max-age less its Age, clamped to the configured refresh bounds.
func (v *Verifier) lifetime(h http.Header) time.Duration {
	d, ok := freshness(h)
	if !ok {
		d = defaultKeySetLifetime
	}
	return min(max(d, v.cfg.minRefresh), v.cfg.maxRefresh)
}

// freshness reads the freshness lifetime of an HTTP answer from its
// Cache-Control and Age headers. It reports false when there is no
// max-age; no-cache and no-store count as a lifetime of zero.
func freshness(h http.Header) (time.Duration, bool) {
	var (
		maxAge int64
		found  bool
	)
	for _, line := range h.Values("Cache-Control") {
		for directive := range strings.SplitSeq(line, ",") {
			name, value, _ := strings.Cut(strings.TrimSpace(directive), "=")
			switch strings.ToLower(name) {
			case "no-cache", "no-store":
				return 0, true
			case "max-age":
				n, err := strconv.ParseInt(strings.Trim(value, `"`), 10, 64)
				if err == nil && n >= 0 {
					maxAge, found = n, true
				}
			}
		}
	}
	if !found {
		return 0, false
	}
	if age, err := strconv.ParseInt(h.Get("Age"), 10, 64); err == nil && age > 0 {
		maxAge = max(maxAge-age, 0)
	}
	const maxSeconds = int64(1<<63-1) / int64(time.Second)
	return time.Duration(min(maxAge, maxSeconds)) * time.Second, true
}

// parseKeySet decodes a JWKS. Keys that cannot verify Sigil tokens (private
// or symmetric keys, keys for encryption, keys without a kid or an
// algorithm that fits them) are skipped with a warning rather than failing
// the whole set, so one odd key does not hide the others.
func (v *Verifier) parseKeySet(r io.Reader) (map[string]*publicKey, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.NewDecoder(r).Decode(&doc); err != nil {
		return nil, fmt.Errorf("decode JWKS: %w", err)
	}
	keys := make(map[string]*publicKey, len(doc.Keys))
	for i, raw := range doc.Keys {
		var jwk jose.JSONWebKey
		if err := jwk.UnmarshalJSON(raw); err != nil {
			v.cfg.logger.Warn("verify: skipping malformed key in JWKS", "index", i, "err", err)
			continue
		}
		if reason := unusable(&jwk); reason != "" {
			v.cfg.logger.Warn("verify: skipping key in JWKS", "kid", jwk.KeyID, "reason", reason)
			continue
		}
		if _, dup := keys[jwk.KeyID]; dup {
			v.cfg.logger.Warn("verify: skipping key with duplicate kid in JWKS", "kid", jwk.KeyID)
			continue
		}
		keys[jwk.KeyID] = &publicKey{
			jwk:  jwk,
			algs: []jose.SignatureAlgorithm{jose.SignatureAlgorithm(jwk.Algorithm)},
		}
	}
	return keys, nil
}

// unusable tells why a published key cannot verify tokens, or returns ""
// when it can.
func unusable(k *jose.JSONWebKey) string {
	switch {
	case k.KeyID == "":
		return "no kid"
	case k.Use != "" && k.Use != "sig":
		return "use is not sig"
	case !k.IsPublic():
		return "not a public key"
	case !k.Valid():
		return "invalid key"
	case k.Algorithm == "":
		return "no alg"
	case !algorithmFits(jose.SignatureAlgorithm(k.Algorithm), k.Key):
		return "alg does not fit the key"
	}
	return ""
}

// algorithmFits reports whether alg is an asymmetric signature algorithm
// that goes with the public key: RSA of at least 2048 bits for RS* and PS*,
// the matching curve for ES*, Ed25519 for EdDSA.
func algorithmFits(alg jose.SignatureAlgorithm, key any) bool {
	switch k := key.(type) {
	case *rsa.PublicKey:
		switch alg {
		case jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512:
			return k.N.BitLen() >= minRSABits
		}
	case *ecdsa.PublicKey:
		switch alg {
		case jose.ES256:
			return k.Curve == elliptic.P256()
		case jose.ES384:
			return k.Curve == elliptic.P384()
		case jose.ES512:
			return k.Curve == elliptic.P521()
		}
	case ed25519.PublicKey:
		return alg == jose.EdDSA
	}
	return false
}

// discover reads the issuer's OpenID discovery document and returns its
// jwks_uri, after checking that the document names the same issuer.
func discover(ctx context.Context, client *http.Client, issuer string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	u := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", fmt.Errorf("verify: discovery: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("verify: discovery: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("verify: discovery: %s answered %s", u, resp.Status)
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxDocumentSize)).Decode(&doc); err != nil {
		return "", fmt.Errorf("verify: discovery: decode %s: %w", u, err)
	}
	if doc.Issuer != issuer {
		return "", fmt.Errorf("verify: discovery: document names issuer %q, want %q", doc.Issuer, issuer)
	}
	if doc.JWKSURI == "" {
		return "", fmt.Errorf("verify: discovery: %s has no jwks_uri", u)
	}
	return doc.JWKSURI, nil
}
