//! [`Metrics`]: the registered handles of every metric in [`crate::names::CATALOG`].

use prometheus::core::Collector;
use prometheus::{
    CounterVec, GaugeVec, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};
use tracing::warn;

use crate::names::{self, MetricType};
use crate::{Health, MetricsError};

/// Session length: 10 s to the 24 h session maximum.
const SESSION_DURATION_BUCKETS: &[f64] = &[
    10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0, 86400.0,
];
/// Page views per session, Fibonacci-spaced.
const SESSION_PAGES_BUCKETS: &[f64] = &[1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0, 34.0, 55.0];
/// Milliseconds to seconds, for per-record processing and transaction commits.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// A live stream fires within about a second of the deadline; the tail shows stalls.
const TRIGGER_DELAY_BUCKETS: &[f64] = &[
    0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];
/// Restores range from an empty partition to a large changelog.
const RESTORE_BUCKETS: &[f64] = &[
    0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];

/// Every Nudge metric, registered in its own [`Registry`] (never the global one), so tests
/// and several pipelines in one process do not collide.
///
/// Fields are the prometheus handles themselves. On the hot path the runtime resolves label
/// values once (`with_label_values` returns a cheap clone-able child) and keeps the child.
/// Cloning `Metrics` clones handles that share the same underlying series.
#[derive(Clone, Debug)]
pub struct Metrics {
    registry: Registry,
    /// `nudge_events_consumed_total{topic,type}`.
    pub events_consumed: IntCounterVec,
    /// `nudge_invalid_records_total{topic,reason}`: dead-lettered input records.
    pub invalid_records: IntCounterVec,
    /// `nudge_late_events_total{topic}`.
    pub late_events: IntCounterVec,
    /// `nudge_unknown_events_total{topic}`: unknown event types, skipped.
    pub unknown_events: IntCounterVec,
    /// `nudge_triggers_emitted_total{type,channel,arm}`.
    pub triggers_emitted: IntCounterVec,
    /// `nudge_triggers_suppressed_total{type,reason}`.
    pub triggers_suppressed: IntCounterVec,
    /// `nudge_conversions_total{type,arm}`.
    pub conversions: IntCounterVec,
    /// `nudge_conversion_revenue_total{type,arm}`: purchase revenue as reported, unconverted.
    pub conversion_revenue: CounterVec,
    /// `nudge_sessions_closed_total{device}`.
    pub sessions_closed: IntCounterVec,
    /// `nudge_session_duration_seconds`.
    pub session_duration: Histogram,
    /// `nudge_session_pages`.
    pub session_pages: Histogram,
    /// `nudge_session_bounces_total`.
    pub session_bounces: IntCounter,
    /// `nudge_session_conversions_total`.
    pub session_conversions: IntCounter,
    /// `nudge_funnel_sessions_total{step}`; every step of [`names::FUNNEL_STEPS`] exists at 0.
    pub funnel_sessions: IntCounterVec,
    /// `nudge_active_sessions`, set by the runtime.
    pub active_sessions: IntGauge,
    /// `nudge_active_customers`, set by the runtime.
    pub active_customers: IntGauge,
    /// `nudge_processing_latency_seconds`.
    pub processing_latency: Histogram,
    /// `nudge_trigger_delay_seconds`.
    pub trigger_delay: Histogram,
    /// `nudge_watermark_lag_seconds{partition}`.
    pub watermark_lag: GaugeVec,
    /// `nudge_consumer_lag_records{topic,partition}`.
    pub consumer_lag: IntGaugeVec,
    /// `nudge_restore_duration_seconds`.
    pub restore_duration: Histogram,
    /// `nudge_restored_customers_total`.
    pub restored_customers: IntCounter,
    /// `nudge_transactions_total{result}`; `commit` and `abort` exist at 0.
    pub transactions: IntCounterVec,
    /// `nudge_commit_duration_seconds`.
    pub commit_duration: Histogram,
    /// `nudge_output_records_total{topic}`.
    pub output_records: IntCounterVec,
    /// `nudge_changelog_records_total{kind}`; every kind of [`names::CHANGELOG_KINDS`] at 0.
    pub changelog_records: IntCounterVec,
    /// `nudge_changelog_bytes_total`.
    pub changelog_bytes: IntCounter,
    /// `nudge_state_bytes`: bytes of the last changelog batch (set once per commit).
    pub state_bytes: IntGauge,
    /// `nudge_evicted_customers_total`.
    pub evicted_customers: IntCounter,
    /// `nudge_assigned_partitions`.
    pub assigned_partitions: IntGauge,
    /// `nudge_ready`; kept in step with `/readyz` by a [`Health`] from [`Metrics::health`].
    pub ready: IntGauge,
    /// `nudge_build_info{version}`, set to 1 for this crate's version at construction.
    pub build_info: IntGaugeVec,
}

impl Metrics {
    /// Builds and registers every metric of the catalog in a fresh registry.
    ///
    /// # Panics
    ///
    /// Only if the catalog itself is invalid, which the crate's tests rule out.
    pub fn new() -> Metrics {
        match Metrics::try_new() {
            Ok(metrics) => metrics,
            Err(e) => panic!("the metric catalog is invalid: {e}"),
        }
    }

    /// Like [`Metrics::new`], returning registration errors instead of panicking.
    pub fn try_new() -> Result<Metrics, MetricsError> {
        let b = Builder {
            registry: Registry::new(),
        };
        let metrics = Metrics {
            events_consumed: b.counter_vec(names::EVENTS_CONSUMED_TOTAL)?,
            invalid_records: b.counter_vec(names::INVALID_RECORDS_TOTAL)?,
            late_events: b.counter_vec(names::LATE_EVENTS_TOTAL)?,
            unknown_events: b.counter_vec(names::UNKNOWN_EVENTS_TOTAL)?,
            triggers_emitted: b.counter_vec(names::TRIGGERS_EMITTED_TOTAL)?,
            triggers_suppressed: b.counter_vec(names::TRIGGERS_SUPPRESSED_TOTAL)?,
            conversions: b.counter_vec(names::CONVERSIONS_TOTAL)?,
            conversion_revenue: b.float_counter_vec(names::CONVERSION_REVENUE_TOTAL)?,
            sessions_closed: b.counter_vec(names::SESSIONS_CLOSED_TOTAL)?,
            session_duration: b
                .histogram(names::SESSION_DURATION_SECONDS, SESSION_DURATION_BUCKETS)?,
            session_pages: b.histogram(names::SESSION_PAGES, SESSION_PAGES_BUCKETS)?,
            session_bounces: b.counter(names::SESSION_BOUNCES_TOTAL)?,
            session_conversions: b.counter(names::SESSION_CONVERSIONS_TOTAL)?,
            funnel_sessions: b.counter_vec(names::FUNNEL_SESSIONS_TOTAL)?,
            active_sessions: b.gauge(names::ACTIVE_SESSIONS)?,
            active_customers: b.gauge(names::ACTIVE_CUSTOMERS)?,
            processing_latency: b.histogram(names::PROCESSING_LATENCY_SECONDS, LATENCY_BUCKETS)?,
            trigger_delay: b.histogram(names::TRIGGER_DELAY_SECONDS, TRIGGER_DELAY_BUCKETS)?,
            watermark_lag: b.float_gauge_vec(names::WATERMARK_LAG_SECONDS)?,
            consumer_lag: b.gauge_vec(names::CONSUMER_LAG_RECORDS)?,
            restore_duration: b.histogram(names::RESTORE_DURATION_SECONDS, RESTORE_BUCKETS)?,
            restored_customers: b.counter(names::RESTORED_CUSTOMERS_TOTAL)?,
            transactions: b.counter_vec(names::TRANSACTIONS_TOTAL)?,
            commit_duration: b.histogram(names::COMMIT_DURATION_SECONDS, LATENCY_BUCKETS)?,
            output_records: b.counter_vec(names::OUTPUT_RECORDS_TOTAL)?,
            changelog_records: b.counter_vec(names::CHANGELOG_RECORDS_TOTAL)?,
            changelog_bytes: b.counter(names::CHANGELOG_BYTES_TOTAL)?,
            state_bytes: b.gauge(names::STATE_BYTES)?,
            evicted_customers: b.counter(names::EVICTED_CUSTOMERS_TOTAL)?,
            assigned_partitions: b.gauge(names::ASSIGNED_PARTITIONS)?,
            ready: b.gauge(names::READY)?,
            build_info: b.gauge_vec(names::BUILD_INFO)?,
            registry: b.registry,
        };
        // Series with a fixed vocabulary exist from the start, so dashboards and `rate()`
        // see 0 rather than no data.
        for step in names::FUNNEL_STEPS {
            metrics.funnel_sessions.with_label_values(&[step]);
        }
        for result in names::TRANSACTION_RESULTS {
            metrics.transactions.with_label_values(&[result]);
        }
        for kind in names::CHANGELOG_KINDS {
            metrics.changelog_records.with_label_values(&[kind]);
        }
        metrics
            .build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1);
        Ok(metrics)
    }

    /// The registry holding every metric, e.g. to gather or to add process collectors.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// A [`Health`] whose readiness also drives the `nudge_ready` gauge.
    pub fn health(&self) -> Health {
        Health::with_ready_gauge(self.ready.clone())
    }

    /// Every metric in the Prometheus text exposition format (version 0.0.4).
    ///
    /// Encoding failures are logged and yield an empty string; [`Metrics::try_render`]
    /// returns them instead.
    pub fn render(&self) -> String {
        self.try_render().unwrap_or_else(|e| {
            warn!(error = %e, "failed to encode metrics");
            String::new()
        })
    }

    /// Every metric in the Prometheus text exposition format, or the encoding error.
    pub fn try_render(&self) -> Result<String, MetricsError> {
        let families = self.registry.gather();
        Ok(TextEncoder::new().encode_to_string(&families)?)
    }

    /// Records one ended transaction: its result and, for a commit, how long it took.
    pub fn observe_transaction(&self, committed: bool, seconds: f64) {
        if committed {
            self.transactions
                .with_label_values(&[names::RESULT_COMMIT])
                .inc();
            self.commit_duration.observe(seconds);
        } else {
            self.transactions
                .with_label_values(&[names::RESULT_ABORT])
                .inc();
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// Builds each metric from its catalog entry and registers it.
struct Builder {
    registry: Registry,
}

impl Builder {
    /// The catalog's options and labels for `name`, checked against what is being built.
    fn opts(
        &self,
        name: &str,
        kind: MetricType,
        labelled: bool,
    ) -> Result<(Opts, &'static [&'static str]), MetricsError> {
        match names::lookup(name) {
            Some(doc) if doc.kind == kind && doc.labels.is_empty() != labelled => {
                Ok((Opts::new(doc.name, doc.help), doc.labels))
            }
            _ => Err(MetricsError::NotInCatalog {
                name: name.to_owned(),
                kind: kind.as_str(),
                labelled,
            }),
        }
    }

    fn register<C: Collector + Clone + 'static>(&self, c: C) -> Result<C, MetricsError> {
        self.registry.register(Box::new(c.clone()))?;
        Ok(c)
    }

    fn counter(&self, name: &str) -> Result<IntCounter, MetricsError> {
        let (opts, _) = self.opts(name, MetricType::Counter, false)?;
        self.register(IntCounter::with_opts(opts)?)
    }

    fn counter_vec(&self, name: &str) -> Result<IntCounterVec, MetricsError> {
        let (opts, labels) = self.opts(name, MetricType::Counter, true)?;
        self.register(IntCounterVec::new(opts, labels)?)
    }

    fn float_counter_vec(&self, name: &str) -> Result<CounterVec, MetricsError> {
        let (opts, labels) = self.opts(name, MetricType::Counter, true)?;
        self.register(CounterVec::new(opts, labels)?)
    }

    fn gauge(&self, name: &str) -> Result<IntGauge, MetricsError> {
        let (opts, _) = self.opts(name, MetricType::Gauge, false)?;
        self.register(IntGauge::with_opts(opts)?)
    }

    fn gauge_vec(&self, name: &str) -> Result<IntGaugeVec, MetricsError> {
        let (opts, labels) = self.opts(name, MetricType::Gauge, true)?;
        self.register(IntGaugeVec::new(opts, labels)?)
    }

    fn float_gauge_vec(&self, name: &str) -> Result<GaugeVec, MetricsError> {
        let (opts, labels) = self.opts(name, MetricType::Gauge, true)?;
        self.register(GaugeVec::new(opts, labels)?)
    }

    fn histogram(&self, name: &str, buckets: &[f64]) -> Result<Histogram, MetricsError> {
        let (opts, _) = self.opts(name, MetricType::Histogram, false)?;
        let opts = HistogramOpts::from(opts).buckets(buckets.to_vec());
        self.register(Histogram::with_opts(opts)?)
    }
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
