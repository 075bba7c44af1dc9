package oidcconn

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestAnswersAreCutAtOneMebibyte(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := maxAnswer
		if r.URL.Path == "/long" {
			n++
		}
		_, _ = io.WriteString(w, strings.Repeat("x", n))
	}))
	defer srv.Close()
	c := New(0).client
	get := func(path string) ([]byte, error) {
		resp, err := c.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		return io.ReadAll(resp.Body)
	}
	if b, err := get("/exact"); err != nil || len(b) != maxAnswer {
		t.Fatalf("an answer of exactly 1 MiB: %d bytes, %v", len(b), err)
	}
	if _, err := get("/long"); !errors.Is(err, errTooLarge) {
		t.Fatalf("an answer one byte over 1 MiB: %v, want errTooLarge", err)
	}
}
