package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/keys/rsasign"
)

// memory is a process's resident size now and at its peak.
type memory struct{ rssMB, hwmMB float64 }

// readMemory reads VmRSS and VmHWM from /proc/PID/status.
func readMemory(pid int) (memory, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return memory{}, err
	}
	defer f.Close()
	return parseMemory(f)
}

func parseMemory(r io.Reader) (memory, error) {
	var m memory
	var seen int
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			return m, fmt.Errorf("unexpected %s line %q", k, sc.Text())
		}
		kb, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return m, err
		}
		if k == "VmRSS" {
			m.rssMB = kb / 1024
		} else {
			m.hwmMB = kb / 1024
		}
		seen++
	}
	if seen != 2 {
		return m, fmt.Errorf("VmRSS/VmHWM not found")
	}
	return m, sc.Err()
}

// report prints scenario results as they come and keeps them for the
// ratios.
type report struct {
	out     io.Writer
	pid     int
	results []result
	ratios  []ratioLine
	// failed names the scenarios that could not be set up against a
	// server that has their endpoint: the run exits non-zero.
	failed []string
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

func (r *report) header() {
	fmt.Fprintf(r.out, "%-19s %5s %9s %10s %9s %9s %7s %8s  %-14s %s\n", "scenario", "c", "ok", "ok/s", "p50", "p99", "errors", "refused", "rss/peak MB", "answers")
	fmt.Fprintf(r.out, "%-19s (p50/p99 are of the ok answers; refused are 429/503 load shedding)\n", "")
}

func (r *report) add(res result) {
	r.results = append(r.results, res)
	if res.Skipped != "" {
		fmt.Fprintf(r.out, "%-19s %5d  skipped: %s\n", res.Name, res.Conc, res.Skipped)
		return
	}
	mem := "-"
	if r.pid != 0 {
		if m, err := readMemory(r.pid); err == nil {
			mem = fmt.Sprintf("%.1f/%.1f", m.rssMB, m.hwmMB)
		}
	}
	fmt.Fprintf(r.out, "%-19s %5d %9d %10.1f %9s %9s %7d %8d  %-14s %s\n", res.Name, res.Conc, res.OK, res.Rate(),
		ms(res.Percentile(0.50)), ms(res.Percentile(0.99)), res.Errors, res.Refused, mem, res.StatusSummary())
	if res.Errors > 0 && res.FirstErr != "" {
		fmt.Fprintf(r.out, "%-19s first error: %s\n", "", res.FirstErr)
	}
}

// limits measures, on the same machine and interleaved with the scenarios,
// what each path is bounded by: a bare net/http handler serving the same
// JWKS bytes, raw argon2id, raw go-jose signing and verification, and the
// database's own rate for one refresh-token INSERT.
type limits struct {
	bare   *loader
	child  *child
	pause  time.Duration
	argon2 authority.Argon2Params
	jose   map[string]*joseBench
	db     *dbBench
}

func newLimits(ctx context.Context, l *loader, o *options, maxConc int) (*limits, error) {
	lim := &limits{pause: o.refusedPause, argon2: o.argon2, jose: map[string]*joseBench{}}
	var err error
	if lim.child, err = startBareJWKS(ctx, l); err != nil {
		return nil, fmt.Errorf("bare JWKS server: %w", err)
	}
	tgt, err := resolveTarget(ctx, lim.child.base, systemLookup)
	if err != nil {
		lim.close()
		return nil, err
	}
	lim.bare = &loader{base: tgt.base, client: tgt.client(maxConc)}
	if l.alg != "" {
		if lim.jose[l.alg], err = newJoseBench(l.alg); err != nil {
			lim.close()
			return nil, err
		}
	}
	if lim.db, err = openDBBench(ctx, o.dbURL); err != nil {
		lim.close()
		return nil, fmt.Errorf("DB write baseline: %w", err)
	}
	return lim, nil
}

func (lim *limits) close() {
	if lim.child != nil {
		lim.child.stop()
	}
	if lim.db != nil {
		lim.db.close()
	}
}

// measure runs the named limit for d at concurrency c.
func (lim *limits) measure(ctx context.Context, key, alg string, d time.Duration, c int) (float64, error) {
	switch key {
	case "bare":
		res := run(ctx, "bare", c, d, lim.pause, http.StatusOK, scenarios["jwks"].prepareStatic(lim.bare))
		if res.Errors > 0 {
			return 0, fmt.Errorf("bare handler: %d errors (%s)", res.Errors, res.FirstErr)
		}
		return res.Rate(), nil
	case "argon2":
		return argon2Rate(d, lim.argon2)
	case "sign", "verify":
		j := lim.jose[alg]
		if j == nil {
			return 0, fmt.Errorf("no raw baseline for alg %q", alg)
		}
		if key == "sign" {
			return j.signRate(d)
		}
		return j.verifyRate(d)
	case "db":
		return lim.db.writeRate(ctx, d, c)
	}
	return 0, fmt.Errorf("unknown limit %q", key)
}

func (lim *limits) label(key, alg string, c int) string {
	switch key {
	case "bare":
		return fmt.Sprintf("bare net/http handler, same JWKS bytes, c=%d", c)
	case "argon2":
		p := lim.argon2
		return fmt.Sprintf("raw argon2id m=%d t=%d p=%d, %d at a time", p.Memory, p.Time, p.Threads, runtime.GOMAXPROCS(0))
	case "sign":
		if alg == "RS256" {
			return "raw go-jose RS256 compact signing (" + rsasign.Backend() + "), one per core"
		}
		return "raw go-jose " + alg + " compact signing, one per core"
	case "verify":
		return "raw go-jose " + alg + " parse+verify, one per core"
	case "db":
		return fmt.Sprintf("refresh-token row INSERT through the store, %s, c=%d", lim.db.dialect, c)
	}
	return key
}

// ratioSpec says what a scenario is compared with: the limits measured
// alongside it, how they combine into one limit, and the target ratio
// (0: informative only).
type ratioSpec struct {
	keys   []string
	limit  func(m map[string]float64) (float64, string)
	target float64
}

func specFor(name, alg string) ratioSpec {
	one := func(key, what string) func(map[string]float64) (float64, string) {
		return func(m map[string]float64) (float64, string) { return m[key], what }
	}
	switch name {
	case "jwks":
		return ratioSpec{[]string{"bare"}, one("bare", "bare handler"), 0.9}
	case "jwks304":
		return ratioSpec{[]string{"bare"}, one("bare", "bare handler (200)"), 0}
	case "login", "loginpage", "loginpage-post":
		return ratioSpec{[]string{"argon2"}, one("argon2", "argon2id"), 0.9}
	case "me":
		return ratioSpec{[]string{"verify", "bare"}, one("verify", alg+" verify"), 0.8}
	case "introspect", "resource":
		// resource: the resource server verifies what the Sigil signed.
		return ratioSpec{[]string{"verify"}, one("verify", alg+" verify"), 0}
	case "register":
		// Bounded by the per-address limit, not by a computation.
		return ratioSpec{nil, func(map[string]float64) (float64, string) { return 0, "" }, 0}
	case "authcode":
		// Each pair signs an access token and an ID token.
		return ratioSpec{[]string{"sign"}, func(m map[string]float64) (float64, string) {
			return m["sign"] / 2, alg + " sign ÷ 2 (access and ID token)"
		}, 0}
	}
	// refresh, client_credentials: signing dominates, and with a cheap
	// signature (EdDSA) the database write bounds it too.
	if alg == "EdDSA" {
		return ratioSpec{[]string{"sign", "db"}, func(m map[string]float64) (float64, string) {
			if m["db"] < m["sign"] {
				return m["db"], "DB write (< EdDSA sign)"
			}
			return m["sign"], "EdDSA sign (< DB write)"
		}, 0.7}
	}
	return ratioSpec{[]string{"sign"}, one("sign", alg+" sign"), 0.8}
}

// ratioLine is one line of the closing summary.
type ratioLine struct {
	scenario string
	conc     int
	text     string
}

// measureScenario prepares a scenario once, then alternates rounds of it
// with rounds of each limit it is compared with, so both see the same
// machine (other processes' load included), and prints the totals.
func (r *report) measureScenario(ctx context.Context, l *loader, lim *limits, name string, c, rounds int, d, pause time.Duration) {
	sc := scenarios[name]
	mk, err := prepareAll(ctx, l, sc, c)
	var res result
	skipped := ""
	if err != nil {
		skipped = err.Error()
		if errors.Is(err, errUnavailable) {
			skipped = "not measured end to end: " + skipped
		} else {
			r.failed = append(r.failed, name)
		}
	}
	spec := specFor(name, l.alg)
	sums := map[string]float64{}
	slice := d / time.Duration(rounds)
	var cpu time.Duration // the target's CPU time during the scenario's runs
	cpuOK := r.pid != 0
	for i := 0; i < rounds && ctx.Err() == nil; i++ {
		if skipped == "" {
			before, err1 := readCPU(r.pid)
			res = merge(res, run(ctx, name, c, slice, pause, sc.want, mk))
			after, err2 := readCPU(r.pid)
			cpu += after - before
			cpuOK = cpuOK && err1 == nil && err2 == nil
		}
		if lim == nil {
			continue
		}
		for _, key := range spec.keys {
			v, err := lim.measure(ctx, key, l.alg, slice, c)
			if err != nil {
				fmt.Fprintf(r.out, "%-19s limit %s: %v\n", "", key, err)
				continue
			}
			sums[key] += v
		}
	}
	if skipped != "" {
		r.add(result{Name: name, Conc: c, Skipped: skipped})
	} else {
		res.Name, res.Conc = name, c
		r.add(res)
		if cpuOK && res.OK > 0 && res.Elapsed > 0 {
			// Independent of how many cores the target got from a busy
			// machine: what one answer costs it.
			fmt.Fprintf(r.out, "%-19s target CPU: %.0f µs per ok answer, %.2f cores busy\n", "",
				float64(cpu/time.Microsecond)/float64(res.OK), cpu.Seconds()/res.Elapsed.Seconds())
		}
	}
	if lim == nil {
		return
	}
	m := map[string]float64{}
	for _, key := range spec.keys {
		m[key] = sums[key] / float64(rounds)
		fmt.Fprintf(r.out, "%-19s limit: %-58s %10.1f/s\n", "", lim.label(key, l.alg, c), m[key])
	}
	limit, what := spec.limit(m)
	var text string
	switch {
	case skipped != "" || res.Errors > 0 || res.OK == 0:
		text = fmt.Sprintf("not measured end to end; limit %s = %.1f/s", what, limit)
	case limit <= 0:
		text = "no limit measured"
	default:
		ratio := res.Rate() / limit
		text = fmt.Sprintf("%.2f = %.1f / %.1f %s", ratio, res.Rate(), limit, what)
		if spec.target > 0 {
			verdict := "meets"
			if ratio < spec.target {
				verdict = "BELOW"
			}
			text += fmt.Sprintf("; target >= %.1f: %s", spec.target, verdict)
		}
		if name == "me" && m["verify"] > 0 && m["bare"] > 0 {
			// The raw rate has no HTTP in it; on a machine whose cores the
			// load generator shares, one bare HTTP exchange plus one
			// verification is what an HTTP endpoint can reach.
			composed := 1 / (1/m["verify"] + 1/m["bare"])
			text += fmt.Sprintf("; vs verify + bare HTTP exchange (%.1f/s): %.2f", composed, res.Rate()/composed)
		}
	}
	fmt.Fprintf(r.out, "%-19s ratio: %s\n", "", text)
	r.ratios = append(r.ratios, ratioLine{name, c, text})
}

// merge adds the counts and latencies of b to a.
func merge(a, b result) result {
	if a.Statuses == nil {
		a.Statuses = map[int]int{}
	}
	a.Elapsed += b.Elapsed
	a.OK += b.OK
	a.Refused += b.Refused
	a.Errors += b.Errors
	for k, v := range b.Statuses {
		a.Statuses[k] += v
	}
	a.okLat = append(a.okLat, b.okLat...)
	slices.Sort(a.okLat)
	if a.FirstErr == "" {
		a.FirstErr = b.FirstErr
	}
	return a
}

// summary prints every ratio again, together.
func (r *report) summary() {
	if len(r.ratios) == 0 {
		return
	}
	fmt.Fprintf(r.out, "\nratios (scenario ok/s over its limit, measured in alternating rounds)\n")
	for _, rl := range r.ratios {
		fmt.Fprintf(r.out, "  %-19s c=%-5d %s\n", rl.scenario, rl.conc, rl.text)
	}
}
