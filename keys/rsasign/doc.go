// Package rsasign signs RS256 (RSASSA-PKCS1-v1_5 with SHA-256) with the
// fastest backend the binary was built with.
//
// Built with the "openssl" build tag and cgo, it signs through the
// system's libcrypto (OpenSSL 3, EVP_DigestSign), which signs RSA-2048
// three to four times faster than crypto/rsa. Built without the tag, or
// with CGO_ENABLED=0, it uses crypto/rsa: `go run ./cmd/sigil` works on a
// machine with no C toolchain or OpenSSL headers. RSASSA-PKCS1-v1_5 is
// deterministic, so both backends produce byte-identical signatures; the
// tests hold them to that.
//
// A Key is loaded once (from the private key of one keyring snapshot) and
// is safe for concurrent use. The OpenSSL copy of the private key lives in
// C memory and is freed when the Key becomes unreachable, i.e. when the
// last snapshot holding it is dropped.
package rsasign
