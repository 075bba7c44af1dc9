package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sigil-auth/sigil/verify"
)

const (
	// startupWait is how long feed retries discovery before giving up.
	startupWait = time.Minute
	// shutdownTimeout bounds the graceful shutdown on SIGINT or SIGTERM.
	shutdownTimeout = 10 * time.Second
)

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(logger); err != nil {
		logger.Error("feed failed", "err", err)
		os.Exit(1)
	}
}

// config is feed's configuration, read once from the environment.
type config struct {
	addr     string
	issuer   string
	audience string
}

func loadConfig(getenv func(string) string) (config, error) {
	c := config{
		addr:     getenv("FEED_ADDR"),
		issuer:   getenv("FEED_ISSUER"),
		audience: getenv("FEED_AUDIENCE"),
	}
	if c.addr == "" {
		c.addr = "127.0.0.1:8081"
	}
	if c.issuer == "" {
		c.issuer = "http://127.0.0.1:8080"
	}
	if c.audience == "" {
		c.audience = "sigil"
	}
	if u, err := url.Parse(c.issuer); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, fmt.Errorf("FEED_ISSUER %q is not an absolute http(s) URL", c.issuer)
	}
	return c, nil
}

func run(logger *slog.Logger) error {
	cfg, err := loadConfig(os.Getenv)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	v, err := connect(ctx, cfg, logger, startupWait)
	if ctx.Err() != nil {
		logger.Info("feed stopped before the authority answered")
		return nil
	}
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("FEED_ADDR: %w", err)
	}
	srv := &http.Server{
		Handler:           newServer(v),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	logger.Info("feed listening", "addr", ln.Addr().String(), "issuer", cfg.issuer, "audience", cfg.audience)

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	logger.Info("feed shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// connect builds the token verifier, retrying discovery for up to wait
// while the authority is not up yet, as when both start together.
func connect(ctx context.Context, cfg config, logger *slog.Logger, wait time.Duration) (*verify.Verifier, error) {
	deadline := time.Now().Add(wait)
	delay := 250 * time.Millisecond
	for {
		v, err := verify.New(ctx, cfg.issuer, verify.WithAudience(cfg.audience), verify.WithLogger(logger))
		if err == nil {
			return v, nil
		}
		if time.Now().Add(delay).After(deadline) {
			return nil, fmt.Errorf("authority at %s not ready after %v: %w", cfg.issuer, wait, err)
		}
		logger.Warn("authority not ready; retrying", "issuer", cfg.issuer, "in", delay, "err", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 5*time.Second)
	}
}
