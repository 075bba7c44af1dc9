package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/sigil-auth/sigil/api"
	"github.com/sigil-auth/sigil/keys"
	"github.com/sigil-auth/sigil/web"
)

func runServe(ctx context.Context, e env) error {
	fs, load := newFlags(e, "serve", "[serve] [flags]")
	if err := fs.Parse(e.args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve takes no arguments, got %q", fs.Arg(0))
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	cfg.now = e.now
	log, stopLog := newServeLogger(cfg, e.stderr)
	defer stopLog()
	log.Info("starting sigil", "version", buildVersion(), "go", runtime.Version(),
		"rsa_backend", keys.RSABackend(), "rsa_backend_version", keys.RSABackendVersion())
	limitMemory(e, cfg, log)
	a, err := openApp(ctx, cfg, log, true)
	if err != nil {
		return err
	}
	defer a.Close()
	metrics := api.NewMetrics(a.keys.Ring())
	metrics.BuildInfo(buildVersion(), keys.RSABackend())
	a.keys.OnReload(metrics.KeyringReloads.Inc)
	metrics.WatchKeySet(func() bool { return a.keys.Unusable() != nil })
	a.auth.OnIssue(func(alg, grant string) { metrics.TokensIssued.WithLabelValues(alg, grant).Inc() })
	a.keys.OnEvent(func(ev keys.Event) { metrics.KeyEvents.WithLabelValues(ev.Type).Inc() })
	if err := a.keys.Bootstrap(ctx, "system"); err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	if cfg.AdminEmail != "" {
		created, err := a.auth.EnsureAdmin(ctx, cfg.AdminEmail, cfg.AdminPassword)
		if err != nil {
			return fmt.Errorf("create admin %s: %w", cfg.AdminEmail, err)
		}
		if created {
			log.Info("administrator created", "email", cfg.AdminEmail)
		}
	}

	srv := api.New(api.Config{Issuer: cfg.Issuer, JWKSMaxAge: cfg.JWKSMaxAge, ClientIPHeader: cfg.ClientIPHeader,
		RateLimit: cfg.RateLimit, CORSOrigins: cfg.CORSOrigins},
		a.auth, a.keys, a.db, metrics, log)
	if err := srv.MountPages(web.Config{Issuer: cfg.Issuer, TemplateDir: cfg.TemplateDir}); err != nil {
		return fmt.Errorf("hosted pages: %w", err)
	}
	httpSrv := srv.HTTPServer(cfg.Addr)
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	notify, err := a.db.ListenKeys(ctx, log)
	if err != nil {
		log.Warn("key change notifications unavailable; relying on periodic reload", "err", err)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.keys.Run(ctx, notify, cfg.KeyReloadInterval, min(10*time.Second, cfg.KeyReloadInterval))
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		srv.Run(ctx)
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		pruneThrottle(ctx, a, log)
	}()
	if err := startMail(ctx, a, metrics, log, &wg); err != nil {
		cancel()
		wg.Wait()
		return err
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- httpSrv.Serve(ln) }()
	announce(e, cfg, ln.Addr().String())

	select {
	case err = <-serveErr:
	case <-ctx.Done():
		log.Info("shutting down")
		sctx, scancel := context.WithTimeout(context.Background(), 15*time.Second)
		err = httpSrv.Shutdown(sctx)
		scancel()
	}
	cancel()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// pruneThrottle deletes, every hour, failed-login counters untouched for a
// day and no longer locking, so guessed emails do not pile up.
func pruneThrottle(ctx context.Context, a *app, log *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := a.db.PruneLoginThrottle(ctx, time.Now().Add(-24*time.Hour)); err != nil {
				log.Warn("prune login throttle", "err", err)
			} else if n > 0 {
				log.Info("pruned login throttle", "rows", n)
			}
		}
	}
}

// announce prints where Sigil listens and how to try it.
func announce(e env, cfg Config, addr string) {
	base := "http://" + addr
	fmt.Fprintf(e.stdout, `Sigil is listening on %s (issuer %s)

Try it:
  curl -s -X POST %s/auth/signup -H 'Content-Type: application/json' \
       -d '{"email":"ada@example.com","password":"correct horse battery","name":"Ada"}'
  curl -s -X POST %s/auth/login -H 'Content-Type: application/json' \
       -d '{"email":"ada@example.com","password":"correct horse battery"}'
  curl -s %s/auth/me -H "Authorization: Bearer $TOKEN"
  curl -s %s/.well-known/jwks.json

`, base, cfg.Issuer, base, base, base, base)
}
