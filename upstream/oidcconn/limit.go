package oidcconn

import (
	"errors"
	"io"
	"net/http"
)

// maxAnswer bounds every answer read from an OpenID Provider (discovery,
// keys, token, userinfo): go-oidc and x/oauth2 read whole bodies, and a
// provider that streams without end must not fill Sigil's memory before
// the timeout runs out.
const maxAnswer = 1 << 20

// errTooLarge is what reading past maxAnswer gives.
var errTooLarge = errors.New("the upstream's answer is larger than 1 MiB")

// limitedTransport cuts every response body at maxAnswer bytes.
type limitedTransport struct{ next http.RoundTripper }

func (t limitedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	resp.Body = &limitedBody{rc: resp.Body, left: maxAnswer}
	return resp, nil
}

type limitedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more tells a body of exactly maxAnswer from a longer one.
		var one [1]byte
		n, err := b.rc.Read(one[:])
		if n > 0 {
			return 0, errTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }
