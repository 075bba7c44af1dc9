package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// cpuTicksPerSecond is the unit of utime/stime in /proc/PID/stat (USER_HZ,
// 100 on every Linux this runs on).
const cpuTicksPerSecond = 100

// readCPU returns the user plus system CPU time a process has used, from
// /proc/PID/stat.
func readCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	return parseCPU(string(b))
}

func parseCPU(stat string) (time.Duration, error) {
	// The command name (field 2) is in parentheses and may hold spaces;
	// the fields after its closing parenthesis start with field 3.
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("unexpected /proc stat %q", stat)
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("unexpected /proc stat %q", stat)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("unexpected /proc stat %q", stat)
	}
	return time.Duration(utime+stime) * time.Second / cpuTicksPerSecond, nil
}

// loadAverage returns the first three fields of /proc/loadavg.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// rssSampler records the largest resident size of a process seen while it
// runs, reading /proc every 50 ms (VmHWM is the peak since the process
// started, so it cannot show the peak of one step).
type rssSampler struct {
	stop chan struct{}
	done chan struct{}
	mu   sync.Mutex
	max  float64
}

func sampleRSS(pid int) *rssSampler {
	s := &rssSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if m, err := readMemory(pid); err == nil {
				s.mu.Lock()
				s.max = max(s.max, m.rssMB)
				s.mu.Unlock()
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// peak stops the sampler and returns the largest RSS seen, in MB.
func (s *rssSampler) peak() float64 {
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.max
}

// overloadStep is one point of the overload curve.
type overloadStep struct {
	mult    float64 // offered load: connections over the capacity run's
	res     result
	answers float64 // answers of any status per second
	rssPeak float64 // MB, -1 when unknown
	cpu     time.Duration
}

// overloadScenarios are the scenarios -overload takes: the password
// sign-ins, through the API and through the hosted page.
var overloadScenarios = []string{"login", "loginpage", "loginpage-post"}

// measureOverload runs the overload curve of each named sign-in
// scenario: first its capacity at base connections (clients honouring
// Retry-After, none refused at that concurrency when the server queues
// enough), then, for each multiplier, base×m connections whose clients
// retry at once, as a flood does. Several scenarios alternate step by
// step on the same server, so the same step of each sees the same
// machine. It prints successful logins per second and their ratio to the
// scenario's capacity, the admitted logins' p50/p99, all answers per
// second, the server's peak RSS in the step, and what one refusal costs
// the server in CPU next to one login.
func measureOverload(ctx context.Context, out io.Writer, l *loader, names []string, pid, base int, mults []float64, d, pause time.Duration) error {
	type curve struct {
		name     string
		sc       scenario
		mk       func(int) request
		capacity float64
		perLogin time.Duration
	}
	curves := make([]*curve, len(names))
	for i, name := range names {
		cv := &curve{name: name, sc: scenarios[name]}
		var err error
		if cv.mk, err = cv.sc.prepare(ctx, l, base); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		curves[i] = cv
	}
	fmt.Fprintf(out, "overload curve of %s: capacity at c=%d, then clients that retry at once; load average before: %s\n",
		strings.Join(names, " and "), base, loadAverage())
	step := func(cv *curve, c int, pause time.Duration) overloadStep {
		var rss *rssSampler
		var cpu0 time.Duration
		if pid != 0 {
			rss = sampleRSS(pid)
			cpu0, _ = readCPU(pid)
		}
		res := run(ctx, cv.name, c, d, pause, cv.sc.want, cv.mk)
		st := overloadStep{res: res, rssPeak: -1}
		if pid != 0 {
			st.rssPeak = rss.peak()
			if cpu1, err := readCPU(pid); err == nil {
				st.cpu = cpu1 - cpu0
			}
		}
		n := 0
		for _, v := range res.Statuses {
			n += v
		}
		if res.Elapsed > 0 {
			st.answers = float64(n) / res.Elapsed.Seconds()
		}
		return st
	}
	fmt.Fprintf(out, "%-15s %-8s %6s %9s %8s %9s %9s %10s %9s %9s  %s\n", "scenario", "offered", "c", "logins/s", "ratio", "p50", "p99", "answers/s", "refused", "peak RSS", "server CPU")
	for _, cv := range curves {
		capRun := step(cv, base, pause)
		cv.capacity = capRun.res.Rate()
		if capRun.res.OK > 0 {
			cv.perLogin = capRun.cpu / time.Duration(capRun.res.OK)
		}
		capRun.mult = 1
		printOverloadStep(out, cv.name, capRun, base, cv.capacity, cv.perLogin)
	}
	for _, m := range mults {
		for _, cv := range curves {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			c := int(float64(base)*m + 0.5)
			st := step(cv, c, 0)
			st.mult = m
			printOverloadStep(out, cv.name, st, c, cv.capacity, cv.perLogin)
		}
	}
	fmt.Fprintf(out, "load average after: %s; GOMAXPROCS %d of the load generator\n", loadAverage(), runtime.GOMAXPROCS(0))
	return nil
}

func printOverloadStep(out io.Writer, name string, st overloadStep, c int, capacity float64, perLogin time.Duration) {
	ratio := "-"
	if capacity > 0 {
		ratio = fmt.Sprintf("%.2f", st.res.Rate()/capacity)
	}
	rss := "-"
	if st.rssPeak >= 0 {
		rss = fmt.Sprintf("%.1f MB", st.rssPeak)
	}
	cpu := "-"
	if st.cpu > 0 {
		cpu = fmt.Sprintf("%.2f cores", st.cpu.Seconds()/st.res.Elapsed.Seconds())
		// What the refusals cost: the server's CPU beyond the logins'.
		if st.res.Refused > 0 && perLogin > 0 {
			per := (st.cpu - time.Duration(st.res.OK)*perLogin) / time.Duration(st.res.Refused)
			if per > 0 {
				cpu += fmt.Sprintf("; per refusal %s = %.2f%% of a login (%s)", per.Round(time.Microsecond),
					100*float64(per)/float64(perLogin), perLogin.Round(100*time.Microsecond))
			} else {
				// The logins' CPU varies more than the refusals add.
				cpu += "; per refusal: below the noise of the logins' CPU"
			}
		}
	}
	fmt.Fprintf(out, "%-15s %-8s %6d %9.1f %8s %9s %9s %10.1f %9d %9s  %s\n", name, fmt.Sprintf("%gx", st.mult), c, st.res.Rate(), ratio,
		ms(st.res.Percentile(0.50)), ms(st.res.Percentile(0.99)), st.answers, st.res.Refused, rss, cpu)
	if st.res.Errors > 0 {
		fmt.Fprintf(out, "%-24s errors %d: %s (%s)\n", "", st.res.Errors, st.res.FirstErr, st.res.StatusSummary())
	}
}
