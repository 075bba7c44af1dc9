package main

import (
	"errors"
	"fmt"
	netmail "net/mail"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sigil-auth/sigil/keys"
	"github.com/sigil-auth/sigil/mail"
	"github.com/sigil-auth/sigil/store"
)

// setting is one configuration variable: its environment name, flag name,
// default and how to parse it into Config.
type setting struct {
	env, flag, def, usage string
	parse                 func(c *Config, v string) error
}

var settings = []setting{
	{"SIGIL_ADDR", "addr", "127.0.0.1:8080", "listen address", func(c *Config, v string) error {
		if !strings.Contains(v, ":") {
			return fmt.Errorf("invalid address %q (use HOST:PORT)", v)
		}
		c.Addr = v
		return nil
	}},
	{"SIGIL_ISSUER", "issuer", "", "the iss of every token (default http:// + SIGIL_ADDR)", func(c *Config, v string) error {
		if v != "" && !strings.HasPrefix(v, "https://") && !strings.HasPrefix(v, "http://") {
			return fmt.Errorf("invalid issuer %q (an http:// or https:// URL)", v)
		}
		c.Issuer = strings.TrimRight(v, "/")
		return nil
	}},
	{"SIGIL_DATABASE_URL", "database-url", "sqlite:sigil.db", "postgres://… or sqlite:PATH", func(c *Config, v string) error {
		if _, _, err := store.ParseURL(v); err != nil {
			return errors.New(strings.TrimPrefix(err.Error(), "SIGIL_DATABASE_URL: "))
		}
		c.DatabaseURL = v
		return nil
	}},
	{"SIGIL_KEY_ENCRYPTION_KEY", "key-encryption-key", "", "base64 of 32 bytes, or ID:BASE64,… (first seals, all unseal)", func(c *Config, v string) error {
		if v != "" {
			if _, err := keys.ParseKEKs(v); err != nil {
				return err
			}
		}
		c.KeyEncryptionKey = v
		return nil
	}},
	{"SIGIL_SIGNING_ALG", "signing-alg", "RS256", "RS256, EdDSA or ES256", func(c *Config, v string) error {
		a, err := keys.ParseAlg(v)
		c.SigningAlg = a
		return err
	}},
	{"SIGIL_ACCESS_TOKEN_TTL", "access-token-ttl", "15m", "access-token lifetime", durationInto(func(c *Config) *time.Duration { return &c.AccessTTL })},
	{"SIGIL_REFRESH_TOKEN_TTL", "refresh-token-ttl", "720h", "refresh-token absolute lifetime", durationInto(func(c *Config) *time.Duration { return &c.RefreshTTL })},
	{"SIGIL_REFRESH_REUSE_GRACE", "refresh-reuse-grace", "5s", "a spent refresh token presented again within this is a retry", durationInto(func(c *Config) *time.Duration { return &c.RefreshReuseGrace })},
	{"SIGIL_AUDIENCE", "audience", "sigil", "default aud of login tokens", func(c *Config, v string) error {
		if strings.TrimSpace(v) == "" {
			return errors.New("must not be empty")
		}
		c.Audience = v
		return nil
	}},
	{"SIGIL_ROTATION_PERIOD", "rotation-period", "720h", "rotate an active key older than this; 0 turns automatic rotation off", durationInto(func(c *Config) *time.Duration { return &c.RotationPeriod })},
	{"SIGIL_PUBLISH_AHEAD", "publish-ahead", "1h", "how long a new key is published before it signs", durationInto(func(c *Config) *time.Duration { return &c.PublishAhead })},
	{"SIGIL_JWKS_MAX_AGE", "jwks-max-age", "5m", "Cache-Control max-age of the JWKS", durationInto(func(c *Config) *time.Duration { return &c.JWKSMaxAge })},
	{"SIGIL_KEY_RELOAD_INTERVAL", "key-reload-interval", "30s", "advanced: how often the key set is re-read from the database to catch a missed change notification (the only way on SQLite to see a change made by the keys command)", func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 100*time.Millisecond {
			return fmt.Errorf("invalid duration %q (at least 100ms, Go syntax such as 30s)", v)
		}
		c.KeyReloadInterval = d
		return nil
	}},
	{"SIGIL_RATE_LIMIT", "rate-limit", "20/s", "per-client-IP rate on login, signup, refresh, token and introspection (N/s, N/m); 0 turns it off", func(c *Config, v string) error {
		r, err := parseRate(v)
		c.RateLimit = r
		return err
	}},
	{"SIGIL_LOCKOUT_THRESHOLD", "lockout-threshold", "5", "failed logins in a row before an account is throttled; 0 turns it off", func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("invalid value %q (a whole number, 0 to turn off)", v)
		}
		c.LockoutThreshold = n
		return nil
	}},
	{"SIGIL_CLIENT_IP_HEADER", "client-ip-header", "", "header a trusted proxy sets with the client address (e.g. X-Forwarded-For)", func(c *Config, v string) error {
		c.ClientIPHeader = strings.TrimSpace(v)
		return nil
	}},
	{"SIGIL_TRUSTED_PROXIES", "trusted-proxies", "", "comma-separated CIDRs of the reverse proxies whose addresses are skipped, from the right, in SIGIL_CLIENT_IP_HEADER (e.g. 10.0.0.0/8); unset: the TCP peer is the one trusted proxy", func(c *Config, v string) error {
		c.TrustedProxies = nil
		for _, f := range strings.Split(v, ",") {
			f = strings.TrimSpace(f)
			if f == "" {
				continue
			}
			p, err := netip.ParsePrefix(f)
			if err != nil {
				a, aerr := netip.ParseAddr(f)
				if aerr != nil {
					return fmt.Errorf("invalid CIDR %q (e.g. 10.0.0.0/8 or 2001:db8::/32)", f)
				}
				p = netip.PrefixFrom(a, a.BitLen())
			}
			c.TrustedProxies = append(c.TrustedProxies, p.Masked())
		}
		return nil
	}},
	{"SIGIL_MAX_HASHES_PER_CLIENT", "max-hashes-per-client", "auto", "password checks one client address (an IPv6 /64) may have running or waiting at once; auto: a quarter of the hashing slots and queue; 0 turns the cap off", func(c *Config, v string) error {
		if v == "auto" {
			c.MaxHashesPerClient = 0
			return nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("invalid value %q (auto, or a whole number; 0 turns the cap off)", v)
		}
		c.MaxHashesPerClient = n
		if n == 0 {
			c.MaxHashesPerClient = -1
		}
		return nil
	}},
	{"SIGIL_CORS_ORIGINS", "cors-origins", "", "comma-separated origins allowed to call /auth/* from a browser", func(c *Config, v string) error {
		c.CORSOrigins = nil
		for _, o := range strings.Split(v, ",") {
			o = strings.TrimRight(strings.TrimSpace(o), "/")
			if o == "" {
				continue
			}
			if o == "*" || (!strings.HasPrefix(o, "http://") && !strings.HasPrefix(o, "https://")) {
				return fmt.Errorf("invalid origin %q (list exact origins such as https://app.example.com; no wildcard)", o)
			}
			c.CORSOrigins = append(c.CORSOrigins, o)
		}
		return nil
	}},
	{"SIGIL_ADMIN_EMAIL", "admin-email", "", "with SIGIL_ADMIN_PASSWORD: create this admin at start if none exists", func(c *Config, v string) error {
		c.AdminEmail = v
		return nil
	}},
	{"SIGIL_ADMIN_PASSWORD", "admin-password", "", "password of SIGIL_ADMIN_EMAIL (prefer the environment to the flag)", func(c *Config, v string) error {
		c.AdminPassword = v
		return nil
	}},
	{"SIGIL_ARGON2_MEMORY", "argon2-memory", "19456", "argon2id memory in KiB", uintInto(func(c *Config) *uint32 { return &c.Argon2.Memory }, 1024, 4<<20)},
	{"SIGIL_ARGON2_TIME", "argon2-time", "2", "argon2id passes", uintInto(func(c *Config) *uint32 { return &c.Argon2.Time }, 1, 64)},
	{"SIGIL_ARGON2_THREADS", "argon2-threads", "1", "argon2id lanes", func(c *Config, v string) error {
		n, err := strconv.ParseUint(v, 10, 8)
		if err != nil || n < 1 {
			return fmt.Errorf("invalid value %q (an integer from 1 to 255)", v)
		}
		c.Argon2.Threads = uint8(n)
		return nil
	}},
	{"SIGIL_DATABASE_TIMEOUT", "database-timeout", "5s", "deadline of every database query; past it the request answers 503 (on Postgres the next ones at once until the database answers a probe)", func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("invalid duration %q (a positive Go duration such as 5s)", v)
		}
		c.DatabaseTimeout = d
		return nil
	}},
	{"SIGIL_SMTP_URL", "smtp-url", "", "smtp://user:pass@host:587 (STARTTLS, required unless the host is loopback) or smtps://… (implicit TLS); none: mail is written to the log", func(c *Config, v string) error {
		c.SMTP = nil
		if v == "" {
			return nil
		}
		sc, err := mail.ParseSMTPURL(v)
		if err != nil {
			return err
		}
		c.SMTP = &sc
		return nil
	}},
	{"SIGIL_MAIL_FROM", "mail-from", "", "From address of Sigil's mail (required with SIGIL_SMTP_URL)", func(c *Config, v string) error {
		if v != "" {
			if _, err := netmail.ParseAddress(v); err != nil {
				return fmt.Errorf("invalid address %q", v)
			}
		}
		c.MailFrom = v
		return nil
	}},
	{"SIGIL_MAIL_MAX_ATTEMPTS", "mail-max-attempts", "8", "advanced: attempts to send a message before it is marked failed", func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return fmt.Errorf("invalid value %q (an integer from 1 to 100)", v)
		}
		c.MailMaxAttempts = n
		return nil
	}},
	{"SIGIL_MAIL_RETRY_BACKOFF", "mail-retry-backoff", "1s", "advanced: wait after a failed send, doubled after each further failure up to 5m", func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 10*time.Millisecond {
			return fmt.Errorf("invalid duration %q (at least 10ms, Go syntax such as 1s)", v)
		}
		c.MailRetryBackoff = d
		return nil
	}},
	{"SIGIL_REQUIRE_VERIFIED_EMAIL", "require-verified-email", "false", "refuse logins until the email is verified; signup then answers 202 alike for new and registered emails", func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("invalid value %q (true or false)", v)
		}
		c.RequireVerifiedEmail = b
		return nil
	}},
	{"SIGIL_CIMD", "cimd", "off", "on: a client_id that is an https URL names a client ID metadata document, fetched (public addresses only, 5 s, 5 KiB, no redirects) and cached; off: only registered clients", func(c *Config, v string) error {
		switch v {
		case "on":
			c.CIMD = true
		case "off":
			c.CIMD = false
		default:
			return fmt.Errorf("invalid value %q (on or off)", v)
		}
		return nil
	}},
	{"SIGIL_SESSION_TTL", "session-ttl", "24h", "lifetime of a browser session of the hosted sign-in pages (single sign-on)", func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Minute {
			return fmt.Errorf("invalid duration %q (at least 1m)", v)
		}
		c.SessionTTL = d
		return nil
	}},
	{"SIGIL_MFA_REQUIRED_ROLES", "mfa-required-roles", "", "comma-separated roles (e.g. admin) whose users get no tokens until they enrol a second factor", func(c *Config, v string) error {
		c.MFARequiredRoles = nil
		for _, r := range strings.Split(v, ",") {
			if r = strings.TrimSpace(r); r != "" {
				c.MFARequiredRoles = append(c.MFARequiredRoles, r)
			}
		}
		return nil
	}},
	{"SIGIL_WEBAUTHN_RP_ID", "webauthn-rp-id", "", "WebAuthn relying-party ID for passkeys (default: the host of SIGIL_ISSUER; a registrable suffix of it, e.g. example.com for https://id.example.com, lets passkeys work across its subdomains)", func(c *Config, v string) error {
		v = strings.TrimSpace(v)
		if strings.ContainsAny(v, "/: ") {
			return fmt.Errorf("invalid relying-party ID %q (a host name, no scheme or port)", v)
		}
		c.WebAuthnRPID = v
		return nil
	}},
	{"SIGIL_WEBAUTHN_ORIGINS", "webauthn-origins", "", "comma-separated origins (scheme://host[:port]) WebAuthn answers may come from (default: the origin of SIGIL_ISSUER)", func(c *Config, v string) error {
		c.WebAuthnOrigins = nil
		for _, o := range strings.Split(v, ",") {
			if o = strings.TrimSpace(o); o == "" {
				continue
			}
			u, err := url.Parse(o)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") {
				return fmt.Errorf("invalid origin %q (scheme://host[:port])", o)
			}
			c.WebAuthnOrigins = append(c.WebAuthnOrigins, u.Scheme+"://"+u.Host)
		}
		return nil
	}},
	{"SIGIL_AUDIT_RETENTION", "audit-retention", "90d", "how long audit events are kept before background pruning deletes them (Go duration or N d, e.g. 90d); 0 keeps them forever", func(c *Config, v string) error {
		d, err := parseDays(v)
		if err != nil {
			return err
		}
		c.AuditRetention = d
		return nil
	}},
	{"SIGIL_PRUNE_INTERVAL", "prune-interval", "1h", "advanced: how often expired refresh tokens, codes, sessions, deny-list entries, one-time tokens and old audit events are deleted (in batches; one instance at a time on Postgres); 0 turns pruning off", func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || (d > 0 && d < time.Second) {
			return fmt.Errorf("invalid duration %q (at least 1s, Go syntax such as 1h; 0 turns pruning off)", v)
		}
		c.PruneInterval = d
		return nil
	}},
	{"SIGIL_TEMPLATE_DIR", "template-dir", "", "directory of templates that replace the hosted pages' built-in ones of the same name", func(c *Config, v string) error {
		c.TemplateDir = v
		return nil
	}},
	{"SIGIL_LOG_LEVEL", "log-level", "info", "debug, info, warn or error", func(c *Config, v string) error {
		switch v {
		case "debug", "info", "warn", "error":
			c.LogLevel = v
			return nil
		}
		return fmt.Errorf("invalid log level %q (debug, info, warn or error)", v)
	}},
	{"SIGIL_LOG_FORMAT", "log-format", "text", "text or json", func(c *Config, v string) error {
		if v != "text" && v != "json" {
			return fmt.Errorf("invalid log format %q (text or json)", v)
		}
		c.LogFormat = v
		return nil
	}},
}
