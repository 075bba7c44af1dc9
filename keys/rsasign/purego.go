//go:build !openssl || !cgo

package rsasign

import (
	"crypto/rsa"
	"runtime"
)

// Backend names the backend New uses in this build: BackendGo, because
// the binary was built without the openssl tag or without cgo.
func Backend() string { return BackendGo }

// BackendVersion describes the backend: the Go release whose crypto/rsa
// signs.
func BackendVersion() string { return "crypto/rsa " + runtime.Version() }

func newNative(priv *rsa.PrivateKey) (signer, error) { return goSigner{priv}, nil }
