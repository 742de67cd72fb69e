use std::collections::BTreeSet;

use prometheus::proto::MetricType as ProtoType;

use super::*;
use crate::names::{CATALOG, FUNNEL_STEPS};

/// Creates one series on every labelled metric, so every family appears in the output.
fn touch_all(m: &Metrics) {
    m.events_consumed
        .with_label_values(&["clickstream", "page_view"])
        .inc();
    m.invalid_records
        .with_label_values(&["email", "invalid_json"])
        .inc();
    m.late_events.with_label_values(&["clickstream"]).inc();
    m.unknown_events.with_label_values(&["crm"]).inc();
    m.triggers_emitted
        .with_label_values(&["cart_abandoned", "email", "treatment"])
        .inc();
    m.triggers_suppressed
        .with_label_values(&["cart_abandoned", "frequency_cap"])
        .inc();
    m.conversions
        .with_label_values(&["cart_abandoned", "holdout"])
        .inc();
    m.conversion_revenue
        .with_label_values(&["cart_abandoned", "holdout"])
        .inc_by(12.5);
    m.sessions_closed.with_label_values(&["mobile"]).inc();
    m.watermark_lag.with_label_values(&["0"]).set(1.5);
    m.consumer_lag
        .with_label_values(&["clickstream", "0"])
        .set(3);
    m.output_records.with_label_values(&["sessions"]).inc();
}

fn family_shapes(m: &Metrics) -> BTreeSet<(String, &'static str, Vec<String>)> {
    m.registry()
        .gather()
        .iter()
        .map(|family| {
            let kind = match family.get_field_type() {
                ProtoType::COUNTER => "counter",
                ProtoType::GAUGE => "gauge",
                ProtoType::HISTOGRAM => "histogram",
                _ => "other",
            };
            let labels = family.get_metric()[0]
                .get_label()
                .iter()
                .map(|pair| pair.name().to_owned())
                .collect();
            (family.name().to_owned(), kind, labels)
        })
        .collect()
}

#[test]
fn render_contains_every_catalog_name() {
    let metrics = Metrics::new();
    touch_all(&metrics);
    let text = metrics.render();
    for doc in CATALOG {
        assert!(
            text.contains(&format!("# TYPE {} {}\n", doc.name, doc.kind.as_str())),
            "{} missing from the rendered output",
            doc.name
        );
        assert!(text.contains(&format!("# HELP {} {}\n", doc.name, doc.help)));
    }
}

#[test]
fn registry_matches_the_catalog_exactly() {
    let metrics = Metrics::new();
    touch_all(&metrics);
    let registered = family_shapes(&metrics);
    let catalog: BTreeSet<_> = CATALOG
        .iter()
        .map(|doc| {
            let mut labels: Vec<String> = doc.labels.iter().map(|l| l.to_string()).collect();
            // The encoder sorts label pairs by name.
            labels.sort();
            (doc.name.to_owned(), doc.kind.as_str(), labels)
        })
        .collect();
    let registered: BTreeSet<_> = registered
        .into_iter()
        .map(|(name, kind, mut labels)| {
            labels.sort();
            (name, kind, labels)
        })
        .collect();
    assert_eq!(registered, catalog);
}

#[test]
fn known_label_values_exist_at_zero_before_use() {
    let text = Metrics::new().render();
    for step in FUNNEL_STEPS {
        assert!(text.contains(&format!(
            "nudge_funnel_sessions_total{{step=\"{step}\"}} 0\n"
        )));
    }
    for line in [
        "nudge_transactions_total{result=\"commit\"} 0\n",
        "nudge_transactions_total{result=\"abort\"} 0\n",
        "nudge_changelog_records_total{kind=\"state\"} 0\n",
        "nudge_changelog_records_total{kind=\"tombstone\"} 0\n",
        "nudge_changelog_records_total{kind=\"checkpoint\"} 0\n",
        "nudge_ready 0\n",
    ] {
        assert!(text.contains(line), "missing {line:?}");
    }
    let build = format!(
        "nudge_build_info{{version=\"{}\"}} 1\n",
        env!("CARGO_PKG_VERSION")
    );
    assert!(text.contains(&build));
}

#[test]
fn histograms_use_their_documented_buckets() {
    let metrics = Metrics::new();
    metrics.session_duration.observe(45.0);
    metrics.session_pages.observe(4.0);
    metrics.trigger_delay.observe(0.2);
    let text = metrics.render();
    assert!(text.contains("nudge_session_duration_seconds_bucket{le=\"10\"} 0\n"));
    assert!(text.contains("nudge_session_duration_seconds_bucket{le=\"86400\"} 1\n"));
    assert!(text.contains("nudge_session_pages_bucket{le=\"3\"} 0\n"));
    assert!(text.contains("nudge_session_pages_bucket{le=\"5\"} 1\n"));
    assert!(text.contains("nudge_session_pages_bucket{le=\"55\"} 1\n"));
    assert!(text.contains("nudge_trigger_delay_seconds_bucket{le=\"0.05\"} 0\n"));
    assert!(text.contains("nudge_trigger_delay_seconds_bucket{le=\"300\"} 1\n"));
    assert!(text.contains("nudge_processing_latency_seconds_bucket{le=\"0.001\"} 0\n"));
}

#[test]
fn two_instances_do_not_share_series() {
    let a = Metrics::new();
    let b = Metrics::new();
    a.session_bounces.inc();
    assert_eq!(a.session_bounces.get(), 1);
    assert_eq!(b.session_bounces.get(), 0);
}

#[test]
fn observe_transaction_counts_results_and_commit_time() {
    let metrics = Metrics::new();
    metrics.observe_transaction(true, 0.02);
    metrics.observe_transaction(false, 0.5);
    let text = metrics.render();
    assert!(text.contains("nudge_transactions_total{result=\"commit\"} 1\n"));
    assert!(text.contains("nudge_transactions_total{result=\"abort\"} 1\n"));
    assert!(text.contains("nudge_commit_duration_seconds_count 1\n"));
}

#[test]
fn health_from_metrics_drives_the_ready_gauge() {
    let metrics = Metrics::new();
    let health = metrics.health();
    health.set_ready(true);
    assert!(metrics.render().contains("nudge_ready 1\n"));
}

#[test]
fn builder_refuses_shapes_the_catalog_does_not_list() {
    let b = Builder {
        registry: Registry::new(),
    };
    assert!(matches!(
        b.counter(names::EVENTS_CONSUMED_TOTAL),
        Err(MetricsError::NotInCatalog { .. })
    ));
    assert!(b.gauge(names::SESSION_BOUNCES_TOTAL).is_err());
    assert!(b.counter("nudge_not_listed_total").is_err());
}
