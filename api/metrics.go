package api

import (
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sigil-auth/sigil/keys"
)

// Metrics are Sigil's Prometheus metrics, on a registry of their own (no
// package-level state).
type Metrics struct {
	reg           *prometheus.Registry
	httpDuration  *prometheus.HistogramVec
	TokensIssued  *prometheus.CounterVec
	LoginFailures prometheus.Counter
	Throttled     *prometheus.CounterVec
	// OverloadRefusals counts requests refused at admission because every
	// password-hashing slot and queue place was taken.
	OverloadRefusals prometheus.Counter
	KeyEvents        *prometheus.CounterVec
	jwksRequests     *prometheus.CounterVec
	KeyringReloads   prometheus.Counter
	// Authorize counts authorization requests by outcome: code,
	// login_page, consent_page, or the error code sent back.
	Authorize *prometheus.CounterVec

	// jwksOK and jwksNotModified are jwksRequests' two children, resolved
	// once; durations caches httpDuration's children by route, method and
	// status, so a request does not hash its labels again.
	jwksOK, jwksNotModified prometheus.Counter
	durations               sync.Map // durationKey → prometheus.Observer

	issued *issuedWindow
}

type durationKey struct {
	route, method string
	status        int
}

// NewMetrics registers Sigil's metrics; ring feeds the active-key age gauge.
func NewMetrics(ring *keys.Ring) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "sigil_http_request_duration_seconds", Help: "HTTP request duration by route, method and status.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "method", "code"}),
		TokensIssued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sigil_tokens_issued_total", Help: "Access tokens issued, by signing algorithm and grant.",
		}, []string{"alg", "grant"}),
		LoginFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sigil_login_failures_total", Help: "Failed login attempts.",
		}),
		Throttled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sigil_throttled_requests_total", Help: "Requests refused by rate limiting or account lockout.",
		}, []string{"reason"}),
		OverloadRefusals: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sigil_overload_refusals_total", Help: "Login and signup requests refused with 503 before any work because the password-hashing slots and their queue were full.",
		}),
		KeyEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sigil_key_events_total", Help: "Key lifecycle changes made by this instance (rotations, revocations).",
		}, []string{"event"}),
		jwksRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sigil_jwks_requests_total", Help: "JWKS requests, by answer (200 or 304).",
		}, []string{"code"}),
		KeyringReloads: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sigil_keyring_reloads_total", Help: "Keyring snapshots swapped in after a key change.",
		}),
		Authorize: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sigil_authorize_requests_total", Help: "Authorization requests by outcome (code, login_page, consent_page, or an error code).",
		}, []string{"outcome"}),
	}
	activeAge := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "sigil_active_key_age_seconds", Help: "Age of the active signing key.",
	}, func() float64 {
		snap := ring.Load()
		if snap == nil || snap.Active() == nil {
			return 0
		}
		for _, r := range snap.Records() {
			if r.KID == snap.Active().KID {
				return time.Since(r.ActivatedAt).Seconds()
			}
		}
		return 0
	})
	m.issued = &issuedWindow{counter: m.TokensIssued}
	m.issued.sample(time.Now())
	m.jwksOK = m.jwksRequests.WithLabelValues("200")
	m.jwksNotModified = m.jwksRequests.WithLabelValues("304")
	m.reg.MustRegister(m.httpDuration, m.TokensIssued, m.LoginFailures, m.Throttled, m.OverloadRefusals, m.KeyEvents,
		m.jwksRequests, m.KeyringReloads, m.Authorize, activeAge,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// WatchKeySet exports sigil_keyring_unusable: 1 while unusable reports
// that the key set in the database cannot be loaded (the instance then
// verifies with the published keys, signs only if its key is still the
// active one, and /readyz fails), 0 otherwise. It is the
// signal to alert on.
func (m *Metrics) WatchKeySet(unusable func() bool) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "sigil_keyring_unusable", Help: "1 while the key set in the database cannot be loaded by this instance.",
	}, func() float64 {
		if unusable() {
			return 1
		}
		return 0
	}))
}

// BuildInfo exports sigil_build_info, always 1, labelled with the
// version, the Go release and the backend RS256 keys sign with
// (rsa_backend "openssl" or "go"), so a fleet shows which instances run
// a release build.
func (m *Metrics) BuildInfo(version, rsaBackend string) {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "sigil_build_info", Help: "Always 1; the labels describe the build, including the RS256 signing backend.",
		ConstLabels: prometheus.Labels{"version": version, "goversion": runtime.Version(), "rsa_backend": rsaBackend},
	})
	g.Set(1)
	m.reg.MustRegister(g)
}

// WatchDatabase exports sigil_database_breaker_open: 1 while the store's
// breaker refuses queries after the database stopped answering (requests
// that need it answer 503 at once), 0 otherwise.
func (m *Metrics) WatchDatabase(available func() bool) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "sigil_database_breaker_open", Help: "1 while queries are refused because the database stopped answering.",
	}, func() float64 {
		if available() {
			return 0
		}
		return 1
	}))
}

// TokensLastHour returns how many access tokens were counted in
// sigil_tokens_issued_total over the last hour, and the window actually
// covered (shorter while the process is younger than an hour).
func (m *Metrics) TokensLastHour(now time.Time) (int64, time.Duration) { return m.issued.lastHour(now) }

// SampleIssued records the issued-token counter for TokensLastHour; Run
// calls it every minute.
func (m *Metrics) SampleIssued(now time.Time) { m.issued.sample(now) }

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// observeRequest records one request's duration. The labels come from a
// fixed set: a method outside the standard ones is "OTHER" and a status
// without a standard meaning is "other", so a client sending invented
// methods cannot grow the series (and the memory and /metrics) without
// bound; the route is the matched template or "unmatched".
func (m *Metrics) observeRequest(route, method string, status int, d time.Duration) {
	method = methodLabel(method)
	k := durationKey{route, method, status}
	if o, ok := m.durations.Load(k); ok {
		o.(prometheus.Observer).Observe(d.Seconds())
		return
	}
	o := m.httpDuration.WithLabelValues(route, method, statusLabel(status))
	m.durations.Store(k, o)
	o.Observe(d.Seconds())
}

var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true,
	http.MethodConnect: true, http.MethodTrace: true,
}

// methodLabel is the metric label of an HTTP method: itself if standard,
// else "OTHER".
func methodLabel(method string) string {
	if knownMethods[method] {
		return method
	}
	return "OTHER"
}

// statusLabel is the metric label of a status code: the code if it has a
// standard meaning, else "other".
func statusLabel(status int) string {
	if http.StatusText(status) == "" {
		return "other"
	}
	return strconv.Itoa(status)
}

func (m *Metrics) jwks(notModified bool) {
	if notModified {
		m.jwksNotModified.Inc()
		return
	}
	m.jwksOK.Inc()
}

// PrunedRows registers and returns the counter of rows deleted by the
// background pruning, by table.
func (m *Metrics) PrunedRows() *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sigil_pruned_rows_total", Help: "Expired or outdated rows deleted by the background pruning, by table.",
	}, []string{"table"})
	m.reg.MustRegister(c)
	return c
}

// MailCounters registers and returns the counters of the mail outbox:
// messages sent and messages given up on, by kind.
func (m *Metrics) MailCounters() (sent, failed *prometheus.CounterVec) {
	sent = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sigil_mail_sent_total", Help: "Messages handed to the mail server (or the log), by kind.",
	}, []string{"kind"})
	failed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sigil_mail_failed_total", Help: "Messages marked failed after their last attempt, by kind; alert on any.",
	}, []string{"kind"})
	m.reg.MustRegister(sent, failed)
	return sent, failed
}
