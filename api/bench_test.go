package api

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/keys"
)

// discardWriter is a ResponseWriter that keeps only the status, so a
// benchmark measures the handler rather than a recorder's buffer.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(code int)        { w.status = code }

func (w *discardWriter) reset() {
	clear(w.h)
	w.status = 0
}

// benchHandler returns the whole middleware chain with an access log
// written as text to io.Discard, as serve writes it to stderr.
func benchHandler(b *testing.B, alg keys.Alg) (http.Handler, *Server, *memStore) {
	st := newMemStore()
	srv, _ := newTestServer(b, st, alg, nil)
	srv.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	return srv.Handler(), srv, st
}

func runHandler(b *testing.B, h http.Handler, req *http.Request, want int) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		w := &discardWriter{h: http.Header{}}
		for pb.Next() {
			w.reset()
			h.ServeHTTP(w, req)
			if w.status != want && !(want == 200 && w.status == 0) {
				b.Fatalf("status %d, want %d", w.status, want)
			}
		}
	})
}

// BenchmarkJWKS serves the key set through the full middleware chain
// (request id, route match, metrics, access log), with no network.
func BenchmarkJWKS(b *testing.B) {
	h, srv, _ := benchHandler(b, keys.RS256)
	_, etag := srv.keys.Ring().Load().JWKS()
	b.Run("200", func(b *testing.B) {
		runHandler(b, h, httptest.NewRequest(http.MethodGet, "/.well-known/jwks.json", nil), http.StatusOK)
	})
	b.Run("304", func(b *testing.B) {
		req := httptest.NewRequest(http.MethodGet, "/.well-known/jwks.json", nil)
		req.Header.Set("If-None-Match", etag)
		runHandler(b, h, req, http.StatusNotModified)
	})
	b.Run("handler-only", func(b *testing.B) {
		runHandler(b, http.HandlerFunc(srv.handleJWKS), httptest.NewRequest(http.MethodGet, "/.well-known/jwks.json", nil), http.StatusOK)
	})
}

// BenchmarkMe answers GET /auth/me: verification of the Bearer token and
// the profile from memory, through the full middleware chain.
func BenchmarkMe(b *testing.B) {
	for _, alg := range keys.Algs {
		b.Run(string(alg), func(b *testing.B) {
			h, srv, _ := benchHandler(b, alg)
			ctx := context.Background()
			if _, err := srv.auth.Signup(ctx, authority.Signup{Email: "ada@example.com", Password: "correct horse battery", Name: "Ada"}, authority.Meta{}); err != nil {
				b.Fatal(err)
			}
			pair, err := srv.auth.Login(ctx, "ada@example.com", "correct horse battery", authority.Meta{})
			if err != nil {
				b.Fatal(err)
			}
			req := httptest.NewRequest(http.MethodGet, "/auth/me", nil)
			req.Header.Set("Authorization", "Bearer "+pair.AccessToken)
			b.ResetTimer()
			runHandler(b, h, req, http.StatusOK)
		})
	}
}

// BenchmarkLoginRefusal is the server's CPU for one login refused at
// admission, through the full middleware chain (without the hold, which
// costs a timer and no CPU): compare it with BenchmarkArgon2idHash in
// authority, the hash a login costs. Every admission place is taken.
func BenchmarkLoginRefusal(b *testing.B) {
	h, srv, _ := benchHandler(b, keys.EdDSA)
	srv.refusalHold = 0
	ctx := context.Background()
	if _, err := srv.auth.Signup(ctx, authority.Signup{Email: "ada@example.com", Password: "correct horse battery", Name: "Ada"}, authority.Meta{}); err != nil {
		b.Fatal(err)
	}
	leaves := []func(){}
	for {
		leave, ok := srv.auth.AdmitHash()
		if !ok {
			break
		}
		leaves = append(leaves, leave)
	}
	defer func() {
		for _, l := range leaves {
			l()
		}
	}()
	body := `{"email":"ada@example.com","password":"correct horse battery"}`
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := &discardWriter{h: http.Header{}}
		for pb.Next() {
			w.reset()
			req := httptest.NewRequest(http.MethodPost, "/auth/login", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			h.ServeHTTP(w, req)
			if w.status != http.StatusServiceUnavailable {
				b.Fatalf("status %d, want 503", w.status)
			}
		}
	})
}

// BenchmarkLogin is a whole successful login over the middleware chain at
// the default argon2id cost (in-memory store): run it with
// -cpuprofile, and GOMEMLIMIT as serve sets it (65MiB on two cores), to
// see where a login's time goes besides the hash.
func BenchmarkLogin(b *testing.B) {
	for _, alg := range []keys.Alg{keys.RS256, keys.EdDSA} {
		b.Run(string(alg), func(b *testing.B) {
			st := newMemStore()
			srv, _ := newTestServer(b, st, alg, func(c *authority.Config) { c.Argon2 = authority.DefaultArgon2 })
			srv.log = slog.New(slog.NewTextHandler(io.Discard, nil))
			h := srv.Handler()
			if _, err := srv.auth.Signup(context.Background(), authority.Signup{Email: "ada@example.com", Password: "correct horse battery", Name: "Ada"}, authority.Meta{}); err != nil {
				b.Fatal(err)
			}
			body := `{"email":"ada@example.com","password":"correct horse battery"}`
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				w := &discardWriter{h: http.Header{}}
				for pb.Next() {
					w.reset()
					req := httptest.NewRequest(http.MethodPost, "/auth/login", strings.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					h.ServeHTTP(w, req)
					if w.status != http.StatusOK {
						b.Fatalf("status %d", w.status)
					}
				}
			})
		})
	}
}
