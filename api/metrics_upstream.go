package api

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sigil-auth/sigil/upstream"
)

// UpstreamObservers registers the metrics of sign-ins through upstreams
// and returns what upstream.Config takes to feed them:
// sigil_upstream_signins_total by upstream and outcome, and
// sigil_upstream_request_duration_seconds by upstream. The upstream
// label is an upstream's id, which only an administrator chooses; the
// service reports no outcome for an id that names no upstream.
func (m *Metrics) UpstreamObservers() (observe func(id, outcome string), observeCall func(id string, d time.Duration)) {
	signins := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sigil_upstream_signins_total", Help: "Sign-ins through an upstream identity provider, by upstream id and outcome (" + outcomeList() + ").",
	}, []string{"upstream", "outcome"})
	calls := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "sigil_upstream_request_duration_seconds", Help: "Calls to an upstream identity provider (discovery at the start of a sign-in, code exchange at its callback), by upstream id.",
		Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"upstream"})
	m.reg.MustRegister(signins, calls)
	return func(id, outcome string) { signins.WithLabelValues(id, outcome).Inc() },
		func(id string, d time.Duration) { calls.WithLabelValues(id).Observe(d.Seconds()) }
}

func outcomeList() string {
	s := ""
	for i, o := range upstream.Outcomes() {
		if i > 0 {
			s += ", "
		}
		s += o
	}
	return s
}
