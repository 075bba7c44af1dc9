package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// request performs one request of a scenario and returns the HTTP status
// (0 with an error when no answer came). Each worker has its own request
// function, so it may keep state such as its refresh token.
type request func(ctx context.Context) (int, error)

// result is what one scenario run measured.
type result struct {
	Name     string
	Conc     int
	Elapsed  time.Duration
	OK       int         // answers with the expected status
	Refused  int         // 429 and 503 answers: the server shedding load
	Errors   int         // any other answer, or no answer
	Statuses map[int]int // every answer by status; 0 is no answer
	okLat    []time.Duration
	FirstErr string
	Skipped  string // why the scenario did not run, if it did not
}

// Rate is the expected answers per second.
func (r result) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.OK) / r.Elapsed.Seconds()
}

// Percentile returns the q-quantile (0..1) of the latency of the expected
// answers.
func (r result) Percentile(q float64) time.Duration {
	if len(r.okLat) == 0 {
		return 0
	}
	i := int(q*float64(len(r.okLat))+0.5) - 1
	i = max(0, min(i, len(r.okLat)-1))
	return r.okLat[i]
}

// StatusSummary lists the answers by status, e.g. "200:1234 503:56".
func (r result) StatusSummary() string {
	codes := make([]int, 0, len(r.Statuses))
	for c := range r.Statuses {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	parts := make([]string, 0, len(codes))
	for _, c := range codes {
		name := fmt.Sprint(c)
		if c == 0 {
			name = "neterr"
		}
		parts = append(parts, fmt.Sprintf("%s:%d", name, r.Statuses[c]))
	}
	return strings.Join(parts, " ")
}

// run drives conc workers, each calling its request in a loop, for d. No
// request starts after d; one still in flight then is let finish (so the
// server is idle when run returns, and the next measurement does not
// inherit its work) but not counted. A worker whose
// request was refused (429, 503) pauses for pause before the next one, as
// a client honouring Retry-After does; 0 retries at once. newWorker makes
// worker i's request function.
func run(ctx context.Context, name string, conc int, d, pause time.Duration, want int, newWorker func(i int) request) result {
	deadline := time.Now().Add(d)
	wait, cancel := context.WithDeadline(ctx, deadline) // ends pauses, not requests
	defer cancel()
	type part struct {
		ok, refused, errs int
		statuses          map[int]int
		lat               []time.Duration
		firstErr          string
	}
	parts := make([]part, conc)
	workers := make([]request, conc)
	for i := range workers {
		workers[i] = newWorker(i)
	}
	var wg sync.WaitGroup
	start := time.Now()
	for i := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := &parts[i]
			p.statuses = map[int]int{}
			p.lat = make([]time.Duration, 0, 1024)
			do := workers[i]
			for wait.Err() == nil {
				t0 := time.Now()
				status, err := do(ctx)
				lat := time.Since(t0)
				if !t0.Add(lat).Before(deadline) {
					return // finished after the end of the run
				}
				p.statuses[status]++
				if status == want && err == nil {
					p.ok++
					p.lat = append(p.lat, lat)
					continue
				}
				if err == nil && (status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable) {
					p.refused++
					if pause > 0 {
						t := time.NewTimer(pause)
						select {
						case <-wait.Done():
						case <-t.C:
						}
						t.Stop()
					}
					continue
				}
				p.errs++
				if p.firstErr == "" {
					if err != nil {
						p.firstErr = err.Error()
					} else {
						p.firstErr = fmt.Sprintf("status %d, want %d", status, want)
					}
				}
			}
		}()
	}
	wg.Wait()
	res := result{Name: name, Conc: conc, Elapsed: deadline.Sub(start), Statuses: map[int]int{}}
	for _, p := range parts {
		res.OK += p.ok
		res.Errors += p.errs
		res.Refused += p.refused
		for c, n := range p.statuses {
			res.Statuses[c] += n
		}
		res.okLat = append(res.okLat, p.lat...)
		if res.FirstErr == "" {
			res.FirstErr = p.firstErr
		}
	}
	slices.Sort(res.okLat)
	return res
}
