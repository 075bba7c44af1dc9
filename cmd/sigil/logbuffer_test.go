package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// serve's log lines to a file are batched, but a WARN record is written at
// once, a full buffer writes itself out, and stopping writes the rest, in
// order.
func TestServeLogBatching(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	read := func() string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	log, stop := newServeLogger(Config{LogLevel: "info", LogFormat: "text"}, f)
	defer stop()

	log.Info("first")
	log.With("component", "test").Warn("second")
	got := read()
	if !strings.Contains(got, "msg=first") || !strings.Contains(got, "msg=second") || !strings.Contains(got, "component=test") ||
		strings.Index(got, "msg=first") > strings.Index(got, "msg=second") {
		t.Fatalf("after a WARN record the file holds %q", got)
	}

	long := strings.Repeat("x", 1024)
	for range 70 {
		log.Info("bulk", "pad", long)
	}
	if n := strings.Count(read(), "msg=bulk"); n < 60 {
		t.Fatalf("%d of 70 bulk lines written with %d KiB waiting", n, 70)
	}

	log.Info("last")
	stop()
	got = read()
	if strings.Count(got, "msg=bulk") != 70 || !strings.Contains(got, "msg=last") {
		t.Fatalf("after stop: %d bulk lines, last present %v", strings.Count(got, "msg=bulk"), strings.Contains(got, "msg=last"))
	}
	if strings.Index(got, "msg=last") < strings.LastIndex(got, "msg=bulk") {
		t.Fatal("lines out of order")
	}
}

// In-process (a writer that is not a file) lines are written directly.
func TestServeLogUnbufferedForOtherWriters(t *testing.T) {
	var b syncBuffer
	log, stop := newServeLogger(Config{LogLevel: "info", LogFormat: "text"}, &b)
	defer stop()
	log.Info("now")
	if !strings.Contains(b.String(), "msg=now") {
		t.Fatalf("got %q", b.String())
	}
}
