package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// spawned is a Sigil the load generator started itself.
type spawned struct {
	*child
	dir string
}

func (s *spawned) stop() {
	s.child.stop()
	os.RemoveAll(s.dir)
}

// spawnSigil starts o.spawn serve on 127.0.0.1:0 with a fresh SQLite
// database in a temporary directory, the rate limit and lockout off (one
// client is the whole load), automatic rotation off, and an administrator
// (so the client_credentials scenario can create its client). It points
// o.addr, o.pid, the admin credentials and the argon2 baseline at it.
func spawnSigil(o *options) (*spawned, error) {
	dir, err := os.MkdirTemp("", "sigil-load")
	if err != nil {
		return nil, err
	}
	// A database that already has this administrator (a seeded one
	// loaded again) needs its password given with -admin-*.
	adminEmail, adminPass := "load-admin@example.com", randomHex(16)
	if o.adminEmail != "" {
		adminEmail, adminPass = o.adminEmail, o.adminPassword
	}
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SIGIL_") {
			env = append(env, kv)
		}
	}
	env = append(env,
		"SIGIL_ADDR=127.0.0.1:0",
		"SIGIL_DATABASE_URL=sqlite:"+filepath.Join(dir, "sigil.db"),
		"SIGIL_RATE_LIMIT=0",
		"SIGIL_MAX_HASHES_PER_CLIENT=0", // the load comes from one address
		"SIGIL_LOCKOUT_THRESHOLD=0",
		"SIGIL_ROTATION_PERIOD=0",
		"SIGIL_ADMIN_EMAIL="+adminEmail,
		"SIGIL_ADMIN_PASSWORD="+adminPass,
	)
	for _, kv := range o.spawnEnv {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !(strings.HasPrefix(k, "SIGIL_") || k == "GOMEMLIMIT" || k == "GOGC" || k == "GODEBUG") {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("-spawn-env %q: use SIGIL_NAME=VALUE (or GOMEMLIMIT, GOGC, GODEBUG)", kv)
		}
		env = append(env, kv)
		// Keep the raw argon2id baseline at the spawned Sigil's cost.
		n, err := strconv.ParseUint(v, 10, 32)
		switch {
		case err != nil:
		case k == "SIGIL_ARGON2_MEMORY":
			o.argon2.Memory = uint32(n)
		case k == "SIGIL_ARGON2_TIME":
			o.argon2.Time = uint32(n)
		case k == "SIGIL_ARGON2_THREADS":
			o.argon2.Threads = uint8(n)
		}
	}
	logf, err := os.Create(filepath.Join(dir, "sigil.log"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	defer logf.Close() // the child holds its own descriptor
	cmd := exec.Command(o.spawn, "serve")
	cmd.Env, cmd.Stderr = env, logf
	c, err := startChild(cmd, nil)
	if err != nil {
		tail, _ := os.ReadFile(logf.Name())
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start %s: %w\n%s", o.spawn, err, lastLines(string(tail), 10))
	}
	o.addr, o.pid = c.base, c.cmd.Process.Pid
	if o.adminEmail == "" {
		o.adminEmail, o.adminPassword = adminEmail, adminPass
	}
	return &spawned{child: c, dir: dir}, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
