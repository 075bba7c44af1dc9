package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
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

// best is the highest rate measured for scenario name, 0 if none.
func (r *report) best(name string) float64 {
	var b float64
	for _, res := range r.results {
		if res.Name == name && res.Skipped == "" && res.Errors == 0 {
			b = max(b, res.Rate())
		}
	}
	return b
}

// baselines are the limits each path is compared with, measured in the
// same run on the same machine.
type baselines struct {
	bareJWKS     float64
	argon2       float64
	sign, verify map[string]float64
	dbWrite      float64
	dbDialect    string
}

func (b *baselines) measure(ctx context.Context, l *loader, o *options, out io.Writer) error {
	cores := runtime.GOMAXPROCS(0)
	fmt.Fprintf(out, "\nbaselines (same machine, same run; %d cores)\n", cores)
	bare, err := startBareJWKS(ctx, l)
	if err != nil {
		return fmt.Errorf("bare JWKS server: %w", err)
	}
	bareTgt, err := resolveTarget(ctx, bare.base, systemLookup)
	if err != nil {
		bare.stop()
		return err
	}
	maxConc := 0
	for _, c := range o.conc {
		maxConc = max(maxConc, c)
	}
	bl := &loader{base: bareTgt.base, client: bareTgt.client(maxConc)}
	for _, c := range o.conc {
		res := run(ctx, "bare-jwks", c, o.duration, o.refusedPause, 200, scenarios["jwks"].prepareStatic(bl))
		fmt.Fprintf(out, "  %-44s %10.1f /s  (c=%d, p50 %s, p99 %s, errors %d)\n", "bare net/http handler, same JWKS bytes", res.Rate(), c,
			ms(res.Percentile(0.5)), ms(res.Percentile(0.99)), res.Errors)
		if res.Errors == 0 {
			b.bareJWKS = max(b.bareJWKS, res.Rate())
		}
	}
	bare.stop()

	p := o.argon2
	if b.argon2, err = argon2Rate(o.duration, p); err != nil {
		return err
	}
	fmt.Fprintf(out, "  %-44s %10.1f /s\n", fmt.Sprintf("argon2id m=%d t=%d p=%d, %d at a time", p.Memory, p.Time, p.Threads, cores), b.argon2)

	b.sign, b.verify = map[string]float64{}, map[string]float64{}
	for _, alg := range []string{"RS256", "EdDSA"} {
		s, v, err := joseRates(o.duration, alg)
		if err != nil {
			return err
		}
		b.sign[alg], b.verify[alg] = s, v
		fmt.Fprintf(out, "  %-44s %10.1f /s\n", "go-jose "+alg+" sign (compact)", s)
		fmt.Fprintf(out, "  %-44s %10.1f /s\n", "go-jose "+alg+" parse+verify", v)
	}

	if b.dbWrite, b.dbDialect, err = dbWriteRate(ctx, o.duration, maxConc, o.dbURL); err != nil {
		return fmt.Errorf("DB write baseline: %w", err)
	}
	fmt.Fprintf(out, "  %-44s %10.1f /s  (c=%d)\n", "refresh-token row INSERT, "+b.dbDialect+" (store)", b.dbWrite, maxConc)
	return nil
}

// prepareStatic returns the worker maker of a scenario that needs no
// set-up (jwks).
func (s scenario) prepareStatic(l *loader) func(int) request {
	mk, err := s.prepare(context.Background(), l, 1)
	if err != nil {
		panic(err) // jwks needs no set-up and cannot fail to prepare
	}
	return mk
}

func (r *report) ratios(b *baselines, alg string) {
	fmt.Fprintf(r.out, "\nratios (best req/s of each scenario over its limit)\n")
	line := func(what string, got, limit, target float64, limitName string) {
		if got == 0 {
			fmt.Fprintf(r.out, "  %-34s not measured end to end (scenario skipped or had errors); limit %s = %.1f/s\n", what, limitName, limit)
			return
		}
		if limit == 0 {
			fmt.Fprintf(r.out, "  %-34s no baseline for %s\n", what, limitName)
			return
		}
		verdict := "meets"
		if got/limit < target {
			verdict = "BELOW"
		}
		fmt.Fprintf(r.out, "  %-34s %6.2f  (%.1f / %.1f %s; target >= %.1f: %s)\n", what, got/limit, got, limit, limitName, target, verdict)
	}
	line("jwks vs bare net/http handler", r.best("jwks"), b.bareJWKS, 0.9, "bare handler")
	line("login vs raw argon2id", r.best("login"), b.argon2, 0.9, "argon2id")
	line("me vs raw "+alg+" verify", r.best("me"), b.verify[alg], 0.8, alg+" verify")
	if v := b.verify[alg]; v > 0 && b.bareJWKS > 0 {
		// The raw rate has no HTTP in it; on a machine whose cores the load
		// generator shares, one bare HTTP exchange plus one verification is
		// the limit an HTTP endpoint can reach.
		composed := 1 / (1/v + 1/b.bareJWKS)
		line("me vs verify + bare HTTP exchange", r.best("me"), composed, 0.8, "composed")
	}
	for _, name := range []string{"refresh", "client_credentials"} {
		switch alg {
		case "EdDSA":
			limit, limitName := b.sign[alg], "EdDSA sign"
			if b.dbWrite < limit {
				limit, limitName = b.dbWrite, b.dbDialect+" write"
			}
			line(name+" vs min(sign, DB write)", r.best(name), limit, 0.7, limitName)
		default:
			line(name+" vs raw "+alg+" sign", r.best(name), b.sign[alg], 0.8, alg+" sign")
		}
	}
}
