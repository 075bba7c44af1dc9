package upstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/keys"
)

// Upstream is a registered identity provider. SealedSecret is the client
// secret sealed with the key-encryption key; it is never shown.
type Upstream struct {
	ID           string
	Name         string
	Type         string
	Issuer       string
	ClientID     string
	SealedSecret string
	Scopes       []string
	Linking      string
	CreatedAt    time.Time
}

// The upstream types and linking modes.
const (
	TypeOIDC   = "oidc"
	TypeGitHub = "github"

	// LinkingNone never links an existing account without its password.
	LinkingNone = "none"
	// LinkingVerifiedEmail links an existing account at once when the
	// upstream and the account both say the email is verified.
	LinkingVerifiedEmail = "verified-email"
)

// Identity is a link between an upstream's subject and a Sigil user.
type Identity struct {
	UpstreamID string
	Subject    string
	UserID     string
	// Email is the upstream's email when the identity was linked.
	Email     string
	CreatedAt time.Time
}

// Claims are what an upstream vouches for after a sign-in.
type Claims struct {
	Subject       string
	Email         string
	EmailVerified bool
	Name          string
}

// Connector speaks one upstream's protocol for one sign-in.
type Connector interface {
	// AuthURL is where the browser goes to sign in at the upstream.
	// challenge is the PKCE S256 challenge of the verifier. fresh asks
	// the upstream for a new sign-in, not one its session answers (for
	// OpenID Connect, prompt=login and max_age=0), where it can.
	AuthURL(state, nonce, challenge string, fresh bool) string
	// Finish redeems the code of the callback with the PKCE verifier,
	// checks what the upstream answers (for OpenID Connect, the ID
	// token's signature, iss, aud, exp and nonce) and returns the
	// identity. iss is the callback's RFC 9207 iss parameter, "" when
	// the upstream sent none. maxAge, when not zero, is how old the
	// sign-in at the upstream may be: an upstream that says when the
	// user signed in (OpenID Connect's auth_time) must say so, and an
	// older one is ErrNotFresh; one that cannot say ignores it.
	Finish(ctx context.Context, code, iss, verifier, nonce string, maxAge time.Duration) (Claims, error)
}

// Opener builds the connector of an upstream of one type: secret is its
// client secret, redirectURI Sigil's callback for it. An OpenID
// Connect opener reads the upstream's discovery document (ctx bounds
// it), again when fresh is set: a sign-in that starts must see an
// upstream that is down before the browser is sent there.
type Opener func(ctx context.Context, u Upstream, secret, redirectURI string, fresh bool) (Connector, error)

// Pending is a sign-in in flight: KindState waits for the upstream's
// callback, KindLink for the existing account's password. Hash is the
// SHA-256 of the value the browser holds in the URL or form (the state,
// or the link ticket); BrowserHash the SHA-256 of the browser's cookie,
// which for a state is also the PKCE verifier.
type Pending struct {
	Hash          string
	Kind          string
	UpstreamID    string
	BrowserHash   string
	Nonce         string
	Authz         string
	Subject       string
	Email         string
	EmailVerified bool
	UserID        string
	ExpiresAt     time.Time
	// Fresh: the sign-in is a re-authentication (the browser was
	// signed in already), which the upstream must make a new sign-in.
	Fresh bool
}

// The kinds of pending record.
const (
	KindState = "state"
	KindLink  = "link"
)

// Store keeps upstreams, identities and pending sign-ins. Package store
// satisfies it.
type Store interface {
	// CreateUpstream returns ErrUpstreamTaken when the id is taken.
	CreateUpstream(ctx context.Context, u Upstream) error
	// UpdateUpstream and DeleteUpstream return authority.ErrNotFound for
	// no such upstream; deleting one deletes its identities.
	UpdateUpstream(ctx context.Context, u Upstream) error
	DeleteUpstream(ctx context.Context, id string) error
	// UpstreamByID returns authority.ErrNotFound for none.
	UpstreamByID(ctx context.Context, id string) (Upstream, error)
	// Upstreams lists every upstream, oldest first.
	Upstreams(ctx context.Context) ([]Upstream, error)
	// CountIdentities counts the identities linked through an upstream.
	CountIdentities(ctx context.Context, upstreamID string) (IdentityCount, error)

	// IdentityBySubject returns authority.ErrNotFound for none.
	IdentityBySubject(ctx context.Context, upstreamID, subject string) (Identity, error)
	// IdentitiesOf lists a user's identities, oldest first.
	IdentitiesOf(ctx context.Context, userID string) ([]Identity, error)
	// LinkIdentity returns ErrIdentityTaken when (upstream, subject) is
	// linked already.
	LinkIdentity(ctx context.Context, id Identity) error
	// UnlinkIdentity removes the user's identity (upstream, subject):
	// authority.ErrNotFound when the user has no such identity,
	// ErrLastSignIn (nothing removed) when the user has no password and
	// no other identity. The check and the removal are one transaction.
	UnlinkIdentity(ctx context.Context, userID, upstreamID, subject string) error
	// CreateLinkedUser creates u (its email verified when verified) and
	// links id to it, in one transaction: authority.ErrEmailTaken when
	// the email is registered.
	CreateLinkedUser(ctx context.Context, u authority.User, verified bool, id Identity) error
	// UserByEmail returns authority.ErrNotFound for no such user.
	UserByEmail(ctx context.Context, email string) (authority.User, error)

	// PutPending stores p; TakePending removes and returns the record of
	// hash and kind (authority.ErrNotFound for none), so that it is
	// spent once whatever the caller decides next.
	PutPending(ctx context.Context, p Pending) error
	TakePending(ctx context.Context, hash, kind string) (Pending, error)
}

// Errors of the admin operations.
var (
	ErrUpstreamTaken = errors.New("an upstream with this id is already registered")
	ErrIdentityTaken = errors.New("this upstream identity is already linked")
	// ErrLastSignIn: unlinking the identity would leave its user no way
	// to sign in (no password, no other identity).
	ErrLastSignIn = errors.New("this is the account's last way to sign in")
	// ErrUnsupportedType is an upstream of a type this server was built
	// without a connector for (no Opener in Config.Openers).
	ErrUnsupportedType = errors.New("no connector for this upstream type")
)

// Config is what the service needs.
type Config struct {
	Store Store
	Core  *authority.Service
	// Sealer seals client secrets; without it no upstream can be created.
	Sealer *keys.Sealer
	// Openers build connectors by upstream type.
	Openers map[string]Opener
	// Issuer is Sigil's own issuer: the callback is under it.
	Issuer string
	// Timeout bounds every call to an upstream (default 5 s).
	Timeout time.Duration
	Now     func() time.Time
	Log     *slog.Logger
	// Observe, when set, is told the outcome of each sign-in through
	// a registered upstream (one of Outcomes()).
	Observe func(upstreamID, outcome string)
	// ObserveCall, when set, is told how long each call to an upstream
	// took: the fresh open when a sign-in starts (an OpenID Provider's
	// discovery), the connector's Finish at the callback (the code
	// exchange and what follows it).
	ObserveCall func(upstreamID string, d time.Duration)
}

// Service manages upstreams and signs users in through them.
type Service struct {
	cfg    Config
	listed listed
}

// DefaultTimeout bounds every call to an upstream unless Config.Timeout
// says otherwise.
const DefaultTimeout = 5 * time.Second

// New builds the service.
func New(cfg Config) *Service {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Observe == nil {
		cfg.Observe = func(string, string) {}
	}
	if cfg.ObserveCall == nil {
		cfg.ObserveCall = func(string, time.Duration) {}
	}
	return &Service{cfg: cfg}
}

// NewUpstream is what an administrator registers or replaces.
type NewUpstream struct {
	ID, Name, Type, Issuer, ClientID, ClientSecret string
	Scopes                                         []string
	Linking                                        string
}

var upstreamID = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// ValidID reports whether id can name an upstream: lower-case letters,
// digits and hyphens, as it appears in the callback URL and the idp claim.
func ValidID(id string) bool { return upstreamID.MatchString(id) }

func sealID(id string) string { return "upstream-secret:" + id }

// CallbackURL is Sigil's redirect URI at the upstream id.
func (s *Service) CallbackURL(id string) string {
	return strings.TrimRight(s.cfg.Issuer, "/") + "/login/upstream/" + id + "/callback"
}

func (s *Service) validate(in *NewUpstream) error {
	bad := func(field, reason string) error { return &authority.ValidationError{Field: field, Reason: reason} }
	in.Name = strings.TrimSpace(in.Name)
	in.Issuer = strings.TrimSpace(in.Issuer)
	if in.Linking == "" {
		in.Linking = LinkingNone
	}
	switch {
	case !ValidID(in.ID):
		return bad("id", "must be 1 to 63 lower-case letters, digits or hyphens")
	case in.Name == "" || !utf8.ValidString(in.Name) || utf8.RuneCountInString(in.Name) > 100:
		return bad("name", "is required, at most 100 characters")
	case strings.ContainsFunc(in.Name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return bad("name", "contains control characters")
	case in.Type != TypeOIDC && in.Type != TypeGitHub:
		return bad("type", "must be oidc or github")
	case in.ClientID == "" || len(in.ClientID) > 500:
		return bad("clientId", "is required")
	case in.ClientSecret == "" || len(in.ClientSecret) > 2000:
		return bad("clientSecret", "is required")
	case in.Linking != LinkingNone && in.Linking != LinkingVerifiedEmail:
		return bad("linking", "must be none or verified-email")
	}
	if in.Type == TypeGitHub {
		// GitHub's issuer is its web base: github.com, or a GitHub
		// Enterprise Server's own URL.
		if in.Issuer == "" {
			in.Issuer = GitHubDotCom
		}
		in.Issuer = strings.TrimRight(in.Issuer, "/")
	}
	u, err := url.Parse(in.Issuer)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" ||
		(u.Scheme != "https" && !(u.Scheme == "http" && loopback(u.Hostname()))) {
		return bad("issuer", "must be an https URL (http only on a loopback host)")
	}
	if len(in.Scopes) == 0 {
		in.Scopes = DefaultScopes(in.Type)
	}
	for _, sc := range in.Scopes {
		if sc == "" || len(sc) > 100 || strings.ContainsFunc(sc, func(r rune) bool { return r <= ' ' || r > '~' || r == '"' || r == '\\' }) {
			return bad("scopes", "must be printable words")
		}
	}
	// GitHub is no OpenID Provider: openid means nothing to it.
	if in.Type == TypeOIDC && !slices.Contains(in.Scopes, "openid") {
		in.Scopes = append([]string{"openid"}, in.Scopes...)
	}
	return nil
}

// GitHubDotCom is the issuer of an upstream of type github registered
// without one.
const GitHubDotCom = "https://github.com"

// DefaultScopes are the scopes asked of an upstream of type typ
// registered without any: for GitHub its profile and its email
// addresses (with whether GitHub verified them), for OpenID Connect the
// ID token with email and profile.
func DefaultScopes(typ string) []string {
	if typ == TypeGitHub {
		return []string{"read:user", "user:email"}
	}
	return []string{"openid", "email", "profile"}
}

func loopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

func (s *Service) record(in NewUpstream, created time.Time) (Upstream, error) {
	if s.cfg.Sealer == nil {
		return Upstream{}, errors.New("upstream: no key-encryption key to seal the client secret")
	}
	sealed, err := s.cfg.Sealer.Seal(sealID(in.ID), []byte(in.ClientSecret))
	if err != nil {
		return Upstream{}, fmt.Errorf("seal the secret of upstream %s: %w", in.ID, err)
	}
	return Upstream{ID: in.ID, Name: in.Name, Type: in.Type, Issuer: in.Issuer, ClientID: in.ClientID,
		SealedSecret: sealed, Scopes: in.Scopes, Linking: in.Linking, CreatedAt: created}, nil
}

// Create registers an upstream.
func (s *Service) Create(ctx context.Context, in NewUpstream, meta authority.Meta) (Upstream, error) {
	if err := s.validate(&in); err != nil {
		return Upstream{}, err
	}
	u, err := s.record(in, s.cfg.Now().UTC().Truncate(time.Millisecond))
	if err != nil {
		return Upstream{}, err
	}
	err = s.cfg.Store.CreateUpstream(ctx, u)
	s.forgetListed()
	if err != nil {
		return Upstream{}, err
	}
	s.cfg.Core.Audit(ctx, authority.Event{Type: authority.EventUpstreamCreated, Actor: meta.Actor, IP: meta.IP,
		Detail: "upstream " + u.ID + " " + u.Type + " " + u.Issuer + " linking " + u.Linking})
	return u, nil
}

// Replace replaces an upstream's settings (PUT), secret included; its
// linked identities stay.
func (s *Service) Replace(ctx context.Context, in NewUpstream, meta authority.Meta) (Upstream, error) {
	old, err := s.Get(ctx, in.ID)
	if err != nil {
		return Upstream{}, err
	}
	if err := s.validate(&in); err != nil {
		return Upstream{}, err
	}
	u, err := s.record(in, old.CreatedAt)
	if err != nil {
		return Upstream{}, err
	}
	err = s.cfg.Store.UpdateUpstream(ctx, u)
	s.forgetListed()
	if err != nil {
		return Upstream{}, err
	}
	s.cfg.Core.Audit(ctx, authority.Event{Type: authority.EventUpstreamUpdated, Actor: meta.Actor, IP: meta.IP,
		Detail: "upstream " + u.ID + " " + u.Type + " " + u.Issuer + " linking " + u.Linking})
	return u, nil
}

// Get returns an upstream; authority.ErrNotFound for none.
func (s *Service) Get(ctx context.Context, id string) (Upstream, error) {
	if !ValidID(id) {
		return Upstream{}, authority.ErrNotFound
	}
	return s.cfg.Store.UpstreamByID(ctx, id)
}

// List lists the upstreams, oldest first.
func (s *Service) List(ctx context.Context) ([]Upstream, error) {
	return s.cfg.Store.Upstreams(ctx)
}

// Delete removes an upstream and the identities linked through it.
func (s *Service) Delete(ctx context.Context, id string, meta authority.Meta) error {
	if !ValidID(id) {
		return authority.ErrNotFound
	}
	err := s.cfg.Store.DeleteUpstream(ctx, id)
	s.forgetListed()
	if err != nil {
		return err
	}
	s.cfg.Core.Audit(ctx, authority.Event{Type: authority.EventUpstreamDeleted, Actor: meta.Actor, IP: meta.IP, Detail: "upstream " + id})
	return nil
}

// Identities lists the identities linked to a user.
func (s *Service) Identities(ctx context.Context, userID string) ([]Identity, error) {
	return s.cfg.Store.IdentitiesOf(ctx, userID)
}
