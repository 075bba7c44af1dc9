package main

import (
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"time"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/keys"
	"github.com/sigil-auth/sigil/mail"
)

// Config is every setting of Sigil, parsed once from the environment and
// flags and passed down.
type Config struct {
	Addr              string
	Issuer            string
	DatabaseURL       string
	KeyEncryptionKey  string
	SigningAlg        keys.Alg
	AccessTTL         time.Duration
	RefreshTTL        time.Duration
	RefreshReuseGrace time.Duration
	Audience          string
	RotationPeriod    time.Duration
	PublishAhead      time.Duration
	JWKSMaxAge        time.Duration
	KeyReloadInterval time.Duration // how often the keyring is re-read to heal a missed notification
	RateLimit         float64       // requests per second per client IP; 0 disables
	LockoutThreshold  int
	ClientIPHeader    string
	TrustedProxies    []netip.Prefix
	// MaxHashesPerClient: 0 automatic, negative off (authority.Config).
	MaxHashesPerClient int
	CORSOrigins        []string
	AdminEmail         string
	AdminPassword      string
	Argon2             authority.Argon2Params
	LogLevel           string
	LogFormat          string
	DatabaseTimeout    time.Duration
	// SMTP is the parsed SIGIL_SMTP_URL; nil means mail is logged.
	SMTP                 *mail.SMTPConfig
	MailFrom             string
	RequireVerifiedEmail bool
	// CIMD turns client ID metadata documents on (SIGIL_CIMD).
	CIMD bool
	// TestCIMDLoopback lets client ID metadata documents come from
	// loopback addresses over http: for tests only, read from
	// SIGIL_TEST_CIMD_LOOPBACK and never a flag.
	TestCIMDLoopback bool
	MailMaxAttempts  int
	MailRetryBackoff time.Duration
	SessionTTL       time.Duration // browser sessions of the hosted pages
	TemplateDir      string        // overrides of the hosted pages' templates
	MFARequiredRoles []string      // roles that must enrol a second factor
	WebAuthnRPID     string        // WebAuthn relying-party ID (default: the issuer's host)
	WebAuthnOrigins  []string      // origins WebAuthn answers may come from (default: the issuer's)
	AuditRetention   time.Duration // audit events older than this are pruned; 0 keeps them
	PruneInterval    time.Duration // how often expired rows are pruned; 0 turns pruning off

	// now is the authority's clock; nil means time.Now. Only tests set it.
	now func() time.Time
}

// configFlags registers every setting as a flag on fs, defaulting to the
// environment variable or the built-in default, and returns a function
// that parses the final values into a Config.
func configFlags(fs *flag.FlagSet, getenv func(string) string) func() (Config, error) {
	vals := make([]*string, len(settings))
	for i, s := range settings {
		def := s.def
		if v, ok := lookup(getenv, s.env); ok {
			def = v
		}
		if fs.Lookup(s.flag) != nil {
			// The command uses this flag name for something of its own
			// (clients create --audience); the setting still reads its
			// variable.
			vals[i] = &def
			continue
		}
		shown := redactSetting(s.env, def) // never print a secret in --help
		vals[i] = fs.String(s.flag, def, s.usage+" ($"+s.env+")")
		if shown != def {
			fs.Lookup(s.flag).DefValue = shown
		}
	}
	return func() (Config, error) {
		c := Config{Argon2: authority.DefaultArgon2}
		for i, s := range settings {
			if err := s.parse(&c, *vals[i]); err != nil {
				return Config{}, fmt.Errorf("%s (--%s): %v", s.env, s.flag, err)
			}
		}
		if c.Issuer == "" {
			c.Issuer = "http://" + c.Addr
		}
		if c.AccessTTL < time.Second {
			return Config{}, errors.New("SIGIL_ACCESS_TOKEN_TTL (--access-token-ttl): must be at least 1s")
		}
		if c.RefreshTTL < c.AccessTTL {
			return Config{}, errors.New("SIGIL_REFRESH_TOKEN_TTL (--refresh-token-ttl): must not be shorter than SIGIL_ACCESS_TOKEN_TTL")
		}
		if c.JWKSMaxAge < time.Second {
			return Config{}, errors.New("SIGIL_JWKS_MAX_AGE (--jwks-max-age): must be at least 1s")
		}
		if err := c.keyPolicy().Validate(c.JWKSMaxAge); err != nil {
			return Config{}, err
		}
		if (c.AdminEmail == "") != (c.AdminPassword == "") {
			return Config{}, errors.New("SIGIL_ADMIN_EMAIL and SIGIL_ADMIN_PASSWORD must be set together")
		}
		if err := c.Argon2.Validate(); err != nil {
			return Config{}, fmt.Errorf("SIGIL_ARGON2_*: %v", err)
		}
		if c.SMTP != nil && c.MailFrom == "" {
			return Config{}, errors.New("SIGIL_MAIL_FROM (--mail-from): required with SIGIL_SMTP_URL")
		}
		c.TestCIMDLoopback = getenv("SIGIL_TEST_CIMD_LOOPBACK") == "1"
		return c, nil
	}
}

func lookup(getenv func(string) string, name string) (string, bool) {
	v := getenv(name)
	return v, v != ""
}

func (c Config) keyPolicy() keys.Policy {
	return keys.Policy{Alg: c.SigningAlg, RotationPeriod: c.RotationPeriod, PublishAhead: c.PublishAhead, TokenTTL: c.AccessTTL}
}
