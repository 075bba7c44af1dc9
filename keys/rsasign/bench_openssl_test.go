//go:build openssl && cgo

package rsasign

import (
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"testing"
	"time"
)

// benchInput is the size of a typical access token's signing input.
var benchInput = []byte("eyJhbGciOiJSUzI1NiIsImtpZCI6IjZkSm5kR3BBaFZ3Y0J2dGMiLCJ0eXAiOiJhdCtqd3QifQ." +
	"eyJpc3MiOiJodHRwOi8vMTI3LjAuMC4xOjgwODAiLCJzdWIiOiJjbGllbnQtMSIsImF1ZCI6ImFwaSIsImV4cCI6MTc2NzIyNTYwMCwiaWF0IjoxNzY3MjI0NzAwLCJqdGkiOiJhYmMifQ")

// BenchmarkSign signs one access token's signing input through each
// backend, one goroutine per core (b.RunParallel), for each key size.
func BenchmarkSign(b *testing.B) {
	for _, bits := range []int{2048, 3072, 4096} {
		priv, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			b.Fatal(err)
		}
		ossl, gok := pair(b, priv)
		for _, k := range []*Key{gok, ossl} {
			b.Run(fmt.Sprintf("%s/%d", k.Backend(), bits), func(b *testing.B) {
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := k.SignSHA256(benchInput); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
	}
}

// BenchmarkOpenSSLOverGo alternates batches of RSA-2048 signatures
// through the two backends, so both see the same machine, and reports
// how many times faster OpenSSL signs (openssl-speedup) with each one's
// time per signature.
func BenchmarkOpenSSLOverGo(b *testing.B) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	ossl, gok := pair(b, priv)
	var tGo, tOSSL time.Duration
	var n int
	for b.Loop() {
		for _, side := range []struct {
			k *Key
			d *time.Duration
		}{{gok, &tGo}, {ossl, &tOSSL}} {
			start := time.Now()
			if _, err := side.k.SignSHA256(benchInput); err != nil {
				b.Fatal(err)
			}
			*side.d += time.Since(start)
		}
		n++
	}
	b.ReportMetric(float64(tGo)/float64(n)/1e3, "go-µs/sig")
	b.ReportMetric(float64(tOSSL)/float64(n)/1e3, "openssl-µs/sig")
	b.ReportMetric(float64(tGo)/float64(tOSSL), "openssl-speedup")
}
