//! Every Nudge metric name, its type, labels and help: the single place the registry, the
//! README, the dashboards and the alert rules are checked against.
//!
//! Names follow `nudge_<what>_<unit>`; counters, and only counters, end in `_total`. Labels
//! are low-cardinality: topic, partition, event or trigger type, channel, arm, reason, step.
//! Nothing identifies a customer, an order or a trigger.

/// The Prometheus type of a metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MetricType {
    /// Monotonic count; the name ends in `_total`.
    Counter,
    /// A value that goes up and down.
    Gauge,
    /// Observations in fixed buckets, exposed as `_bucket`, `_sum` and `_count` series.
    Histogram,
}

impl MetricType {
    /// The lower-case name Prometheus uses in `# TYPE` lines.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
        }
    }
}

/// One metric as documented in [`CATALOG`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetricDoc {
    /// The full metric name, e.g. `nudge_events_consumed_total`.
    pub name: &'static str,
    /// Counter, gauge or histogram.
    pub kind: MetricType,
    /// Label names, in the order `with_label_values` expects them.
    pub labels: &'static [&'static str],
    /// One line of help, also used as the `# HELP` text.
    pub help: &'static str,
}

/// Label names used by the metrics below.
pub mod label {
    /// Kafka topic name (input, output or changelog topic: a handful per deployment).
    pub const TOPIC: &str = "topic";
    /// Kafka partition number, as a decimal string.
    pub const PARTITION: &str = "partition";
    /// Event type (`page_view`, `open`, ...) or trigger type (`cart_abandoned`, ...).
    pub const TYPE: &str = "type";
    /// Why a record was dead-lettered or a trigger suppressed.
    pub const REASON: &str = "reason";
    /// Delivery channel: `email`, `sms`, `push`.
    pub const CHANNEL: &str = "channel";
    /// Experiment arm: `treatment` or `holdout`.
    pub const ARM: &str = "arm";
    /// Device of a session: `mobile`, `desktop`, `tablet`, `app`, `other`.
    pub const DEVICE: &str = "device";
    /// Furthest funnel step a session reached; see [`super::FUNNEL_STEPS`].
    pub const STEP: &str = "step";
    /// Transaction result; see [`super::TRANSACTION_RESULTS`].
    pub const RESULT: &str = "result";
    /// Changelog record kind; see [`super::CHANGELOG_KINDS`].
    pub const KIND: &str = "kind";
    /// Crate version of the running binary.
    pub const VERSION: &str = "version";
}

/// Values of `step` on [`FUNNEL_SESSIONS_TOTAL`], in funnel order; pre-registered at 0.
pub const FUNNEL_STEPS: &[&str] = &[
    "none",
    "product_view",
    "add_to_cart",
    "checkout_started",
    "payment",
    "purchase",
];
/// Values of `result` on [`TRANSACTIONS_TOTAL`]; pre-registered at 0.
pub const TRANSACTION_RESULTS: &[&str] = &[RESULT_COMMIT, RESULT_ABORT];
/// `result` of a committed transaction.
pub const RESULT_COMMIT: &str = "commit";
/// `result` of an aborted transaction.
pub const RESULT_ABORT: &str = "abort";
/// Values of `kind` on [`CHANGELOG_RECORDS_TOTAL`]; pre-registered at 0.
pub const CHANGELOG_KINDS: &[&str] = &[KIND_STATE, KIND_TOMBSTONE, KIND_CHECKPOINT];
/// `kind` of a changelog record holding one customer's state.
pub const KIND_STATE: &str = "state";
/// `kind` of a changelog tombstone (an evicted customer).
pub const KIND_TOMBSTONE: &str = "tombstone";
/// `kind` of a changelog record holding a task's input offsets.
pub const KIND_CHECKPOINT: &str = "checkpoint";

/// Input records decoded, by topic and event type.
pub const EVENTS_CONSUMED_TOTAL: &str = "nudge_events_consumed_total";
/// Records sent to the dead-letter topic, by source topic and reason.
pub const INVALID_RECORDS_TOTAL: &str = "nudge_invalid_records_total";
/// Events older than the watermark when they arrived.
pub const LATE_EVENTS_TOTAL: &str = "nudge_late_events_total";
/// Events of an unknown type, skipped.
pub const UNKNOWN_EVENTS_TOTAL: &str = "nudge_unknown_events_total";
/// Triggers emitted, by trigger type, channel and arm.
pub const TRIGGERS_EMITTED_TOTAL: &str = "nudge_triggers_emitted_total";
/// Candidate triggers stopped by a policy.
pub const TRIGGERS_SUPPRESSED_TOTAL: &str = "nudge_triggers_suppressed_total";
/// Purchases attributed to a trigger.
pub const CONVERSIONS_TOTAL: &str = "nudge_conversions_total";
/// Revenue of purchases attributed to a trigger.
pub const CONVERSION_REVENUE_TOTAL: &str = "nudge_conversion_revenue_total";
/// Sessions closed, by device.
pub const SESSIONS_CLOSED_TOTAL: &str = "nudge_sessions_closed_total";
/// Duration of closed sessions.
pub const SESSION_DURATION_SECONDS: &str = "nudge_session_duration_seconds";
/// Page views per closed session.
pub const SESSION_PAGES: &str = "nudge_session_pages";
/// Closed sessions with a single page view.
pub const SESSION_BOUNCES_TOTAL: &str = "nudge_session_bounces_total";
/// Closed sessions that contained a purchase.
pub const SESSION_CONVERSIONS_TOTAL: &str = "nudge_session_conversions_total";
/// Closed sessions by furthest funnel step.
pub const FUNNEL_SESSIONS_TOTAL: &str = "nudge_funnel_sessions_total";
/// Open sessions held by this process.
pub const ACTIVE_SESSIONS: &str = "nudge_active_sessions";
/// Customers held in memory by this process.
pub const ACTIVE_CUSTOMERS: &str = "nudge_active_customers";
/// Time from polling a record to its outputs being handed to the producer.
pub const PROCESSING_LATENCY_SECONDS: &str = "nudge_processing_latency_seconds";
/// How long after its due time a trigger was emitted.
pub const TRIGGER_DELAY_SECONDS: &str = "nudge_trigger_delay_seconds";
/// Wall clock minus watermark, per task.
pub const WATERMARK_LAG_SECONDS: &str = "nudge_watermark_lag_seconds";
/// Consumer lag in records, per input partition.
pub const CONSUMER_LAG_RECORDS: &str = "nudge_consumer_lag_records";
/// Time to restore a task's state from the changelog.
pub const RESTORE_DURATION_SECONDS: &str = "nudge_restore_duration_seconds";
/// Customers loaded from the changelog during restores.
pub const RESTORED_CUSTOMERS_TOTAL: &str = "nudge_restored_customers_total";
/// Kafka transactions ended, by result.
pub const TRANSACTIONS_TOTAL: &str = "nudge_transactions_total";
/// Time to commit one Kafka transaction.
pub const COMMIT_DURATION_SECONDS: &str = "nudge_commit_duration_seconds";
/// Records produced to output topics.
pub const OUTPUT_RECORDS_TOTAL: &str = "nudge_output_records_total";
/// Records written to the state changelog, by kind.
pub const CHANGELOG_RECORDS_TOTAL: &str = "nudge_changelog_records_total";
/// Serialized bytes written to the state changelog.
pub const CHANGELOG_BYTES_TOTAL: &str = "nudge_changelog_bytes_total";
/// Serialized bytes of the most recent changelog batch.
pub const STATE_BYTES: &str = "nudge_state_bytes";
/// Idle customers evicted with a tombstone.
pub const EVICTED_CUSTOMERS_TOTAL: &str = "nudge_evicted_customers_total";
/// Partitions (tasks) assigned to this process.
pub const ASSIGNED_PARTITIONS: &str = "nudge_assigned_partitions";
/// 1 when every assigned task has restored, else 0.
pub const READY: &str = "nudge_ready";
/// Always 1; the `version` label names the running build.
pub const BUILD_INFO: &str = "nudge_build_info";

use label::*;
use MetricType::{Counter, Gauge, Histogram};

const fn doc(
    name: &'static str,
    kind: MetricType,
    labels: &'static [&'static str],
    help: &'static str,
) -> MetricDoc {
    MetricDoc {
        name,
        kind,
        labels,
        help,
    }
}

/// Every metric Nudge exports. The registry is built from this table, so names, types,
/// labels and help cannot drift apart.
#[rustfmt::skip]
pub const CATALOG: &[MetricDoc] = &[
    doc(EVENTS_CONSUMED_TOTAL, Counter, &[TOPIC, TYPE],
        "Input records decoded, by topic and event type."),
    doc(INVALID_RECORDS_TOTAL, Counter, &[TOPIC, REASON],
        "Malformed input records sent to the dead-letter topic, by source topic and reason."),
    doc(LATE_EVENTS_TOTAL, Counter, &[TOPIC],
        "Events whose time was behind the watermark on arrival (still applied to state)."),
    doc(UNKNOWN_EVENTS_TOTAL, Counter, &[TOPIC],
        "Events of an unknown type, counted and skipped."),
    doc(TRIGGERS_EMITTED_TOTAL, Counter, &[TYPE, CHANNEL, ARM],
        "Triggers emitted, by trigger type, channel and arm (holdout: recorded, not sent)."),
    doc(TRIGGERS_SUPPRESSED_TOTAL, Counter, &[TYPE, REASON],
        "Candidate triggers stopped by a policy, by trigger type and reason."),
    doc(CONVERSIONS_TOTAL, Counter, &[TYPE, ARM],
        "Purchases attributed to a trigger, by trigger type and arm."),
    doc(CONVERSION_REVENUE_TOTAL, Counter, &[TYPE, ARM],
        "Revenue of purchases attributed to a trigger, by trigger type and arm."),
    doc(SESSIONS_CLOSED_TOTAL, Counter, &[DEVICE],
        "Sessions closed (timeout or maximum length), by device."),
    doc(SESSION_DURATION_SECONDS, Histogram, &[],
        "Duration of closed sessions, first to last event."),
    doc(SESSION_PAGES, Histogram, &[],
        "Page views per closed session."),
    doc(SESSION_BOUNCES_TOTAL, Counter, &[],
        "Closed sessions with a single page view."),
    doc(SESSION_CONVERSIONS_TOTAL, Counter, &[],
        "Closed sessions that contained a purchase."),
    doc(FUNNEL_SESSIONS_TOTAL, Counter, &[STEP],
        "Closed sessions by furthest funnel step reached (drop-off per step derives from it)."),
    doc(ACTIVE_SESSIONS, Gauge, &[],
        "Open sessions held by this process."),
    doc(ACTIVE_CUSTOMERS, Gauge, &[],
        "Customers held in memory by this process."),
    doc(PROCESSING_LATENCY_SECONDS, Histogram, &[],
        "Wall time from polling a record to its outputs being handed to the producer."),
    doc(TRIGGER_DELAY_SECONDS, Histogram, &[],
        "How long after its due time a trigger was emitted."),
    doc(WATERMARK_LAG_SECONDS, Gauge, &[PARTITION],
        "Wall clock minus the task's watermark, per task partition."),
    doc(CONSUMER_LAG_RECORDS, Gauge, &[TOPIC, PARTITION],
        "Records between consumer position and high watermark (librdkafka statistics)."),
    doc(RESTORE_DURATION_SECONDS, Histogram, &[],
        "Time to restore one task's state from the changelog."),
    doc(RESTORED_CUSTOMERS_TOTAL, Counter, &[],
        "Customers loaded from the changelog during restores."),
    doc(TRANSACTIONS_TOTAL, Counter, &[RESULT],
        "Kafka transactions ended, by result (commit or abort)."),
    doc(COMMIT_DURATION_SECONDS, Histogram, &[],
        "Time to commit one Kafka transaction (or offset commit in at-least-once mode)."),
    doc(OUTPUT_RECORDS_TOTAL, Counter, &[TOPIC],
        "Records produced to output topics (triggers, sessions, outcomes, dead letters)."),
    doc(CHANGELOG_RECORDS_TOTAL, Counter, &[KIND],
        "Records written to the state changelog, by kind (state, tombstone, checkpoint)."),
    doc(CHANGELOG_BYTES_TOTAL, Counter, &[],
        "Serialized bytes (keys and values) written to the state changelog."),
    doc(STATE_BYTES, Gauge, &[],
        "Serialized bytes (keys and values) of the last changelog batch this process wrote."),
    doc(EVICTED_CUSTOMERS_TOTAL, Counter, &[],
        "Idle customers evicted from memory with a changelog tombstone."),
    doc(ASSIGNED_PARTITIONS, Gauge, &[],
        "Partitions (tasks) currently assigned to this process."),
    doc(READY, Gauge, &[],
        "1 when every assigned task has restored its state, else 0 (mirrors /readyz)."),
    doc(BUILD_INFO, Gauge, &[VERSION],
        "Always 1; the version label names the running build."),
];

/// The catalog entry for a metric name, if any.
pub fn lookup(name: &str) -> Option<&'static MetricDoc> {
    CATALOG.iter().find(|doc| doc.name == name)
}

/// The catalog entry behind a series name as it appears in PromQL: a metric name, or a
/// histogram's `_bucket`, `_sum` or `_count` series. Dashboard and alert checks use it.
pub fn lookup_series(series: &str) -> Option<&'static MetricDoc> {
    lookup(series).or_else(|| {
        ["_bucket", "_sum", "_count"].iter().find_map(|suffix| {
            let base = series.strip_suffix(suffix)?;
            lookup(base).filter(|doc| doc.kind == Histogram)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn is_snake(s: &str) -> bool {
        let mut chars = s.chars();
        chars.next().is_some_and(|c| c.is_ascii_lowercase())
            && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && !s.ends_with('_')
            && !s.contains("__")
    }

    #[test]
    fn names_follow_the_naming_rules() {
        for doc in CATALOG {
            let name = doc.name;
            assert!(name.starts_with("nudge_"), "{name}: missing nudge_ prefix");
            assert!(is_snake(name), "{name}: not lower snake_case");
            assert_eq!(
                name.ends_with("_total"),
                doc.kind == Counter,
                "{name}: `_total` iff counter"
            );
            for reserved in ["_bucket", "_sum", "_count", "_created", "_info_total"] {
                assert!(!name.ends_with(reserved), "{name}: reserved suffix");
            }
            assert!(
                !doc.help.is_empty() && !doc.help.contains('\n'),
                "{name}: help"
            );
        }
    }

    #[test]
    fn names_are_unique() {
        let mut seen = HashSet::new();
        for doc in CATALOG {
            assert!(seen.insert(doc.name), "{} listed twice", doc.name);
        }
    }

    #[test]
    fn labels_are_low_cardinality_and_valid() {
        for doc in CATALOG {
            let mut seen = HashSet::new();
            for &l in doc.labels {
                assert!(is_snake(l), "{}: label {l} not snake_case", doc.name);
                assert!(seen.insert(l), "{}: label {l} twice", doc.name);
                assert!(
                    !l.contains("customer"),
                    "{}: label {l} names a customer",
                    doc.name
                );
                assert!(
                    !l.ends_with("_id") && l != "id",
                    "{}: label {l} is an id",
                    doc.name
                );
                assert!(
                    !["le", "quantile"].contains(&l),
                    "{}: reserved label {l}",
                    doc.name
                );
            }
        }
    }

    #[test]
    fn lookup_series_resolves_histogram_series_only() {
        assert_eq!(
            lookup_series("nudge_session_pages_bucket").map(|d| d.name),
            Some(SESSION_PAGES)
        );
        assert_eq!(
            lookup_series("nudge_trigger_delay_seconds_count").map(|d| d.name),
            Some(TRIGGER_DELAY_SECONDS)
        );
        assert!(lookup_series("nudge_transactions_total_count").is_none());
        assert!(lookup_series("nudge_no_such_metric").is_none());
        assert_eq!(lookup_series(READY).map(|d| d.kind), Some(Gauge));
    }
}
