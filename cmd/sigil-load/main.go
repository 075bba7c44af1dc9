package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sigil-auth/sigil/authority"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := runMain(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "sigil-load:", err)
		}
		os.Exit(1)
	}
}

// options are the command line.
type options struct {
	addr          string
	duration      time.Duration
	conc          []int
	scenarios     []string
	clientID      string
	clientSecret  string
	adminEmail    string
	adminPassword string
	baselines     bool
	dbURL         string
	pid           int
	spawn         string
	spawnEnv      []string
	argon2        authority.Argon2Params
	refusedPause  time.Duration
	rounds        int
	peer          bool
	overload      []float64
	resource      string
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func parseOptions(args []string, stderr io.Writer) (options, bool, error) {
	fs := flag.NewFlagSet("sigil-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	var conc, scenario, overload string
	var bare bool
	var spawnEnv listFlag
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "Sigil to load, HOST:PORT or http://HOST:PORT; must resolve to 127.0.0.0/8 or ::1 only. A comma-separated list loads several instances of one cluster, worker i on instance i modulo their number")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long each scenario (and each baseline) runs")
	fs.StringVar(&conc, "c", "16", "concurrent workers (connections); a comma-separated list runs each scenario at each")
	fs.StringVar(&scenario, "scenario", "all", "jwks, jwks304, login, refresh, client_credentials, me, all (these six), introspect, authcode (authorize + code exchange of a signed-in user), loginpage (GET + POST /login with CSRF, a full browser sign-in), loginpage-post (the POST alone, the form fetched once), resource (GET /protected on -resource with the load user's token), register (POST /oauth2/register; SIGIL_REGISTRATION=open), or a comma-separated list")
	fs.DurationVar(&o.refusedPause, "refused-pause", time.Second, "how long a worker waits after a 429/503 before its next request, as a client honouring Retry-After; 0 retries at once")
	fs.StringVar(&overload, "overload", "", "overload curve of login, loginpage or loginpage-post (several alternate step by step), e.g. 4,16,60: measure the capacity at -c connections, then -c times each multiplier, clients retrying at once; prints logins/s against the capacity, admitted p99, answers/s, peak RSS and the CPU of a refusal")
	fs.StringVar(&o.resource, "resource", "", "resource server of the resource scenario, HOST:PORT on loopback: it must accept this Sigil's access tokens at GET /protected (bench/rs, bench/peers/node-jose)")
	fs.StringVar(&o.clientID, "client-id", "", "client for the client_credentials scenario")
	fs.StringVar(&o.clientSecret, "client-secret", "", "secret of -client-id")
	fs.StringVar(&o.adminEmail, "admin-email", "", "administrator used to create a client when -client-id is not given")
	fs.StringVar(&o.adminPassword, "admin-password", "", "password of -admin-email")
	fs.BoolVar(&o.baselines, "baselines", false, "also measure what each scenario is bounded by (bare JWKS handler, argon2id, go-jose sign/verify, DB write), alternating with it, and print ratios")
	fs.IntVar(&o.rounds, "rounds", 5, "with -baselines: rounds each scenario and its limits alternate in (each round lasts duration/rounds)")
	fs.StringVar(&o.dbURL, "db-url", "", "scratch database for the DB-write baseline (default: a temporary SQLite file); it is migrated")
	fs.IntVar(&o.pid, "pid", 0, "process id of the Sigil under load, to report its resident memory (Linux /proc)")
	fs.StringVar(&o.spawn, "spawn", "", "path of a sigil binary to start on 127.0.0.1 with a temporary SQLite database, load, and stop")
	fs.Var(&spawnEnv, "spawn-env", "KEY=VALUE added to the spawned Sigil's environment (repeatable), e.g. SIGIL_SIGNING_ALG=EdDSA")
	fs.BoolVar(&o.peer, "peer", false, "the target is another OAuth 2.0 server, not a Sigil: no sign-up or login, without -baselines (for side-by-side comparisons); -scenario client_credentials against its /oauth2/token with -client-id/-client-secret, or authcode with -client-id a public client whose redirect URI is http://127.0.0.1:9/callback and whose interaction signs in without a page (bench/peers/oidc-provider)")
	fs.BoolVar(&bare, "bare-serve", false, "internal: serve the bytes on stdin with a bare net/http handler (the JWKS baseline)")
	m := fs.Uint("argon2-memory", uint(authority.DefaultArgon2.Memory), "argon2id memory (KiB) of the raw baseline: the target's SIGIL_ARGON2_MEMORY")
	t := fs.Uint("argon2-time", uint(authority.DefaultArgon2.Time), "argon2id passes of the raw baseline: the target's SIGIL_ARGON2_TIME")
	p := fs.Uint("argon2-threads", uint(authority.DefaultArgon2.Threads), "argon2id lanes of the raw baseline: the target's SIGIL_ARGON2_THREADS")
	if err := fs.Parse(args); err != nil {
		return o, false, err
	}
	if fs.NArg() > 0 {
		return o, false, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if bare {
		return o, true, nil
	}
	if o.duration <= 0 || o.duration > time.Hour {
		return o, false, fmt.Errorf("-duration %s: use a duration from 1ms to 1h", o.duration)
	}
	for _, s := range strings.Split(conc, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n > 20000 {
			return o, false, fmt.Errorf("-c %q: use whole numbers from 1 to 20000", conc)
		}
		o.conc = append(o.conc, n)
	}
	for _, s := range strings.Split(scenario, ",") {
		s = strings.TrimSpace(s)
		if s == "all" {
			o.scenarios = append(o.scenarios, scenarioNames...)
			continue
		}
		if _, ok := scenarios[s]; !ok {
			return o, false, fmt.Errorf("-scenario %q: use %s or all", s, strings.Join(append(scenarioNames, extraScenarios...), ", "))
		}
		o.scenarios = append(o.scenarios, s)
	}
	if overload != "" {
		for _, s := range strings.Split(overload, ",") {
			m, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil || m < 1 || m > 1000 {
				return o, false, fmt.Errorf("-overload %q: use multipliers from 1 to 1000, e.g. 4,16,60", overload)
			}
			o.overload = append(o.overload, m)
		}
		notSignIn := slices.ContainsFunc(o.scenarios, func(s string) bool { return !slices.Contains(overloadScenarios, s) })
		if len(o.conc) != 1 || o.baselines || notSignIn {
			return o, false, errors.New("-overload measures the sign-in scenarios (login, loginpage, loginpage-post) from one -c, without -baselines: use -scenario login,loginpage -c 16")
		}
		if top := float64(o.conc[0]) * slices.Max(o.overload); top > 20000 {
			return o, false, fmt.Errorf("-overload: %g connections is too many (at most 20000)", top)
		}
	}
	if o.rounds < 1 || o.rounds > 100 {
		return o, false, fmt.Errorf("-rounds %d: use 1 to 100", o.rounds)
	}
	if o.refusedPause < 0 || o.refusedPause > time.Minute {
		return o, false, fmt.Errorf("-refused-pause %s: use 0 to 1m", o.refusedPause)
	}
	publicPeer := o.peer && !slices.ContainsFunc(o.scenarios, func(s string) bool { return s != "authcode" })
	if (o.clientID == "") != (o.clientSecret == "") && !(publicPeer && o.clientSecret == "") {
		return o, false, errors.New("-client-id and -client-secret go together (only -peer -scenario authcode takes a public -client-id alone)")
	}
	if (o.adminEmail == "") != (o.adminPassword == "") {
		return o, false, errors.New("-admin-email and -admin-password go together")
	}
	if o.peer {
		if o.clientID == "" || o.spawn != "" || o.baselines {
			return o, false, errors.New("-peer needs -client-id (and -client-secret for client_credentials) and goes without -spawn and -baselines")
		}
		for _, s := range o.scenarios {
			if s != "client_credentials" && s != "authcode" {
				return o, false, fmt.Errorf("-peer: scenario %s needs a Sigil; use -scenario client_credentials or authcode", s)
			}
			if s == "authcode" && o.clientSecret != "" {
				return o, false, errors.New("-peer -scenario authcode: give the public client's -client-id alone, in a run of its own")
			}
		}
	}
	if o.spawn != "" && strings.Contains(o.addr, ",") {
		return o, false, errors.New("-spawn starts one instance: give a list of -addr without it")
	}
	if len(o.overload) > 0 && strings.Contains(o.addr, ",") {
		return o, false, errors.New("-overload loads one instance")
	}
	if o.spawn != "" && o.pid != 0 {
		return o, false, errors.New("-pid is implied by -spawn")
	}
	o.spawnEnv = spawnEnv
	o.argon2 = authority.Argon2Params{Memory: uint32(*m), Time: uint32(*t), Threads: uint8(*p), SaltLen: 16, KeyLen: 32}
	if *p > 255 || o.argon2.Validate() != nil {
		return o, false, errors.New("-argon2-*: parameters out of range")
	}
	return o, false, nil
}

func runMain(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 && (args[0] == "seed" || args[0] == "explain") {
		return runSeed(ctx, args[1:], stdout, stderr, args[0] == "explain")
	}
	o, bare, err := parseOptions(args, stderr)
	if err != nil {
		return err
	}
	if bare {
		return serveBare(stdin, stdout)
	}
	if o.spawn != "" {
		sp, err := spawnSigil(&o)
		if err != nil {
			return err
		}
		defer sp.stop()
	}
	addrs := strings.Split(o.addr, ",")
	tgt, err := resolveTarget(ctx, addrs[0], systemLookup)
	if err != nil {
		return err
	}
	maxConc := 0
	for _, c := range o.conc {
		maxConc = max(maxConc, c)
		for _, m := range o.overload {
			maxConc = max(maxConc, int(float64(c)*m+0.5))
		}
	}
	l := &loader{base: tgt.base, client: tgt.client(maxConc), clientID: o.clientID, clientSecret: o.clientSecret,
		adminEmail: o.adminEmail, adminPass: o.adminPassword, resource: o.resource}
	setup := l.setup
	if o.peer {
		setup = func(ctx context.Context) error { return l.setupPeer(ctx, o.scenarios) }
	}
	if err := setup(ctx); err != nil {
		return fmt.Errorf("set up against %s: %w", tgt.base, err)
	}
	for _, a := range addrs[1:] {
		pt, err := resolveTarget(ctx, strings.TrimSpace(a), systemLookup)
		if err != nil {
			return err
		}
		l.peers = append(l.peers, &loader{base: pt.base, client: pt.client(maxConc)})
	}
	if len(l.peers) > 0 {
		fmt.Fprintf(stdout, "%d instances, workers spread over them in turn\n", len(l.peers)+1)
	}
	fmt.Fprintf(stdout, "target %s, signing alg %s, GOMAXPROCS %d, %d CPUs, %s per run\n",
		tgt.base, l.alg, runtime.GOMAXPROCS(0), runtime.NumCPU(), o.duration)
	if o.pid != 0 {
		if mem, err := readMemory(o.pid); err == nil {
			fmt.Fprintf(stdout, "sigil pid %d: resident %.1f MB (peak %.1f MB) before load\n", o.pid, mem.rssMB, mem.hwmMB)
		}
	}
	fmt.Fprintln(stdout)
	if len(o.overload) > 0 {
		return measureOverload(ctx, stdout, l, o.scenarios, o.pid, o.conc[0], o.overload, o.duration, o.refusedPause)
	}
	var lim *limits
	if o.baselines {
		if lim, err = newLimits(ctx, l, &o, maxConc); err != nil {
			return err
		}
		defer lim.close()
		fmt.Fprintf(stdout, "each scenario alternates %d rounds with rounds of the limits it is compared with\n\n", o.rounds)
	}
	rep := &report{out: stdout, pid: o.pid}
	rep.header()
	for _, name := range o.scenarios {
		for _, c := range o.conc {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			rounds := 1
			if lim != nil {
				rounds = o.rounds
			}
			rep.measureScenario(ctx, l, lim, name, c, rounds, o.duration, o.refusedPause)
		}
	}
	rep.summary()
	if len(rep.failed) > 0 {
		return fmt.Errorf("could not set up %s (see above)", strings.Join(rep.failed, ", "))
	}
	return nil
}
