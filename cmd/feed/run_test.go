package main

import (
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"
)

func TestRunServesUntilSIGTERM(t *testing.T) {
	a := newAuthority(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	t.Setenv("FEED_ADDR", addr)
	t.Setenv("FEED_ISSUER", a.srv.URL)
	t.Setenv("FEED_AUDIENCE", "sigil")

	done := make(chan error, 1)
	go func() { done <- run(quiet) }()

	url := "http://" + addr + "/feed/posts"
	var status int
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer "+a.token(t, "alice"))
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			status = resp.StatusCode
			resp.Body.Close()
			break
		}
	}
	if status != http.StatusOK {
		t.Fatalf("GET %s: status %d, want 200", url, status)
	}

	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run did not return after SIGTERM")
	}
}
