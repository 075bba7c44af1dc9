//go:build openssl && cgo

package rsasign

/*
#cgo LDFLAGS: -lcrypto
#include <stdlib.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#if OPENSSL_VERSION_NUMBER < 0x30000000L
#error "the openssl build tag needs OpenSSL 3 (libssl-dev 3.x)"
#endif

// sigil_sha256 is SHA-256 fetched once from the default provider, so a
// signature does not look the digest up again.
static EVP_MD *sigil_sha256;

static int sigil_init(void) {
	sigil_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	return sigil_sha256 != NULL;
}

// sigil_load decodes a PKCS #1 RSAPrivateKey.
static EVP_PKEY *sigil_load(const unsigned char *der, long len) {
	const unsigned char *p = der;
	EVP_PKEY *k = d2i_PrivateKey(EVP_PKEY_RSA, NULL, &p, len);
	if (k == NULL) ERR_clear_error();
	return k;
}

// sigil_sign signs msg with RSASSA-PKCS1-v1_5 over SHA-256 into sig
// (EVP_PKEY_get_size(k) bytes); it returns the signature's length, or 0.
// Each call has its own EVP_MD_CTX: the key is only read, so calls may
// run at once on any threads.
static size_t sigil_sign(EVP_PKEY *k, const unsigned char *msg, size_t msglen, unsigned char *sig, size_t siglen) {
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	size_t n = siglen;
	int ok = ctx != NULL &&
		EVP_DigestSignInit(ctx, &pctx, sigil_sha256, NULL, k) == 1 &&
		EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1 &&
		EVP_DigestSign(ctx, sig, &n, msg, msglen) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok) {
		ERR_clear_error();
		return 0;
	}
	return n;
}
*/
import "C"

import (
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Backend names the backend New uses in this build: BackendOpenSSL.
func Backend() string { return BackendOpenSSL }

// BackendVersion describes the backend: the libcrypto the process loaded,
// e.g. "OpenSSL 3.0.19 27 Jan 2026".
func BackendVersion() string { return C.GoString(C.OpenSSL_version(C.OPENSSL_VERSION)) }

var (
	initOnce sync.Once
	initErr  error
	// live counts OpenSSL keys not yet freed (for the tests).
	live atomic.Int64
	// slots bounds the signatures in libcrypto at once to GOMAXPROCS. A
	// goroutine in a cgo call holds an OS thread but no P, so without it
	// a thousand connections asking for tokens would park a thousand
	// threads in RSA arithmetic; waiting on the channel costs nothing.
	slots = make(chan struct{}, runtime.GOMAXPROCS(0))
)

// opensslSigner is a private key in libcrypto's memory.
type opensslSigner struct {
	pkey *C.EVP_PKEY
	size int
}

// NewOpenSSL loads priv into libcrypto, whatever Backend says. The copy
// is freed when the returned Key becomes unreachable.
func NewOpenSSL(priv *rsa.PrivateKey) (*Key, error) {
	if err := check(priv); err != nil {
		return nil, err
	}
	s, err := newNative(priv)
	if err != nil {
		return nil, err
	}
	return &Key{pub: &priv.PublicKey, backend: BackendOpenSSL, s: s}, nil
}

func newNative(priv *rsa.PrivateKey) (signer, error) {
	initOnce.Do(func() {
		if C.sigil_init() != 1 {
			C.ERR_clear_error()
			initErr = errors.New("rsasign: libcrypto has no SHA-256")
		}
	})
	if initErr != nil {
		return nil, initErr
	}
	der := x509.MarshalPKCS1PrivateKey(priv)
	pkey := C.sigil_load((*C.uchar)(unsafe.Pointer(&der[0])), C.long(len(der)))
	clear(der)
	if pkey == nil {
		return nil, errors.New("rsasign: libcrypto refused the RSA key")
	}
	size := int(C.EVP_PKEY_get_size(pkey))
	if size != priv.Size() {
		C.EVP_PKEY_free(pkey)
		return nil, errors.New("rsasign: libcrypto decoded a key of another size")
	}
	s := &opensslSigner{pkey: pkey, size: size}
	live.Add(1)
	runtime.AddCleanup(s, func(p *C.EVP_PKEY) {
		C.EVP_PKEY_free(p)
		live.Add(-1)
	}, pkey)
	return s, nil
}

func (s *opensslSigner) sign(msg []byte) ([]byte, error) {
	sig := make([]byte, s.size)
	var p *C.uchar
	if len(msg) > 0 {
		p = (*C.uchar)(unsafe.Pointer(&msg[0]))
	}
	slots <- struct{}{}
	n := C.sigil_sign(s.pkey, p, C.size_t(len(msg)), (*C.uchar)(unsafe.Pointer(&sig[0])), C.size_t(len(sig)))
	<-slots
	runtime.KeepAlive(s)
	if int(n) != s.size {
		return nil, errors.New("rsasign: libcrypto could not sign")
	}
	return sig, nil
}
