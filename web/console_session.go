package web

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/sigil-auth/sigil/authority"
)

// consoleSession is what the session cookie holds, sealed.
type consoleSession struct {
	Token   string `json:"t"`
	Email   string `json:"e"`
	Expires int64  `json:"x"`
}

// consoleFlow is a sign-in in progress: the state and PKCE verifier sent
// with the authorization request, and where to go afterwards.
type consoleFlow struct {
	State    string `json:"s"`
	Verifier string `json:"v"`
	Return   string `json:"r"`
}

func (c *console) sessionCookie() string {
	if c.p.secure {
		return "__Host-sigil_console"
	}
	return "sigil_console"
}

func (c *console) flowCookie() string {
	if c.p.secure {
		return "__Host-sigil_console_flow"
	}
	return "sigil_console_flow"
}

func (c *console) redirectURI() string {
	return strings.TrimRight(c.p.cfg.Issuer, "/") + "/console/callback"
}

// session returns the request's console session when its cookie opens,
// its token still verifies and its administrator is still one.
func (c *console) session(r *http.Request) (consoleSession, bool) {
	var s consoleSession
	ck, err := r.Cookie(c.sessionCookie())
	if err != nil || !c.open(consoleSessionPurpose, ck.Value, &s) {
		return consoleSession{}, false
	}
	if s.Token == "" || time.Now().Unix() >= s.Expires {
		return consoleSession{}, false
	}
	// The token may have stopped verifying before it expires (its key or
	// its jti revoked), or its administrator be locked, deleted or
	// demoted (read again on every page): then the session is over.
	if c.p.auth != nil {
		claims, err := c.p.auth.Verify(r.Context(), s.Token, "")
		if err == nil {
			err = c.p.auth.CheckAdmin(r.Context(), claims.Subject)
		}
		if errors.Is(err, authority.ErrInvalidToken) || errors.Is(err, authority.ErrNotAdmin) {
			return consoleSession{}, false
		}
	}
	return s, true
}

func (c *console) seal(purpose string, v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return c.sealer.Seal(purpose, b)
}

func (c *console) open(purpose, sealed string, v any) bool {
	if len(sealed) > 4096 {
		return false
	}
	b, err := c.sealer.Open(purpose, sealed)
	return err == nil && json.Unmarshal(b, v) == nil
}

func (c *console) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true,
		Secure: c.p.secure, SameSite: http.SameSiteLaxMode, MaxAge: maxAge})
}

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
