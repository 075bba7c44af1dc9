package api

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// issuedWindow answers "how many access tokens in the last hour" from the
// sigil_tokens_issued_total counter: it samples the counter's total once
// a minute and subtracts the sample of an hour ago (or the first sample,
// taken at start, while the process is younger than an hour).
type issuedWindow struct {
	counter *prometheus.CounterVec
	mu      sync.Mutex
	samples []issuedSample // oldest first, at most ~61
}

type issuedSample struct {
	at    time.Time
	total float64
}

// total sums the counter over all its label values.
func (w *issuedWindow) total() float64 {
	ch := make(chan prometheus.Metric, 16)
	go func() { w.counter.Collect(ch); close(ch) }()
	var sum float64
	for m := range ch {
		var d dto.Metric
		if m.Write(&d) == nil && d.Counter != nil {
			sum += d.Counter.GetValue()
		}
	}
	return sum
}

// sample records the counter's total at now and forgets samples no longer
// needed to look an hour back.
func (w *issuedWindow) sample(now time.Time) {
	t := w.total()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.samples = append(w.samples, issuedSample{at: now, total: t})
	cut := 0
	for i := range w.samples {
		if !w.samples[i].at.After(now.Add(-time.Hour)) {
			cut = i // the newest sample at least an hour old is kept
		}
	}
	w.samples = w.samples[cut:]
}

// lastHour returns the tokens issued since the newest sample at least an
// hour old (or the first sample) and how long ago that sample was taken.
func (w *issuedWindow) lastHour(now time.Time) (int64, time.Duration) {
	t := w.total()
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.samples) == 0 {
		return int64(t), 0
	}
	base := w.samples[0]
	for _, s := range w.samples {
		if !s.at.After(now.Add(-time.Hour)) {
			base = s
		}
	}
	return int64(t - base.total), now.Sub(base.at)
}
