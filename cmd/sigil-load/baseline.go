package main

import (
	"bufio"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/crypto/argon2"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/keys/rsasign"
	"github.com/sigil-auth/sigil/store"
)

// serveBare is the -bare-serve mode: it serves the bytes read from stdin as
// application/json on 127.0.0.1:0 with a bare net/http handler, prints the
// address, and exits when stdin closes. It is the JWKS baseline: the same
// bytes, the same load generator, no Sigil.
func serveBare(stdin io.Reader, stdout io.Writer) error {
	r := bufio.NewReader(stdin)
	n, err := r.ReadString('\n')
	if err != nil {
		return fmt.Errorf("read length: %w", err)
	}
	size, err := strconv.Atoi(n[:len(n)-1])
	if err != nil || size < 0 || size > 1<<20 {
		return fmt.Errorf("bad length %q", n)
	}
	body := make([]byte, size)
	if _, err := io.ReadFull(r, body); err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}), ReadHeaderTimeout: 5 * time.Second}
	fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())
	go func() {
		_, _ = io.Copy(io.Discard, r) // returns when the parent closes stdin
		srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

var listenRE = regexp.MustCompile(`listening on (http://[0-9a-zA-Z.:\[\]]+)`)

// child is a process started by the load generator and stopped by it.
type child struct {
	cmd  *exec.Cmd
	base string
	done chan error
	in   io.WriteCloser
}

// startChild runs cmd, waits for its "listening on http://…" line on
// stdout, and keeps draining its stdout afterwards.
func startChild(cmd *exec.Cmd, stdin []byte) (*child, error) {
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, done: make(chan error, 1), in: in}
	if stdin != nil {
		if _, err := in.Write(stdin); err != nil {
			c.stop()
			return nil, err
		}
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sent := false
		for sc.Scan() {
			if m := listenRE.FindStringSubmatch(sc.Text()); m != nil && !sent {
				found <- m[1]
				sent = true
			}
		}
		c.done <- cmd.Wait()
	}()
	select {
	case c.base = <-found:
		return c, nil
	case err := <-c.done:
		c.done <- err
		return nil, fmt.Errorf("%s exited before listening: %v", filepath.Base(cmd.Path), err)
	case <-time.After(60 * time.Second):
		c.stop()
		return nil, fmt.Errorf("%s did not start listening within 60s", filepath.Base(cmd.Path))
	}
}

// stop asks the child to end (stdin closed, SIGTERM) and kills it if it
// has not within 15 seconds.
func (c *child) stop() {
	c.in.Close()
	_ = c.cmd.Process.Signal(os.Interrupt)
	select {
	case <-c.done:
	case <-time.After(15 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// startBareJWKS fetches the target's JWKS once and serves the same bytes
// from a -bare-serve child process of this binary.
func startBareJWKS(ctx context.Context, l *loader) (*child, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.base+"/.well-known/jwks.json", nil)
	if err != nil {
		return nil, err
	}
	resp, err := l.client.Do(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch JWKS: status %d %v", resp.StatusCode, err)
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	in := append([]byte(strconv.Itoa(len(body))+"\n"), body...)
	return startChild(exec.CommandContext(ctx, self, "-bare-serve"), in)
}

// rate runs f on workers goroutines for d and returns calls per second.
func rate(d time.Duration, workers int, f func() error) (float64, error) {
	var n atomic.Int64
	var firstErr error
	var once sync.Once
	stop := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				if err := f(); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(n.Load()) / time.Since(start).Seconds(), firstErr
}

// argon2Rate is the raw argon2id rate at p with one hash per core at a
// time (what login can do at best).
func argon2Rate(d time.Duration, p authority.Argon2Params) (float64, error) {
	salt := make([]byte, p.SaltLen)
	_, _ = rand.Read(salt)
	return rate(d, runtime.GOMAXPROCS(0), func() error {
		argon2.IDKey([]byte("correct horse battery staple"), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
		return nil
	})
}

// sampleClaims are claims the size of a Sigil user's access token.
func sampleClaims() []byte {
	now := time.Now().Unix()
	b, _ := json.Marshal(map[string]any{
		"iss": "http://127.0.0.1:8080", "sub": "5d0c3a4e-1b2c-4d5e-8f90-123456789abc", "aud": "sigil",
		"exp": now + 900, "iat": now, "nbf": now, "jti": "q1w2e3r4t5y6u7i8o9p0aa", "client_id": "sigil",
		"scope": "", "email": "load-0123456789ab@example.com", "roles": []string{},
	})
	return b
}

// joseBench holds a key of one algorithm and a token it signed, to
// measure raw go-jose compact signing and verification (parse plus
// signature check) with one goroutine per core.
type joseBench struct {
	alg     jose.SignatureAlgorithm
	signer  jose.Signer
	pub     crypto.PublicKey
	payload []byte
	token   string
}

func newJoseBench(alg string) (*joseBench, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case "RS256":
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case "EdDSA":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	case "ES256":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		return nil, fmt.Errorf("no raw baseline for alg %q", alg)
	}
	if err != nil {
		return nil, err
	}
	// RS256 signs through the backend Sigil uses in a build like this
	// one (libcrypto with -tags openssl), so the limit is the server's.
	var key any = priv
	if rk, ok := priv.(*rsa.PrivateKey); ok {
		k, err := rsasign.New(rk)
		if err != nil {
			return nil, err
		}
		key = rs256Opaque{k}
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg), Key: jose.JSONWebKey{Key: key, KeyID: "k1", Algorithm: alg}},
		(&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		return nil, err
	}
	j := &joseBench{alg: jose.SignatureAlgorithm(alg), signer: signer, pub: priv.Public(), payload: sampleClaims()}
	if j.token, err = j.sign(); err != nil {
		return nil, err
	}
	return j, nil
}

// rs256Opaque lets go-jose sign RS256 through an rsasign.Key.
type rs256Opaque struct{ k *rsasign.Key }

func (s rs256Opaque) Public() *jose.JSONWebKey {
	return &jose.JSONWebKey{Key: s.k.Public(), Algorithm: "RS256"}
}
func (s rs256Opaque) Algs() []jose.SignatureAlgorithm { return []jose.SignatureAlgorithm{jose.RS256} }
func (s rs256Opaque) SignPayload(payload []byte, _ jose.SignatureAlgorithm) ([]byte, error) {
	return s.k.SignSHA256(payload)
}

func (j *joseBench) sign() (string, error) {
	obj, err := j.signer.Sign(j.payload)
	if err != nil {
		return "", err
	}
	return obj.CompactSerialize()
}

func (j *joseBench) signRate(d time.Duration) (float64, error) {
	return rate(d, runtime.GOMAXPROCS(0), func() error { _, err := j.sign(); return err })
}

func (j *joseBench) verifyRate(d time.Duration) (float64, error) {
	algs := []jose.SignatureAlgorithm{j.alg}
	return rate(d, runtime.GOMAXPROCS(0), func() error {
		jws, err := jose.ParseSignedCompact(j.token, algs)
		if err != nil {
			return err
		}
		_, err = jws.Verify(j.pub)
		return err
	})
}

// dbBench is a scratch database for the database's own rate of the write
// an issuance adds: one refresh-token row through the store.
type dbBench struct {
	db      *store.DB
	dialect string
	userID  string
	dir     string
}

// openDBBench opens dbURL ("" means a fresh SQLite file in a temporary
// directory) and migrates it.
func openDBBench(ctx context.Context, dbURL string) (*dbBench, error) {
	b := &dbBench{}
	if dbURL == "" {
		dir, err := os.MkdirTemp("", "sigil-load-db")
		if err != nil {
			return nil, err
		}
		b.dir = dir
		dbURL = "sqlite:" + filepath.Join(dir, "bench.db")
	}
	dialect, _, err := store.ParseURL(dbURL)
	if err != nil {
		b.close()
		return nil, err
	}
	if dialect == store.Postgres {
		if err := checkLocalDB(ctx, dbURL, systemLookup); err != nil {
			b.close()
			return nil, err
		}
	}
	b.dialect = string(dialect)
	if b.db, err = store.Open(ctx, dbURL); err != nil {
		b.close()
		return nil, err
	}
	if _, err := b.db.Migrate(ctx); err != nil {
		b.close()
		return nil, err
	}
	now := time.Now().UTC()
	b.userID = "load-" + randomHex(8)
	if err := b.db.CreateUser(ctx, authority.User{ID: b.userID, Email: b.userID + "@example.com", PasswordHash: "x", CreatedAt: now, UpdatedAt: now}); err != nil {
		b.close()
		return nil, err
	}
	return b, nil
}

// checkLocalDB refuses a Postgres URL whose host is not this machine: the
// DB-write baseline writes to it as hard as it can.
func checkLocalDB(ctx context.Context, dbURL string, lookup lookupFunc) error {
	u, err := url.Parse(dbURL)
	if err != nil {
		return errors.New("-db-url: malformed URL")
	}
	host := u.Hostname()
	if host == "" || strings.HasPrefix(host, "/") {
		return nil // a Unix socket
	}
	port := u.Port()
	if port == "" {
		port = "5432"
	}
	if _, err := resolveTarget(ctx, net.JoinHostPort(host, port), lookup); err != nil {
		return fmt.Errorf("-db-url: %w", err)
	}
	return nil
}

// writeRate inserts refresh-token rows from conc goroutines for d.
func (b *dbBench) writeRate(ctx context.Context, d time.Duration, conc int) (float64, error) {
	return rate(d, conc, func() error {
		now := time.Now().UTC()
		return b.db.CreateRefreshToken(ctx, authority.RefreshToken{
			Hash: authority.HashToken(randomHex(32)), FamilyID: randomHex(16), UserID: b.userID, ClientID: "sigil",
			CreatedAt: now, ExpiresAt: now.Add(time.Hour),
		})
	})
}

func (b *dbBench) close() {
	if b.db != nil {
		b.db.Close()
	}
	if b.dir != "" {
		os.RemoveAll(b.dir)
	}
}
