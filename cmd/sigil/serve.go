package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sigil-auth/sigil/api"
	"github.com/sigil-auth/sigil/cimd"
	"github.com/sigil-auth/sigil/inspect"
	"github.com/sigil-auth/sigil/keys"
	"github.com/sigil-auth/sigil/oidc"
	"github.com/sigil-auth/sigil/store"
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
	a.db.SetLogger(log)
	metrics := api.NewMetrics(a.keys.Ring())
	metrics.BuildInfo(buildVersion(), keys.RSABackend())
	a.keys.OnReload(metrics.KeyringReloads.Inc)
	metrics.WatchKeySet(func() bool { return a.keys.Unusable() != nil })
	metrics.WatchDatabase(a.db.Available)
	a.auth.OnIssue(func(alg, grant string) { metrics.TokensIssued.WithLabelValues(alg, grant).Inc() })
	a.keys.OnEvent(func(ev keys.Event) { metrics.KeyEvents.WithLabelValues(ev.Type).Inc() })
	if err := a.keys.Bootstrap(ctx, "system"); err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	if err := a.auth.LoadDenyList(ctx); err != nil {
		// Verification answers 503 until a load succeeds; every
		// verification retries it.
		log.Warn("access-token deny list not loaded at start", "err", err)
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
	setupToken, err := a.auth.NewSetupToken(ctx)
	if err != nil {
		return fmt.Errorf("first-run set-up link: %w", err)
	}
	if err := a.auth.EnsureConsoleClient(ctx, strings.TrimRight(cfg.Issuer, "/")+"/console/callback"); err != nil {
		return fmt.Errorf("admin console client: %w", err)
	}

	if cfg.CIMD {
		cimd.New(a.auth, cimd.Config{AllowLoopback: cfg.TestCIMDLoopback})
	}
	flow, err := oidc.New(a.auth, a.factors, a.db, a.keys.Ring(), a.sealer)
	if err != nil {
		return fmt.Errorf("openid connect: %w", err)
	}
	ups := newUpstreams(a, cfg, log, metrics)
	var consoleSealer web.Sealer
	if a.sealer != nil {
		consoleSealer = a.sealer
	}
	srv := api.New(api.Config{Issuer: cfg.Issuer, JWKSMaxAge: cfg.JWKSMaxAge, ClientIPHeader: cfg.ClientIPHeader, TrustedProxies: cfg.TrustedProxies,
		RateLimit: cfg.RateLimit, CORSOrigins: cfg.CORSOrigins,
		Registration: cfg.Registration, RegistrationRate: cfg.RegistrationRate},
		api.Services{Auth: a.auth, Factors: a.factors, Accounts: a.accounts, Inspect: inspect.New(a.auth, a.keys.Ring()), Flow: flow, Keys: a.keys, Upstreams: ups}, a.db, metrics, log)
	if err := srv.MountPages(web.Config{Issuer: cfg.Issuer, TemplateDir: cfg.TemplateDir, Sealer: consoleSealer}); err != nil {
		return fmt.Errorf("hosted pages: %w", err)
	}
	httpSrv := srv.HTTPServer(cfg.Addr)
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}

	warnExposure(cfg, log)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	notify, err := a.db.ListenKeys(ctx, log)
	if err != nil {
		log.Warn("key change notifications unavailable; relying on periodic reload", "err", err)
	}
	if err := a.db.FollowChanges(ctx, log); err != nil {
		log.Warn("change notifications unavailable; clients and pending device codes are read from the database on every request", "err", err)
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
		prune(ctx, a, cfg, metrics.PrunedRows(), log)
	}()
	if err := startMail(ctx, a, metrics, log, &wg); err != nil {
		cancel()
		wg.Wait()
		return err
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- httpSrv.Serve(ln) }()
	announce(e, cfg, ln.Addr().String(), setupToken)

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

// prune deletes, every cfg.PruneInterval, expired refresh-token
// families, codes, browser sessions, deny-list entries, one-time tokens,
// old sent mail, idle failed-login counters and audit events older than
// SIGIL_AUDIT_RETENTION, in bounded batches (store.Prune). On Postgres
// one instance at a time does it. The first pass runs a minute after the
// start, out of the way of start-up.
func prune(ctx context.Context, a *app, cfg Config, pruned *prometheus.CounterVec, log *slog.Logger) {
	if cfg.PruneInterval <= 0 {
		log.Info("pruning is off (SIGIL_PRUNE_INTERVAL=0)")
		return
	}
	for _, table := range store.PruneTables {
		pruned.WithLabelValues(table)
	}
	wait := min(time.Minute, cfg.PruneInterval)
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = cfg.PruneInterval
		start := time.Now()
		res, err := a.db.Prune(ctx, store.PruneOptions{Now: start.UTC(), AuditRetention: cfg.AuditRetention})
		for table, n := range res.Rows {
			pruned.WithLabelValues(table).Add(float64(n))
		}
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("pruning failed", "err", err, "rows", res.Total())
		case err != nil:
			return
		case !res.Ran:
			log.Debug("pruning skipped: another instance is pruning")
		default:
			attrs := []any{"rows", res.Total(), "duration", time.Since(start).Round(time.Millisecond)}
			for _, table := range store.PruneTables {
				attrs = append(attrs, table, res.Rows[table])
			}
			log.Info("pruned expired rows", attrs...)
		}
	}
}

// warnExposure warns when the issuer is http:// while Sigil listens on an
// address other hosts can reach: passwords, tokens and session cookies
// would cross the network in clear. Behind a TLS-terminating proxy the
// issuer is the proxy's https:// URL, and the warning does not fire.
func warnExposure(cfg Config, log *slog.Logger) {
	if strings.HasPrefix(cfg.Issuer, "http://") && !loopbackAddr(cfg.Addr) {
		log.Warn("issuer is http:// on a non-loopback address: passwords and tokens cross the network in clear; serve Sigil behind TLS and set SIGIL_ISSUER to its https:// URL",
			"issuer", cfg.Issuer, "addr", cfg.Addr)
	}
}

// loopbackAddr reports whether a listen address (HOST:PORT) is reachable
// only from this host. An empty host listens on every interface.
func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// announce prints where Sigil listens and how to try it: the set-up
// link while no administrator exists, the browser pages and curl lines.
func announce(e env, cfg Config, addr, setupToken string) {
	base := "http://" + addr
	site := strings.TrimSuffix(cfg.Issuer, "/")
	fmt.Fprintf(e.stdout, `Sigil is listening on %s (issuer %s)
%s
In a browser:
  %s/          what this server is
  %s/login     sign in or create an account
  %s/account   your account
  %s/console/  the console, for administrators
%s

Try it:
  curl -s -X POST %s/auth/signup -H 'Content-Type: application/json' \
       -d '{"email":"ada@example.com","password":"correct horse battery","name":"Ada"}'
  TOKEN=$(curl -s -X POST %s/auth/login -H 'Content-Type: application/json' \
       -d '{"email":"ada@example.com","password":"correct horse battery"}' | sed -E 's/.*"token":"([^"]+)".*/\1/')
  curl -s %s/auth/me -H "Authorization: Bearer $TOKEN"
  curl -s %s/.well-known/jwks.json

`, base, cfg.Issuer, setupLine(site, setupToken), site, site, site, site, mailDestination(cfg), base, base, base, base)
}

// setupLine is the banner's first-run paragraph: the one-time link that
// creates the first administrator, while none exists ("" otherwise).
func setupLine(site, token string) string {
	if token == "" {
		return ""
	}
	return `
No administrator exists yet. Create the first one in a browser (the link
works once, for an hour, until an administrator exists):
  ` + site + `/setup?token=` + token + `
`
}

// mailDestination says, for the banner, where the mail Sigil sends
// (verification and reset links) goes.
func mailDestination(cfg Config) string {
	if cfg.SMTP == nil {
		return "Mail (verification and password-reset links) is written to the log: SIGIL_SMTP_URL is not set."
	}
	return "Mail goes to the SMTP server " + cfg.SMTP.String() + "."
}
