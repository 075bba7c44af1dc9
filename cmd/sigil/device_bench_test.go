package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/oidc"
	"github.com/sigil-auth/sigil/store/storetest"
)

// BenchmarkDevicePendingPoll measures a poll of a device code the user
// has not answered yet, over HTTP on both stores: on time (from memory
// once the code has been read pending, while nothing is decided; else
// one read by the device code's index; never a write) and too soon
// (slow_down from memory, no database at all). Issue 25 asks that a poll
// cost no more than a cache read.
//
//	go test -run '^$' -bench DevicePendingPoll ./cmd/sigil/
func BenchmarkDevicePendingPoll(b *testing.B) {
	for _, backend := range storetest.Backends() {
		b.Run(backend.Name, func(b *testing.B) {
			clock := newTestClock()
			s := startServerClock(b, adminEnv(backend.NewURL(b), nil), clock.Now)
			admin := s.adminToken(b)
			st, _, body := s.postJSON(b, "/admin/clients", map[string]any{"name": "CLI", "public": true, "grantTypes": []string{deviceGrant}}, bearer(admin)...)
			var c struct{ ClientID string }
			decode(b, body, &c)
			if st != http.StatusCreated {
				b.Fatalf("client: %d %s", st, body)
			}
			const form = "application/x-www-form-urlencoded"
			start := func() string {
				_, _, body := do(b, http.MethodPost, s.Base+"/oauth2/device_authorization", form, url.Values{"client_id": {c.ClientID}}.Encode())
				var da struct {
					DeviceCode string `json:"device_code"`
				}
				decode(b, body, &da)
				return url.Values{"grant_type": {deviceGrant}, "device_code": {da.DeviceCode}, "client_id": {c.ClientID}}.Encode()
			}
			want := func(poll, code string) {
				st, _, body := do(b, http.MethodPost, s.Base+"/oauth2/token", form, poll)
				var e struct{ Error string }
				if err := json.Unmarshal(body, &e); err != nil || st != http.StatusBadRequest || e.Error != code {
					b.Fatalf("poll: %d %s, want %s", st, body, code)
				}
			}
			// Polls on time, 30 s apart: each finds the code last read
			// more than devicePendingRecheck (1 minute) ago every other
			// time, so half of them read the row by its index.
			b.Run("on-time-read", func(b *testing.B) {
				var poll string
				for i := range b.N {
					if i%15 == 0 {
						// A code lives 10 minutes: a new one every 15
						// polls 30 s apart.
						b.StopTimer()
						poll = start()
						b.StartTimer()
					}
					clock.Add(30 * time.Second)
					want(poll, "authorization_pending")
				}
			})
			// The ratio in one loop: each round polls one code on time
			// and at once again (slow_down: the pace table in memory, no
			// database). A code read pending is answered from memory
			// while nothing is decided anywhere, so after a new code's
			// first poll (which reads, and is not timed) the on-time
			// poll costs what the too-soon one does: both go through the
			// same HTTP server, client authentication and form parsing.
			// The ratio is what an on-time poll adds to a poll answered
			// from memory.
			b.Run("on-time-over-memory", func(b *testing.B) {
				var poll string
				var tOnTime, tMem, interval time.Duration
				n := 0
				for b.Loop() {
					if n%3 == 0 {
						// A new code, polled on time once to read it.
						// Three rounds grow the interval to 20 s, and
						// the last is 30 s after that read.
						poll = start()
						interval = oidc.DeviceInterval
						clock.Add(interval)
						want(poll, "authorization_pending")
					}
					clock.Add(interval)
					t0 := time.Now()
					want(poll, "authorization_pending")
					t1 := time.Now()
					want(poll, "slow_down")
					interval += oidc.DeviceSlowDown
					tOnTime += t1.Sub(t0)
					tMem += time.Since(t1)
					n++
				}
				b.ReportMetric(float64(tOnTime)/float64(n)/1e3, "on-time-µs/poll")
				b.ReportMetric(float64(tMem)/float64(n)/1e3, "memory-µs/poll")
				b.ReportMetric(float64(tOnTime)/float64(tMem), "on-time/memory")
			})
			b.Run("too-soon", func(b *testing.B) {
				poll := start()
				for range b.N {
					want(poll, "slow_down")
				}
			})
		})
	}
}
