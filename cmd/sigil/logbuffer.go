package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"
)

// Log batching for serve. Every request writes one access-log line; written
// straight to a file or pipe that is one write system call per request,
// which on a small machine costs as much as the rest of a JWKS answer. serve
// therefore gathers log lines in memory and writes them together: every
// logFlushEvery, when logBufferMax bytes are waiting, at once for any
// record of level WARN or above, and at shutdown. Lines keep their order
// and content; an info line reaches the output at most logFlushEvery late
// (and the last such lines are lost if the process is killed).
const (
	logFlushEvery = 100 * time.Millisecond
	logBufferMax  = 64 << 10
)

// logBuffer is an io.Writer that batches writes to w.
type logBuffer struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) >= logBufferMax {
		b.flushLocked()
	}
	return len(p), nil
}

// Flush writes out what is waiting.
func (b *logBuffer) Flush() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flushLocked()
}

func (b *logBuffer) flushLocked() {
	if len(b.buf) == 0 {
		return
	}
	// A failed write cannot be reported anywhere better than the log
	// itself; the lines are dropped rather than kept growing.
	_, _ = b.w.Write(b.buf)
	b.buf = b.buf[:0]
}

// flushingHandler flushes the buffer after every record of level WARN or
// above, so problems show up at once.
type flushingHandler struct {
	slog.Handler
	buf *logBuffer
}

func (h flushingHandler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		h.buf.Flush()
	}
	return err
}

func (h flushingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return flushingHandler{h.Handler.WithAttrs(attrs), h.buf}
}

func (h flushingHandler) WithGroup(name string) slog.Handler {
	return flushingHandler{h.Handler.WithGroup(name), h.buf}
}

// newServeLogger returns serve's logger. When the output is an operating
// system file (stderr of a real process) its lines are batched as
// described above; stop flushes and ends the batching, and must be called
// when serve returns. Other writers (in-process tests) are written
// directly.
func newServeLogger(cfg Config, w io.Writer) (log *slog.Logger, stop func()) {
	if _, isFile := w.(*os.File); !isFile {
		return newLogger(cfg, w), func() {}
	}
	buf := &logBuffer{w: w, buf: make([]byte, 0, logBufferMax)}
	inner := newLogger(cfg, buf)
	log = slog.New(flushingHandler{inner.Handler(), buf})
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(logFlushEvery)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				buf.Flush()
			case <-done:
				return
			}
		}
	}()
	var once sync.Once
	return log, func() {
		once.Do(func() {
			close(done)
			wg.Wait()
			buf.Flush()
		})
	}
}
