package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/sigil-auth/sigil/account"
	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/keys"
	"github.com/sigil-auth/sigil/mfa"
	"github.com/sigil-auth/sigil/store"
)

// app is the wired domain: database, sealer, key manager and authority.
type app struct {
	cfg    Config
	log    *slog.Logger
	db     *store.DB
	sealer *keys.Sealer
	keys   *keys.Manager
	auth   *authority.Service
	// factors are the second factors; constructing them sets the core's
	// second-factor gate.
	factors *mfa.Service
	// accounts is account self-service; constructing it sets the core's
	// email verifier.
	accounts *account.Service
}

func newLogger(cfg Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// loadSealer returns the key-encryption keys: from the configuration, or
// for SQLite from PATH.kek, generating that file (mode 0600) on first use.
// Postgres needs the key configured: a key generated on one instance's disk
// would leave the others unable to unseal.
func loadSealer(cfg Config, log *slog.Logger) (*keys.Sealer, error) {
	if cfg.KeyEncryptionKey != "" {
		return keys.ParseKEKs(cfg.KeyEncryptionKey)
	}
	path := store.SQLitePath(cfg.DatabaseURL)
	if path == "" {
		return nil, errors.New("SIGIL_KEY_ENCRYPTION_KEY is required with a postgres database (generate one with: openssl rand -base64 32)")
	}
	kekPath := path + ".kek"
	b, err := readKEKFile(kekPath)
	if err == nil {
		s, err := keys.ParseKEKs(strings.TrimSpace(string(b)))
		if err != nil {
			return nil, fmt.Errorf("%s: %v", kekPath, err)
		}
		return s, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %v", kekPath, err)
	}
	kek, err := keys.NewKEK()
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(kekPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create %s: %v", kekPath, err)
	}
	if _, err := f.WriteString(kek + "\n"); err != nil {
		f.Close()
		return nil, fmt.Errorf("write %s: %v", kekPath, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("write %s: %v", kekPath, err)
	}
	log.Warn("no SIGIL_KEY_ENCRYPTION_KEY set: generated one into "+kekPath+"; back it up apart from the database's backups, or set SIGIL_KEY_ENCRYPTION_KEY", "file", kekPath)
	return keys.ParseKEKs(kek)
}

// readKEKFile reads the key-encryption key file, refusing one that group
// or others may read or write, or that another user owns: it unseals every
// signing key in the database.
func readKEKFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("refusing a key-encryption key file readable or writable by group or others (mode %04o): run chmod 600 %s", perm, path)
	}
	if err := checkKEKOwner(path, info); err != nil {
		return nil, err
	}
	return io.ReadAll(io.LimitReader(f, 64<<10))
}

// openApp opens the database (migrating it when migrate is set, or when
// it is an SQLite file, as serve would: the embedded default has no other
// instance or operator to wait for) and wires the domain services. It
// does not load keys.
func openApp(ctx context.Context, cfg Config, log *slog.Logger, migrate bool) (*app, error) {
	migrate = migrate || store.SQLitePath(cfg.DatabaseURL) != ""
	sealer, err := loadSealer(cfg, log)
	if err != nil {
		return nil, err
	}
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	db.SetQueryTimeout(cfg.DatabaseTimeout)
	if migrate {
		applied, err := db.Migrate(ctx)
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("migrate database: %w", err)
		}
		if len(applied) > 0 {
			log.Info("database migrated", "applied", strings.Join(db.MigrationNames(applied), " "), "schema_version", applied[len(applied)-1])
		}
	} else if err := db.CheckSchema(ctx); err != nil {
		db.Close()
		return nil, err
	}
	ring := &keys.Ring{}
	km := keys.NewManager(db, sealer, ring, cfg.keyPolicy(), nil, log)
	auth, err := authority.New(authority.Config{
		Issuer: cfg.Issuer, Audience: cfg.Audience, AccessTTL: cfg.AccessTTL, RefreshTTL: cfg.RefreshTTL, Argon2: cfg.Argon2,
		RefreshReuseGrace:    cfg.RefreshReuseGrace,
		LockoutThreshold:     cfg.LockoutThreshold,
		MaxHashesPerClient:   cfg.MaxHashesPerClient,
		RequireVerifiedEmail: cfg.RequireVerifiedEmail,
		SessionTTL:           cfg.SessionTTL,
		MFARequiredRoles:     cfg.MFARequiredRoles,
	}, db, ring, cfg.now, log)
	if err != nil {
		db.Close()
		return nil, err
	}
	factors := mfa.New(auth, db, mfa.Config{Issuer: cfg.Issuer, Sealer: sealer,
		WebAuthnRPID: cfg.WebAuthnRPID, WebAuthnOrigins: cfg.WebAuthnOrigins})
	return &app{cfg: cfg, log: log, db: db, sealer: sealer, keys: km, auth: auth, factors: factors, accounts: account.New(auth, db)}, nil
}

func (a *app) Close() { a.db.Close() }
