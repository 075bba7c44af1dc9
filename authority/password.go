package authority

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/sigil-auth/sigil/authority/internal/argon2"
)

// Argon2Params are the argon2id cost parameters.
type Argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
	SaltLen uint32
	KeyLen  uint32
}

// DefaultArgon2 is the production cost: OWASP's argon2id baseline (19 MiB,
// two passes, one lane). Tests may lower it through configuration; the
// default never changes for a test's sake.
var DefaultArgon2 = Argon2Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Validate rejects parameters argon2 cannot use or that are trivially weak.
func (p Argon2Params) Validate() error {
	if p.Memory < 8*uint32(p.Threads) || p.Time < 1 || p.Threads < 1 || p.SaltLen < 8 || p.KeyLen < 16 {
		return errors.New("argon2id parameters out of range")
	}
	return nil
}

// Hash returns the PHC string of password under p:
// $argon2id$v=19$m=…,t=…,p=…$salt$hash.
func (p Argon2Params) Hash(password string) (string, error) { return p.hash(nil, password) }

// hash is Hash working in mem (nil: fresh memory).
func (p Argon2Params) hash(mem *argon2.Memory, password string) (string, error) {
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("generate salt: %w", err)
	}
	sum := argon2.IDKey(mem, []byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(sum)), nil
}

// IsBcrypt reports whether hash is a bcrypt hash ($2a$, $2b$ or $2y$).
func IsBcrypt(hash string) bool {
	return strings.HasPrefix(hash, "$2a$") || strings.HasPrefix(hash, "$2b$") || strings.HasPrefix(hash, "$2y$")
}

// ErrUnknownHash means a stored hash is in no format Sigil reads.
var ErrUnknownHash = errors.New("unsupported password hash format")

// CheckPassword reports whether password matches the stored hash (argon2id
// PHC or bcrypt), and whether the hash should be replaced by one under p
// (bcrypt, or argon2id with other parameters).
func CheckPassword(stored, password string, p Argon2Params) (ok, rehash bool, err error) {
	return checkPassword(nil, stored, password, p)
}

// checkPassword is CheckPassword working in mem (nil: fresh memory).
func checkPassword(mem *argon2.Memory, stored, password string, p Argon2Params) (ok, rehash bool, err error) {
	if IsBcrypt(stored) {
		// bcryptjs writes $2y$/$2b$ like the C implementation; Go reads $2a$
		// and $2b$, and $2y$ is the same algorithm under another name.
		h := stored
		if strings.HasPrefix(h, "$2y$") {
			h = "$2a$" + h[4:]
		}
		err := bcrypt.CompareHashAndPassword([]byte(h), []byte(password))
		if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
			return false, false, nil
		}
		if err != nil {
			return false, false, fmt.Errorf("%w: %v", ErrUnknownHash, err)
		}
		return true, true, nil
	}
	m, t, th, salt, sum, err := parseArgon2id(stored)
	if err != nil {
		return false, false, err
	}
	got := argon2.IDKey(mem, []byte(password), salt, t, m, th, uint32(len(sum)))
	if subtle.ConstantTimeCompare(got, sum) != 1 {
		return false, false, nil
	}
	same := m == p.Memory && t == p.Time && th == p.Threads && uint32(len(sum)) == p.KeyLen
	return true, !same, nil
}

func parseArgon2id(s string) (m, t uint32, th uint8, salt, sum []byte, err error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return 0, 0, 0, nil, nil, ErrUnknownHash
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return 0, 0, 0, nil, nil, ErrUnknownHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &th); err != nil || m == 0 || t == 0 || th == 0 {
		return 0, 0, 0, nil, nil, ErrUnknownHash
	}
	// Refuse costs a stored hash could use to exhaust the server.
	if m > 1<<21 || t > 64 {
		return 0, 0, 0, nil, nil, ErrUnknownHash
	}
	if salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil {
		return 0, 0, 0, nil, nil, ErrUnknownHash
	}
	if sum, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(sum) < 16 {
		return 0, 0, 0, nil, nil, ErrUnknownHash
	}
	return m, t, th, salt, sum, nil
}
