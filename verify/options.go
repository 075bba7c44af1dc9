package verify

import (
	"errors"
	"log/slog"
	"net/http"
	"time"
)

// Defaults of a Verifier, each changed by the option of the same name.
const (
	DefaultLeeway             = 60 * time.Second
	DefaultMinRefreshInterval = 5 * time.Second
	DefaultMaxRefreshInterval = time.Hour
	DefaultUnknownKidInterval = 10 * time.Second
	DefaultMaxKeySetAge       = 24 * time.Hour
)

const (
	// defaultKeySetLifetime applies when the JWKS answer has no max-age.
	defaultKeySetLifetime = 5 * time.Minute

	// fetchTimeout bounds one JWKS or discovery request. A shared fetch
	// runs under its own context with this timeout, so that one caller
	// giving up does not cancel it for the others waiting on it.
	fetchTimeout = 10 * time.Second
)

// An Option configures a Verifier built by [New] or [NewFromJWKS].
type Option func(*config)

type config struct {
	audiences          []string
	anyAudience        bool
	scopes             []string
	roles              []string
	leeway             time.Duration
	client             *http.Client
	minRefresh         time.Duration
	maxRefresh         time.Duration
	maxKeySetAge       time.Duration
	unknownKidInterval time.Duration
	logger             *slog.Logger
	now                func() time.Time
	realm              string
	resource           string
	resourceName       string
}

func newConfig(issuer string, opts []Option) (config, error) {
	c := config{
		leeway:             DefaultLeeway,
		client:             &http.Client{Timeout: fetchTimeout},
		minRefresh:         DefaultMinRefreshInterval,
		maxRefresh:         DefaultMaxRefreshInterval,
		maxKeySetAge:       DefaultMaxKeySetAge,
		unknownKidInterval: DefaultUnknownKidInterval,
		logger:             slog.Default(),
		now:                time.Now,
		realm:              issuer,
	}
	for _, opt := range opts {
		opt(&c)
	}
	if c.resource != "" && len(c.audiences) == 0 && !c.anyAudience {
		c.audiences = []string{c.resource}
	}
	switch {
	case issuer == "":
		return c, errors.New("verify: issuer is empty")
	case len(c.audiences) == 0 && !c.anyAudience:
		return c, errors.New("verify: no audience: pass WithAudience with the aud this service accepts, or WithResource with its resource identifier (or WithAnyAudience to accept tokens minted for any service)")
	case c.leeway < 0:
		return c, errors.New("verify: leeway is negative")
	case c.minRefresh <= 0:
		return c, errors.New("verify: minimum refresh interval must be positive")
	case c.maxRefresh < c.minRefresh:
		return c, errors.New("verify: maximum refresh interval is below the minimum")
	case c.maxKeySetAge < c.maxRefresh:
		return c, errors.New("verify: maximum key set age is below the maximum refresh interval")
	case c.unknownKidInterval < 0:
		return c, errors.New("verify: unknown-kid interval is negative")
	case c.client == nil:
		return c, errors.New("verify: HTTP client is nil")
	case c.logger == nil:
		return c, errors.New("verify: logger is nil")
	case c.now == nil:
		return c, errors.New("verify: clock is nil")
	}
	return c, nil
}

// WithAudience makes the Verifier accept only tokens whose aud contains at
// least one of the given audiences. [New] and [NewFromJWKS] require it (or
// [WithAnyAudience]): a resource server that checked no audience would
// accept tokens minted for every other service of the same authority. A
// later call replaces the audiences of an earlier one, and an earlier
// WithAnyAudience.
func WithAudience(aud ...string) Option {
	return func(c *config) { c.audiences, c.anyAudience = aud, false }
}

// WithAnyAudience makes the Verifier accept tokens whatever their aud: the
// rare service that accepts tokens minted for any other (a gateway that
// checks audiences itself, say). It must be asked for explicitly; it
// replaces an earlier WithAudience.
func WithAnyAudience() Option {
	return func(c *config) { c.audiences, c.anyAudience = nil, true }
}

// WithRequiredScopes makes the Verifier reject, with
// [ErrInsufficientScope], tokens whose scope claim lacks any of the given
// scopes.
func WithRequiredScopes(scopes ...string) Option {
	return func(c *config) { c.scopes = scopes }
}

// WithRequiredRoles makes the Verifier reject, with [ErrInsufficientScope],
// tokens whose roles claim lacks any of the given roles.
func WithRequiredRoles(roles ...string) Option {
	return func(c *config) { c.roles = roles }
}

// WithLeeway sets the clock skew tolerated when checking exp, nbf and iat.
// The default is [DefaultLeeway].
func WithLeeway(d time.Duration) Option {
	return func(c *config) { c.leeway = d }
}

// WithHTTPClient sets the client used for discovery and key set requests.
// The default has a 10-second timeout.
func WithHTTPClient(client *http.Client) Option {
	return func(c *config) { c.client = client }
}

// WithMinRefreshInterval sets the shortest time a fetched key set is
// trusted, whatever its Cache-Control max-age says: the floor under the
// authority's max-age, which otherwise governs (a revalidation is a cheap
// 304, so a short max-age costs little and lets a revoked key stop
// verifying quickly). It is also how long the Verifier waits before
// retrying a failed refresh, and how often at most it logs refresh
// failures. The default is [DefaultMinRefreshInterval] (5 s); it must be
// positive.
func WithMinRefreshInterval(d time.Duration) Option {
	return func(c *config) { c.minRefresh = d }
}

// WithMaxRefreshInterval sets the longest time a fetched key set is trusted
// before it is fetched again, whatever its Cache-Control max-age says. The
// default is [DefaultMaxRefreshInterval].
func WithMaxRefreshInterval(d time.Duration) Option {
	return func(c *config) { c.maxRefresh = d }
}

// WithMaxKeySetAge sets how long cached keys keep verifying while the
// authority cannot be reached: once the last successful fetch or
// revalidation of the key set is older than d, every token is refused
// with [ErrUnknownKey] until a refresh succeeds, rather than trusting
// keys the authority may have revoked meanwhile. The default is
// [DefaultMaxKeySetAge] (24 h); it may not be below the maximum refresh
// interval.
func WithMaxKeySetAge(d time.Duration) Option {
	return func(c *config) { c.maxKeySetAge = d }
}

// WithUnknownKidInterval sets how often at most a token whose kid is not in
// the cached key set makes the Verifier fetch the key set again. The limit
// keeps made-up kids from turning into a flood of requests to the
// authority. The default is [DefaultUnknownKidInterval].
func WithUnknownKidInterval(d time.Duration) Option {
	return func(c *config) { c.unknownKidInterval = d }
}

// WithLogger sets the logger that reports key set refreshes and their
// failures. The default is [slog.Default].
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// WithClock sets the function that tells the current time, for token
// expiry and key set freshness. Tests use it to move time forward; the
// default is [time.Now].
func WithClock(now func() time.Time) Option {
	return func(c *config) { c.now = now }
}

// WithRealm sets the realm that [Verifier.Middleware] names in its
// WWW-Authenticate challenges. The default is the issuer URL.
func WithRealm(realm string) Option {
	return func(c *config) { c.realm = realm }
}
