package api

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/keys/keystest"
)

func TestClientLimiterBurstIsTwiceTheRateThenRefills(t *testing.T) {
	clk := keystest.NewClock(time.Unix(1_700_000_000, 0))
	l := newClientLimiter(2, clk.Now)
	for i := 0; i < 4; i++ {
		if ok, _, _ := l.allow("a"); !ok {
			t.Fatalf("request %d of the burst of 4 refused", i+1)
		}
	}
	ok, wait, audit := l.allow("a")
	if ok || wait != 500*time.Millisecond || !audit {
		t.Fatalf("fifth: ok=%v wait=%s audit=%v; want refused, 500ms, audited", ok, wait, audit)
	}
	if _, _, audit := l.allow("a"); audit {
		t.Fatal("second refusal within a minute audited again")
	}
	if ok, _, _ := l.allow("b"); !ok {
		t.Fatal("another client refused")
	}
	clk.Advance(500 * time.Millisecond)
	if ok, _, _ := l.allow("a"); !ok {
		t.Fatal("no token after the refill interval")
	}
}

func TestClientLimiterMemoryIsBounded(t *testing.T) {
	clk := keystest.NewClock(time.Unix(1_700_000_000, 0))
	l := newClientLimiter(1, clk.Now)
	l.max = 100
	for i := 0; i < 1000; i++ {
		clk.Advance(time.Millisecond)
		l.allow("10.0.0." + strconv.Itoa(i))
	}
	if n := l.size(); n != 100 {
		t.Fatalf("clients kept = %d, want the cap of 100", n)
	}
	// The most recent clients are the ones kept.
	l.mu.Lock()
	_, newest := l.clients["10.0.0.999"]
	_, oldest := l.clients["10.0.0.0"]
	l.mu.Unlock()
	if !newest || oldest {
		t.Fatalf("eviction kept the oldest (%v) or dropped the newest (%v)", oldest, !newest)
	}
	clk.Advance(l.idle + time.Second)
	l.allow("fresh")
	l.sweep()
	if n := l.size(); n != 1 {
		t.Fatalf("after the idle period %d clients remain, want only the fresh one", n)
	}
}

func TestClientLimiterJanitorStopsWithItsContext(t *testing.T) {
	l := newClientLimiter(1, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { l.run(ctx); close(done) }()
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("janitor did not stop")
	}
}

func TestRateLimitZeroIsOff(t *testing.T) {
	if newClientLimiter(0, nil) != nil {
		t.Fatal("rate 0 built a limiter")
	}
}

// BenchmarkClientLimiterAllow measures one limiter decision with the
// client table full (100 000 clients, so every new client evicts one).
func BenchmarkClientLimiterAllow(b *testing.B) {
	l := newClientLimiter(20, nil)
	for i := 0; i < limiterMaxClients; i++ {
		l.allow("c" + strconv.Itoa(i))
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		l.allow("n" + strconv.Itoa(i%200_000))
	}
}
