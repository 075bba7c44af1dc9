package keys

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// ErrUnseal is returned when no configured key-encryption key opens a sealed
// private key: the key is unknown, or the ciphertext or its kid was altered.
var ErrUnseal = errors.New("cannot unseal private key")

// KEK is one key-encryption key: 32 bytes for AES-256-GCM and an id stored
// beside every key it seals, so that several KEKs can be configured at once.
type KEK struct {
	ID  string
	key [32]byte
}

// Sealer seals private keys with AES-256-GCM. The first KEK seals; every KEK
// opens what it sealed. The kid of the sealed key is bound as associated
// data, so a sealed key copied onto another row does not open.
type Sealer struct {
	keks []KEK
}

const sealVersion = "v1"

// ParseKEKs parses SIGIL_KEY_ENCRYPTION_KEY: comma-separated entries, each
// either "ID:BASE64" or a bare "BASE64" (its id is then derived from the key).
// Every key must decode to exactly 32 bytes.
func ParseKEKs(spec string) (*Sealer, error) {
	var s Sealer
	seen := map[string]bool{}
	for i, entry := range strings.Split(spec, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		id, b64, hasID := strings.Cut(entry, ":")
		if !hasID {
			id, b64 = "", entry
		}
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			raw, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(b64, "="))
		}
		if err != nil || len(raw) != 32 {
			return nil, fmt.Errorf("key-encryption key #%d is not base64 of 32 bytes", i+1)
		}
		var k KEK
		copy(k.key[:], raw)
		clear(raw)
		if id == "" {
			sum := sha256.Sum256(k.key[:])
			id = "k" + hex.EncodeToString(sum[:4])
		}
		if strings.ContainsAny(id, ".: ") {
			return nil, fmt.Errorf("key-encryption key #%d: id %q may not contain '.', ':' or spaces", i+1, id)
		}
		if seen[id] {
			return nil, fmt.Errorf("key-encryption key id %q appears twice", id)
		}
		seen[id] = true
		k.ID = id
		s.keks = append(s.keks, k)
	}
	if len(s.keks) == 0 {
		return nil, errors.New("no key-encryption key given")
	}
	return &s, nil
}

// NewKEK returns the base64 of 32 fresh random bytes, for a new
// SIGIL_KEY_ENCRYPTION_KEY.
func NewKEK() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// PrimaryID is the id of the KEK that seals new keys.
func (s *Sealer) PrimaryID() string { return s.keks[0].ID }

// SealedBy returns the id of the KEK a sealed value names.
func SealedBy(sealed string) string {
	parts := strings.SplitN(sealed, ".", 3)
	if len(parts) != 3 {
		return ""
	}
	return parts[1]
}

// Seal encrypts plaintext under the first KEK, bound to kid.
func (s *Sealer) Seal(kid string, plaintext []byte) (string, error) {
	k := s.keks[0]
	aead, err := newGCM(&k)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal key %s: %w", kid, err)
	}
	out := aead.Seal(nonce, nonce, plaintext, associatedData(kid, k.ID))
	return sealVersion + "." + k.ID + "." + base64.RawURLEncoding.EncodeToString(out), nil
}

// Open decrypts a value made by Seal for kid, with whichever KEK it names.
func (s *Sealer) Open(kid, sealed string) ([]byte, error) {
	parts := strings.SplitN(sealed, ".", 3)
	if len(parts) != 3 || parts[0] != sealVersion {
		return nil, fmt.Errorf("key %s: %w: unknown format", kid, ErrUnseal)
	}
	var k *KEK
	for i := range s.keks {
		if s.keks[i].ID == parts[1] {
			k = &s.keks[i]
		}
	}
	if k == nil {
		return nil, fmt.Errorf("key %s: %w: it is sealed by key-encryption key %q, which is not configured", kid, ErrUnseal, parts[1])
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, fmt.Errorf("key %s: %w: bad encoding", kid, ErrUnseal)
	}
	aead, err := newGCM(k)
	if err != nil {
		return nil, err
	}
	if len(raw) < aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("key %s: %w: too short", kid, ErrUnseal)
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], associatedData(kid, k.ID))
	if err != nil {
		return nil, fmt.Errorf("key %s: %w: authentication failed", kid, ErrUnseal)
	}
	return plain, nil
}

// Reseal opens sealed and seals it again under the first KEK. It returns the
// input unchanged when the first KEK already sealed it.
func (s *Sealer) Reseal(kid, sealed string) (string, bool, error) {
	if SealedBy(sealed) == s.PrimaryID() {
		return sealed, false, nil
	}
	plain, err := s.Open(kid, sealed)
	if err != nil {
		return "", false, err
	}
	defer clear(plain)
	out, err := s.Seal(kid, plain)
	return out, err == nil, err
}

func associatedData(kid, kekID string) []byte {
	return []byte("sigil-signing-key\x00" + kid + "\x00" + kekID)
}

func newGCM(k *KEK) (cipher.AEAD, error) {
	block, err := aes.NewCipher(k.key[:])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
