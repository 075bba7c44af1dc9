package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"
)

// env is what a command runs with: arguments, streams and the environment,
// so tests can run commands in-process.
type env struct {
	args   []string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	// now is the clock serve gives the authority (nil: time.Now), so
	// tests can move time.
	now func() time.Time
	// setMemoryLimit sets the process's soft memory limit; nil (in-process
	// tests, which share one runtime) leaves it alone.
	setMemoryLimit func(int64) int64
	// setGCPercent sets the collector's GOGC; nil in-process, like
	// setMemoryLimit.
	setGCPercent func(int) int
}

type command struct {
	name, summary string
	run           func(ctx context.Context, e env) error
}

var commands []command

func init() {
	commands = []command{
		{"serve", "run the authority (default)", runServe},
		{"migrate", "apply database migrations and exit", runMigrate},
		{"keys", "list, rotate, revoke or rewrap signing keys", runKeys},
		{"users", "create, import, list, show, lock, unlock, set roles of and delete users", runUsers},
		{"clients", "create, list or delete OAuth 2.0 clients", runClients},
		{"resources", "create, list or delete resource servers (RFC 8707 resource indicators)", runResources},
		{"upstreams", "create, list or delete upstream identity providers users may sign in through", runUpstreams},
		{"registration-tokens", "create, list or delete initial access tokens for dynamic client registration (SIGIL_REGISTRATION=token)", runRegistrationTokens},
		{"version", "print the version and the RSA signing backend", runVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	e := env{args: os.Args[1:], stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, setMemoryLimit: debug.SetMemoryLimit, setGCPercent: debug.SetGCPercent}
	err := run(ctx, e)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) && !errors.Is(err, errUsageShown) {
			fmt.Fprintln(os.Stderr, "sigil:", err)
		}
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(1)
	}
}

var errUsageShown = errors.New("usage shown")

func run(ctx context.Context, e env) error {
	if len(e.args) == 1 && (e.args[0] == "-version" || e.args[0] == "--version") {
		return runVersion(ctx, env{stdout: e.stdout})
	}
	name := "serve"
	if len(e.args) > 0 && e.args[0] != "" && e.args[0][0] != '-' {
		name, e.args = e.args[0], e.args[1:]
	}
	if name == "help" || (name == "serve" && len(e.args) == 1 && isHelpFlag(e.args[0])) {
		usage(e.stdout)
		fs, _ := newFlags(e, "serve", "[serve] [flags]")
		fs.SetOutput(e.stdout)
		fmt.Fprintln(e.stdout, "\nConfiguration flags (each also read from its SIGIL_* variable):")
		fs.PrintDefaults()
		return nil
	}
	for _, c := range commands {
		if c.name == name {
			return c.run(ctx, e)
		}
	}
	if len(e.args) == 0 && (name == "-h" || name == "--help") {
		usage(e.stdout)
		return nil
	}
	usage(e.stderr)
	return fmt.Errorf("unknown command %q", name)
}

func isHelpFlag(a string) bool { return a == "-h" || a == "-help" || a == "--help" }

func usage(w io.Writer) {
	fmt.Fprintln(w, "Sigil: an asymmetric-key token authority.")
	fmt.Fprintln(w, "\nUsage: sigil [command] [flags]")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nEvery command takes the configuration flags of serve (each also a SIGIL_* variable).")
	fmt.Fprintln(w, "Run `sigil CMD --help` for a command's flags.")
}

// newFlags returns a flag set for a command with every configuration flag.
func newFlags(e env, name, synopsis string) (*flag.FlagSet, func() (Config, error)) {
	return newFlagsWith(e, name, synopsis, nil)
}

// newFlagsWith is newFlags for a command whose own flags, defined by own
// before the configuration flags, take precedence over a configuration
// flag of the same name. Its usage lists the command's own flags (from own
// or defined after this call) first, then the server configuration flags.
func newFlagsWith(e env, name, synopsis string, own func(fs *flag.FlagSet)) (*flag.FlagSet, func() (Config, error)) {
	fs := flag.NewFlagSet("sigil "+name, flag.ContinueOnError)
	if own != nil {
		own(fs)
	}
	fs.SetOutput(e.stderr)
	before := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) { before[f.Name] = true })
	load := configFlags(fs, e.getenv)
	config := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) { config[f.Name] = !before[f.Name] })
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "Usage: sigil %s\n", synopsis)
		if mine := flagSubset(fs, func(n string) bool { return !config[n] }); mine != nil {
			fmt.Fprintf(out, "\nFlags of %s:\n", name)
			mine.SetOutput(out)
			mine.PrintDefaults()
		}
		fmt.Fprintln(out, "\nServer configuration flags (each also reads its SIGIL_* variable):")
		server := flagSubset(fs, func(n string) bool { return config[n] })
		server.SetOutput(out)
		server.PrintDefaults()
	}
	return fs, load
}

// flagSubset returns a flag set holding the flags of fs that keep
// selects, with their defaults, for printing; nil when there are none.
func flagSubset(fs *flag.FlagSet, keep func(name string) bool) *flag.FlagSet {
	sub := flag.NewFlagSet(fs.Name(), flag.ContinueOnError)
	n := 0
	fs.VisitAll(func(f *flag.Flag) {
		if keep(f.Name) {
			sub.Var(f.Value, f.Name, f.Usage)
			sub.Lookup(f.Name).DefValue = f.DefValue
			n++
		}
	})
	if n == 0 {
		return nil
	}
	return sub
}
