package rsasign

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"runtime"
)

// signer is one backend's loaded private key.
type signer interface {
	// sign returns the RSASSA-PKCS1-v1_5 SHA-256 signature of msg.
	sign(msg []byte) ([]byte, error)
}

// Key is an RSA private key loaded into a signing backend. It is safe for
// concurrent use.
type Key struct {
	pub     *rsa.PublicKey
	backend string
	s       signer
}

// New loads priv into the fastest backend this binary has (see Backend).
// priv is not retained by the OpenSSL backend.
func New(priv *rsa.PrivateKey) (*Key, error) {
	if err := check(priv); err != nil {
		return nil, err
	}
	s, err := newNative(priv)
	if err != nil {
		return nil, err
	}
	return &Key{pub: &priv.PublicKey, backend: Backend(), s: s}, nil
}

// NewGo loads priv into the crypto/rsa backend, whatever the build.
func NewGo(priv *rsa.PrivateKey) (*Key, error) {
	if err := check(priv); err != nil {
		return nil, err
	}
	return &Key{pub: &priv.PublicKey, backend: BackendGo, s: goSigner{priv}}, nil
}

func check(priv *rsa.PrivateKey) error {
	if priv == nil {
		return errors.New("rsasign: no key")
	}
	if n := priv.N.BitLen(); n < 2048 {
		return fmt.Errorf("rsasign: %d-bit RSA key, want at least 2048 bits", n)
	}
	return nil
}

// Public returns the public half of the key.
func (k *Key) Public() *rsa.PublicKey { return k.pub }

// Backend names the backend this key signs with: BackendOpenSSL or
// BackendGo.
func (k *Key) Backend() string { return k.backend }

// SignSHA256 returns the RSASSA-PKCS1-v1_5 signature of the SHA-256 digest
// of msg (the JWS RS256 signature of a signing input msg).
func (k *Key) SignSHA256(msg []byte) ([]byte, error) {
	sig, err := k.s.sign(msg)
	// The OpenSSL backend frees its key when k becomes unreachable; k
	// must stay reachable until the C call has returned.
	runtime.KeepAlive(k)
	return sig, err
}

// Backend names.
const (
	BackendOpenSSL = "openssl"
	BackendGo      = "go"
)

// goSigner is the crypto/rsa backend.
type goSigner struct{ priv *rsa.PrivateKey }

func (g goSigner) sign(msg []byte) ([]byte, error) {
	sum := sha256.Sum256(msg)
	return rsa.SignPKCS1v15(nil, g.priv, crypto.SHA256, sum[:])
}
