package authority

import (
	"context"
	"errors"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits on account fields.
const (
	MinPasswordBytes = 8
	MaxPasswordBytes = 1024
	MaxNameRunes     = 200
	MaxEmailBytes    = 254
)

// NormalizeEmail trims and lower-cases an email and checks that it is a bare
// address (no display name, no control characters).
func NormalizeEmail(raw string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(raw))
	switch {
	case e == "":
		return "", invalid("email", "is required")
	case len(e) > MaxEmailBytes:
		return "", invalid("email", "is too long")
	case !utf8.ValidString(e) || strings.IndexFunc(e, invisible) >= 0:
		return "", invalid("email", "contains control or invisible characters")
	}
	addr, err := mail.ParseAddress(e)
	if err != nil || addr.Address != e || addr.Name != "" {
		return "", invalid("email", "is not a valid address")
	}
	local, domain, _ := strings.Cut(e, "@")
	if local == "" || !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return "", invalid("email", "is not a valid address")
	}
	return e, nil
}

// invisible reports control characters and format characters (zero-width
// spaces and joiners, bidirectional overrides, byte-order marks) and the
// replacement character (what a lone surrogate decodes to): in an email
// they only serve to make two addresses look alike.
func invisible(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError
}

// ValidatePassword checks a new password's length in bytes. A password
// under 8 bytes has under 8 characters, so the message speaks of
// characters, as the pages' labels do.
func ValidatePassword(pw string) error {
	switch {
	case len(pw) < MinPasswordBytes:
		return invalid("password", "must be at least 8 characters")
	case len(pw) > MaxPasswordBytes:
		return invalid("password", "must be at most 1024 bytes")
	}
	return nil
}

// ValidateName checks an optional display name.
func ValidateName(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case utf8.RuneCountInString(name) > MaxNameRunes:
		return "", invalid("name", "must be at most 200 characters")
	case !utf8.ValidString(name) || strings.IndexFunc(name, unicode.IsControl) >= 0:
		return "", invalid("name", "contains control characters")
	}
	return name, nil
}

// Signup is the input of a new account.
type Signup struct {
	Email    string
	Password string
	Name     string
	Admin    bool
}

// Meta describes the request behind an action, for the audit log.
type Meta struct {
	IP    string
	Actor string
	// UserAgent is the client's User-Agent, kept with the sessions it
	// starts (refresh-token families and browser sessions) so that a user
	// can tell them apart.
	UserAgent string
}

// ActorOr is the actor of an audit event about userID: the one named in
// meta (an administrator acting for the user), or the user.
func (m Meta) ActorOr(userID string) string {
	if m.Actor != "" {
		return m.Actor
	}
	return userID
}

// Signup validates the input, hashes the password with argon2id and creates
// the account. It returns ErrEmailTaken if the email is registered, and
// ErrOverloaded if no hashing slot came free in time.
func (s *Service) Signup(ctx context.Context, in Signup, meta Meta) (User, error) {
	email, err := NormalizeEmail(in.Email)
	if err != nil {
		return User{}, err
	}
	if err := ValidatePassword(in.Password); err != nil {
		return User{}, err
	}
	name, err := ValidateName(in.Name)
	if err != nil {
		return User{}, err
	}
	hash, err := s.HashPassword(ctx, in.Password, meta)
	if err != nil {
		return User{}, err
	}
	now := s.now().UTC()
	u := User{ID: newUUID(), Email: email, Name: name, PasswordHash: hash, Admin: in.Admin, CreatedAt: now, UpdatedAt: now}
	if err := s.store.CreateUser(ctx, u); err != nil {
		return User{}, err
	}
	actor := meta.Actor
	if actor == "" {
		actor = u.ID
	}
	s.audit(ctx, Event{Type: EventUserSignup, Actor: actor, UserID: u.ID, IP: meta.IP})
	if meta.Actor == "" {
		// A self-service signup gets a verification link; accounts made by
		// an administrator or an import are verified out of band.
		if err := s.sendVerification(ctx, u); err != nil {
			s.log.Warn("verification mail not queued", "user_id", u.ID, "err", err)
		}
	}
	return u, nil
}

// SignupPrivate is Signup for a service that requires verified emails: a
// registered email is no error (the answer must not tell it is taken);
// its owner is mailed that someone tried to sign up with it.
func (s *Service) SignupPrivate(ctx context.Context, in Signup, meta Meta) error {
	_, err := s.Signup(ctx, in, meta)
	if !errors.Is(err, ErrEmailTaken) {
		return err
	}
	email, _ := NormalizeEmail(in.Email)
	u, err := s.store.UserByEmail(ctx, email)
	if err != nil {
		s.log.Warn("signup attempt on a registered email: owner not found", "err", err)
		return nil
	}
	s.audit(ctx, Event{Type: EventUserSignupAttempt, UserID: u.ID, IP: meta.IP, Detail: "signup with a registered email"})
	if s.verifier != nil {
		if err := s.verifier.NotifySignupAttempt(ctx, u); err != nil {
			s.log.Warn("signup-attempt notice not queued", "user_id", u.ID, "err", err)
		}
	}
	return nil
}

// TokenPair is what a successful login or refresh returns.
type TokenPair struct {
	AccessToken  string
	ExpiresIn    int // seconds
	RefreshToken string
	UserID       string
	// Scope is the access token's scope.
	Scope string
}

// Login checks email and password and issues an access token and a refresh
// token. An unknown email and a wrong password both give
// ErrInvalidCredentials after the same argon2id work. When every hashing
// slot is busy and the queue for them is full, it gives ErrOverloaded
// without reading the account or hashing anything.
func (s *Service) Login(ctx context.Context, email, password string, meta Meta) (TokenPair, error) {
	u, err := s.checkCredentials(ctx, email, password, meta)
	if err != nil {
		return TokenPair{}, err
	}
	if err := s.LoginAllowed(ctx, u, meta); err != nil {
		return TokenPair{}, err
	}
	if err := s.passSecondFactorGate(ctx, u, []string{"pwd"}, meta); err != nil {
		return TokenPair{}, err
	}
	return s.FinishLogin(ctx, u, []string{"pwd"}, meta, "")
}

// loginAllowed refuses a locked account, and one whose email is not
// verified when verification is required; the latter gets a new link.
func (s *Service) LoginAllowed(ctx context.Context, u User, meta Meta) error {
	if u.Locked {
		s.audit(ctx, Event{Type: EventLoginFailure, UserID: u.ID, IP: meta.IP, Detail: "account locked"})
		return ErrAccountLocked
	}
	if s.cfg.RequireVerifiedEmail && !u.EmailVerified {
		if err := s.sendVerification(ctx, u); err != nil && !errors.Is(err, ErrThrottled) {
			s.log.Warn("verification mail not queued", "user_id", u.ID, "err", err)
		}
		s.audit(ctx, Event{Type: EventLoginFailure, UserID: u.ID, IP: meta.IP, Detail: "email not verified"})
		return ErrEmailNotVerified
	}
	return nil
}

// checkCredentials returns the account whose email and password match. It
// holds a hashing slot for the whole check, taken before the account is
// read, so every path (malformed input, unknown email, wrong or right
// password) is admitted or refused alike and costs the same hash.
func (s *Service) checkCredentials(ctx context.Context, email, password string, meta Meta) (User, error) {
	norm, err := NormalizeEmail(email)
	malformed := err != nil || len(password) == 0 || len(password) > MaxPasswordBytes
	// The attempt is reserved against the throttle before any hashing
	// (and before waiting for a hashing slot), so a locked email costs one
	// write and parallel guesses count together; known and unknown emails
	// take the same path.
	var a *Attempt
	if !malformed {
		if a, err = s.ReserveAttempt(ctx, norm, meta); err != nil {
			return User{}, err
		}
		defer s.AbandonAttempt(ctx, a)
	}
	// A failed check is padded to the slowest hash class's time, after
	// the hashing slot is given back (deferred first, so it runs last).
	var spent time.Duration
	failed := true
	defer func() {
		if failed {
			s.timing.pad(ctx, spent)
		}
	}()
	release, err := s.hashes.acquireFor(ctx, meta.IP)
	if err != nil {
		failed = false // refused before any work: nothing to hide
		return User{}, err
	}
	defer release()
	if malformed {
		// Still spend the hashing time: a fast answer would tell which
		// inputs never reach the database.
		_, _, spent, _ = s.timedVerify(s.dummyHash, password)
		s.audit(ctx, Event{Type: EventLoginFailure, IP: meta.IP, Detail: "malformed credentials"})
		return User{}, ErrInvalidCredentials
	}
	u, err := s.store.UserByEmail(ctx, norm)
	if errors.Is(err, ErrNotFound) {
		_, _, spent, _ = s.timedVerify(s.dummyHash, password)
		return User{}, s.loginFailed(ctx, a, "", meta, "unknown email")
	}
	if err != nil {
		failed = false
		return User{}, err
	}
	if u.PasswordHash == "" {
		// An account without a password (created through an upstream
		// identity provider): a wrong password, at the cost of one hash
		// so that the answer does not tell such accounts apart.
		_, _, spent, _ = s.timedVerify(s.dummyHash, password)
		return User{}, s.loginFailed(ctx, a, u.ID, meta, "no password set")
	}
	ok, rehash, spent, err := s.timedVerify(u.PasswordHash, password)
	if err != nil {
		s.log.Error("stored password hash unreadable", "user_id", u.ID, "err", err)
		return User{}, ErrInvalidCredentials
	}
	if !ok {
		return User{}, s.loginFailed(ctx, a, u.ID, meta, "wrong password")
	}
	failed = false
	if _, err := s.SettleAttempt(ctx, a, AttemptSucceeded); err != nil {
		return User{}, err
	}
	if rehash {
		s.upgradeHash(ctx, u, password)
	}
	return u, nil
}

// HashPassword hashes a new password under a hashing slot, within the
// client's share of them.
func (s *Service) HashPassword(ctx context.Context, password string, meta Meta) (string, error) {
	release, err := s.hashes.acquireFor(ctx, meta.IP)
	if err != nil {
		return "", err
	}
	defer release()
	return s.hashNew(password)
}

// upgradeHash replaces a bcrypt or outdated argon2id hash by one under the
// current parameters. Failure only delays the upgrade to the next login.
func (s *Service) upgradeHash(ctx context.Context, u User, password string) {
	hash, err := s.hashNew(password)
	if err == nil {
		err = s.store.ReplacePasswordHash(ctx, u.ID, u.PasswordHash, hash)
	}
	if err != nil {
		s.log.Warn("password hash upgrade deferred", "user_id", u.ID, "err", err)
		return
	}
	s.audit(ctx, Event{Type: EventUserRehash, Actor: u.ID, UserID: u.ID, Detail: "password hash upgraded to argon2id"})
}

// UserByID returns the account with id.
func (s *Service) UserByID(ctx context.Context, id string) (User, error) {
	return s.store.UserByID(ctx, id)
}

// EnsureAdmin creates the administrator email/password if no administrator
// exists yet. It reports whether it created one.
func (s *Service) EnsureAdmin(ctx context.Context, email, password string) (bool, error) {
	exists, err := s.store.AdminExists(ctx)
	if err != nil || exists {
		return false, err
	}
	_, err = s.Signup(ctx, Signup{Email: email, Password: password, Admin: true}, Meta{Actor: "bootstrap"})
	if errors.Is(err, ErrEmailTaken) {
		// Several instances starting together race to create the same
		// administrator; the losers find the winner's account.
		if exists, xerr := s.store.AdminExists(ctx); xerr == nil && exists {
			return false, nil
		}
		return false, errors.New("SIGIL_ADMIN_EMAIL belongs to an existing user who is not an administrator")
	}
	return err == nil, err
}
