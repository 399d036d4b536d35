package jobs

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are oktasync's Prometheus metrics, for `serve` (/metrics) and for
// `sync` (pushed to a Pushgateway). Create one per registry.
type Metrics struct {
	runs           *prometheus.CounterVec
	duration       *prometheus.HistogramVec
	users          *prometheus.CounterVec
	lastSuccess    *prometheus.GaugeVec
	lastRun        *prometheus.GaugeVec
	okta429        prometheus.Counter
	oktaRequests   prometheus.Counter
	rateRemaining  prometheus.Gauge
	hookDeliveries *prometheus.CounterVec
	hookEvents     *prometheus.CounterVec
	queueDepth     prometheus.Gauge
	skipped        *prometheus.CounterVec
	search         *prometheus.CounterVec
	searchSuccess  *prometheus.GaugeVec
}

// NewMetrics registers the metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oktasync_runs_total", Help: "Sync runs by kind (full, incremental, hook) and outcome (success, failure, refused).",
		}, []string{"kind", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "oktasync_run_duration_seconds", Help: "Duration of sync runs.",
			Buckets: []float64{0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600},
		}, []string{"kind"}),
		users: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oktasync_users_processed_total", Help: "Users processed, by kind of run and result.",
		}, []string{"kind", "result"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "oktasync_last_success_timestamp_seconds", Help: "Unix time of the last successful run, by kind.",
		}, []string{"kind"}),
		lastRun: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "oktasync_last_run_timestamp_seconds", Help: "Unix time of the last run, by kind and outcome.",
		}, []string{"kind", "outcome"}),
		okta429: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "oktasync_okta_rate_limited_total", Help: "HTTP 429 answers from Okta.",
		}),
		oktaRequests: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "oktasync_okta_requests_total", Help: "HTTP requests sent to Okta.",
		}),
		rateRemaining: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "oktasync_okta_rate_limit_remaining", Help: "X-Rate-Limit-Remaining of the latest Okta answer.",
		}),
		hookDeliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oktasync_hook_deliveries_total", Help: "Event hook requests by result (accepted, unauthorized, too_large, malformed, method).",
		}, []string{"result"}),
		hookEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oktasync_hook_events_total", Help: "Event hook events by result (queued users, duplicate, ignored, overflow).",
		}, []string{"result"}),
		queueDepth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "oktasync_hook_queue_depth", Help: "Users waiting in the hook queue.",
		}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oktasync_schedule_skipped_total", Help: "Scheduled runs skipped because another run was in progress.",
		}, []string{"kind"}),
	}
	m.search = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "oktasync_search_updates_total", Help: "People-search index updates by kind of run and outcome (success, failure, skipped).",
	}, []string{"kind", "outcome"})
	m.searchSuccess = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "oktasync_search_last_success_timestamp_seconds", Help: "Unix time of the last successful people-search update, by kind of run.",
	}, []string{"kind"})
	reg.MustRegister(m.runs, m.duration, m.users, m.lastSuccess, m.lastRun, m.okta429, m.oktaRequests,
		m.rateRemaining, m.hookDeliveries, m.hookEvents, m.queueDepth, m.skipped, m.search, m.searchSuccess)
	return m
}

// ObserveRun records a finished run. Safe on a nil *Metrics.
func (m *Metrics) ObserveRun(kind string, s Summary) {
	if m == nil {
		return
	}
	m.runs.WithLabelValues(kind, s.Outcome).Inc()
	m.duration.WithLabelValues(kind).Observe(s.Duration.Seconds())
	for result, n := range map[string]int{
		"created": s.Created, "updated": s.Updated, "unchanged": s.Unchanged, "skipped": s.Skipped,
		"deactivated": s.DeactivatedMissing + s.DeactivatedByStatus, "reactivated": s.Reactivated,
	} {
		m.users.WithLabelValues(kind, result).Add(float64(n))
	}
	now := float64(nowUnix())
	m.lastRun.WithLabelValues(kind, s.Outcome).Set(now)
	if s.Outcome == "success" {
		m.lastSuccess.WithLabelValues(kind).Set(now)
	}
	if q := s.Search; q != nil {
		m.search.WithLabelValues(kind, q.Outcome).Inc()
		if q.Outcome == "success" {
			m.searchSuccess.WithLabelValues(kind).Set(now)
		}
	}
	m.okta429.Add(float64(s.RateLimited))
	m.oktaRequests.Add(float64(s.OktaRequests))
	if s.Remaining >= 0 && s.OktaRequests > 0 {
		m.rateRemaining.Set(float64(s.Remaining))
	}
}

// HookDelivery counts one hook request.
func (m *Metrics) HookDelivery(result string) {
	if m != nil {
		m.hookDeliveries.WithLabelValues(result).Inc()
	}
}

// HookEvents counts hook events.
func (m *Metrics) HookEvents(result string, n int) {
	if m != nil && n > 0 {
		m.hookEvents.WithLabelValues(result).Add(float64(n))
	}
}

// QueueDepth sets the hook queue depth.
func (m *Metrics) QueueDepth(n int) {
	if m != nil {
		m.queueDepth.Set(float64(n))
	}
}

// ScheduleSkipped counts a skipped scheduled run.
func (m *Metrics) ScheduleSkipped(kind string) {
	if m != nil {
		m.skipped.WithLabelValues(kind).Inc()
	}
}

func nowUnix() int64 { return time.Now().Unix() }
