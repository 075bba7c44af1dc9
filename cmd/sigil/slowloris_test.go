package main

import (
	"errors"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/store/storetest"
)

// Two hundred connections dribbling their headers a byte at a time do not
// keep other clients from logging in, and the server drops them once the
// header timeout (5 s) has passed.
func TestSlowClientsDoNotStarveOthers(t *testing.T) {
	if testing.Short() {
		t.Skip("holds slow connections for several seconds")
	}
	s := startServer(t, testEnv(storetest.SQLiteURL(t), nil))
	s.signupLogin(t, "patient@example.com", "password123")
	addr := strings.TrimPrefix(s.Base, "http://")

	const slow = 200
	conns := make([]net.Conn, 0, slow)
	for i := 0; i < slow; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("slow connection %d: %v", i, err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	start := time.Now()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := "POST /auth/login HTTP/1.1\r\nHost: sigil\r\nX-Slow: " + strings.Repeat("a", 1000)
			for i := 0; i < len(msg); i++ {
				if _, err := c.Write([]byte{msg[i]}); err != nil {
					return // dropped by the server
				}
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
				}
			}
		}()
	}

	// Meanwhile, ordinary clients log in.
	for i := 0; i < 20; i++ {
		s.login(t, "patient@example.com", "password123")
	}

	// Past the header timeout, every slow connection has been closed by
	// the server: a read sees the end of the stream, not a timeout.
	time.Sleep(time.Until(start.Add(6500 * time.Millisecond)))
	close(stop)
	wg.Wait()
	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		buf := make([]byte, 512)
		var err error
		for err == nil {
			_, err = c.Read(buf)
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("slow connection %d still open after the header timeout", i)
		}
	}
	s.login(t, "patient@example.com", "password123")
}

// Request headers beyond the limit are refused with 431.
func TestOversizedHeadersAreRefused(t *testing.T) {
	s := startServer(t, testEnv(storetest.SQLiteURL(t), nil))
	st, _, _ := do(t, "GET", s.Base+"/healthz", "", "", "X-Big", strings.Repeat("b", 64<<10))
	if st != 431 {
		t.Fatalf("64 KiB header: %d, want 431", st)
	}
	if st, _, _ := do(t, "GET", s.Base+"/healthz", "", "", "X-Ok", strings.Repeat("b", 4<<10)); st != 200 {
		t.Fatalf("4 KiB header: %d, want 200", st)
	}
}
