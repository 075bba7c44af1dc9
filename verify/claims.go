package verify

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Claims are the claims of a verified access token. Each field holds the
// registered claim named in its comment; a time the token does not carry is
// the zero Time.
type Claims struct {
	Subject   string    // sub: the user's id, or the client's for client_credentials
	Issuer    string    // iss
	Audience  []string  // aud, always as a list
	Expiry    time.Time // exp
	IssuedAt  time.Time // iat; zero when absent
	NotBefore time.Time // nbf; zero when absent
	ID        string    // jti
	ClientID  string    // client_id
	Scope     string    // scope: space-separated, may be empty
	Email     string    // email, for user tokens
	Roles     []string  // roles, for user tokens
}

// HasScope reports whether the space-separated scope claim contains scope.
func (c *Claims) HasScope(scope string) bool {
	if scope == "" {
		return false
	}
	for s := range strings.SplitSeq(c.Scope, " ") {
		if s == scope {
			return true
		}
	}
	return false
}

// HasRole reports whether the roles claim contains role.
func (c *Claims) HasRole(role string) bool {
	return slices.Contains(c.Roles, role)
}

func (c *Claims) hasAudience(want []string) bool {
	for _, a := range c.Audience {
		if slices.Contains(want, a) {
			return true
		}
	}
	return false
}

// wireClaims is the JSON form of the claims.
type wireClaims struct {
	Sub      string      `json:"sub"`
	Iss      string      `json:"iss"`
	Aud      audience    `json:"aud"`
	Exp      numericDate `json:"exp"`
	Iat      numericDate `json:"iat"`
	Nbf      numericDate `json:"nbf"`
	Jti      string      `json:"jti"`
	ClientID string      `json:"client_id"`
	Scope    string      `json:"scope"`
	Email    string      `json:"email"`
	Roles    []string    `json:"roles"`
}

func parseClaims(payload []byte) (*Claims, error) {
	var w wireClaims
	if err := json.Unmarshal(payload, &w); err != nil {
		return nil, &tokenError{kind: ErrInvalidToken, reason: "malformed claims", err: err}
	}
	return &Claims{
		Subject:   w.Sub,
		Issuer:    w.Iss,
		Audience:  w.Aud,
		Expiry:    w.Exp.Time,
		IssuedAt:  w.Iat.Time,
		NotBefore: w.Nbf.Time,
		ID:        w.Jti,
		ClientID:  w.ClientID,
		Scope:     w.Scope,
		Email:     w.Email,
		Roles:     w.Roles,
	}, nil
}

// audience decodes aud, which RFC 7519 allows as one string or an array.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*a = audience{s}
		return nil
	}
	return json.Unmarshal(b, (*[]string)(a))
}

// maxNumericDate is the last second of the year 9999; later dates are
// rejected rather than overflowing.
const maxNumericDate = 253402300799

// numericDate decodes a JWT NumericDate: seconds since the epoch, possibly
// with a fraction. The zero Time means the claim was absent.
type numericDate struct{ time.Time }

var errNumericDate = errors.New("NumericDate out of range")

func (d *numericDate) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return err
	}
	if !(f >= 0 && f <= maxNumericDate) {
		return errNumericDate
	}
	sec, frac := math.Modf(f)
	d.Time = time.Unix(int64(sec), int64(frac*1e9))
	return nil
}
