package main

import (
	"net/url"
	"strings"
)

// secretSettings are the settings whose whole value is a secret.
var secretSettings = map[string]bool{"SIGIL_KEY_ENCRYPTION_KEY": true, "SIGIL_ADMIN_PASSWORD": true}

// urlSettings are the settings whose value is a URL that may carry a
// password.
var urlSettings = map[string]bool{"SIGIL_DATABASE_URL": true, "SIGIL_SMTP_URL": true}

// redactSetting returns v as it may be printed (in --help, in logs): a
// secret setting is only said to be set, and a URL's password is masked.
func redactSetting(env, v string) string {
	switch {
	case v == "":
		return v
	case secretSettings[env]:
		return "(set)"
	case urlSettings[env]:
		return redactURL(v)
	}
	return v
}

// redactURL masks the password of a URL (and of a Postgres key=value
// connection string); what cannot be parsed is hidden whole.
func redactURL(v string) string {
	if strings.HasPrefix(v, "sqlite:") {
		return v
	}
	u, err := url.Parse(v)
	if err != nil || u.Scheme == "" {
		return "(set)"
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}
