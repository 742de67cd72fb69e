//! What operators rely on: malformed records go to the dead-letter topic with their
//! provenance and never stop the pipeline; the metrics agree with the topics.

use std::time::Duration;

use nudge_e2e::*;

/// A simulated day (a week ago, so every short timer is due before now) with malformed
/// records mixed into each input file; returns the directory, the number of malformed
/// records and the number of valid ones.
fn traffic_with_bad_records() -> (tempfile::TempDir, usize, usize) {
    let dir = tempfile::tempdir().unwrap();
    simulate(dir.path(), 300, 24, 3);
    let bad = [
        "{\"customer_id\":\"x\",\"type\":\"page_vi",
        "{\"type\":\"page_view\",\"ts\":\"2026-11-30T10:00:00Z\"}",
        "{\"customer_id\":\"x\",\"type\":\"page_view\",\"ts\":\"yesterday\"}",
    ];
    let mut valid = 0;
    for source in ["crm", "email", "clickstream"] {
        let path = dir.path().join(format!("{source}.ndjson"));
        let text = std::fs::read_to_string(&path).unwrap();
        let mut lines: Vec<&str> = text.lines().collect();
        valid += lines.len();
        for (i, b) in bad.iter().enumerate() {
            lines.insert((i * 3 + 1).min(lines.len()), b);
        }
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    }
    (dir, bad.len() * 3, valid)
}

#[test]
fn bad_records_are_dead_lettered_with_provenance_and_metrics_match_the_topics() {
    let (data, bad, valid) = traffic_with_bad_records();
    let port = free_port();
    let extra = format!(
        "[runtime]\nthreads = 1\n[policy]\nholdout_percent = 0\n[metrics]\nlisten = \"127.0.0.1:{port}\"\n"
    );
    let mut s = Scenario::new(&extra);
    let broker = DevBroker::start(&s.config(), 2);
    s.brokers = broker.bootstrap.clone();
    s.produce(data.path());
    let replayed = replay(data.path(), &s.config());
    let pipeline = s.start("ops");

    let dlq = s.topic("dlq");
    wait_for(
        "every bad record in the dead-letter topic",
        Duration::from_secs(120),
        || read_all(&s.brokers, std::slice::from_ref(&dlq), true).len() >= bad,
    );
    let last = last_event_time(data.path());
    settle_outputs(&s, &replayed, last, true, false);

    let dead = read_all(&s.brokers, &[dlq], true);
    assert_eq!(dead.len(), bad, "each malformed record once");
    for d in &dead {
        let topic = &d.headers["nudge.source.topic"];
        assert!(topic.ends_with(&s.suffix), "{topic}");
        assert!(d.headers["nudge.source.offset"].parse::<i64>().is_ok());
        assert!(d.headers["nudge.source.partition"].parse::<i32>().is_ok());
        assert!(!d.headers["nudge.error"].is_empty());
        let reason = d.headers["nudge.error.reason"].as_str();
        assert!(
            ["invalid_json", "missing_customer_id", "bad_timestamp"].contains(&reason),
            "{reason}"
        );
        let original = String::from_utf8(d.value.clone().unwrap()).unwrap();
        assert!(
            original.contains("\"type\":\"page_"),
            "original value kept: {original}"
        );
    }

    let outputs = read_all(&s.brokers, &s.output_topics(), true);
    let live = normalise(&s, &outputs);
    assert_matches_replay(&live, &replayed, last);
    assert!(live.len() > 50, "a simulated day gives plenty of outputs");

    let (status, _) = http_get(port, "/readyz");
    assert_eq!(status, 200, "ready once the tasks are restored");
    let (status, page) = http_get(port, "/metrics");
    assert_eq!(status, 200);
    let count = |prefix: &str| {
        outputs
            .iter()
            .filter(|r| r.topic.starts_with(prefix))
            .count() as f64
    };
    let triggers = count(&format!("triggers-{}.", s.suffix));
    assert_eq!(metric_sum(&page, "nudge_triggers_emitted_total"), triggers);
    assert_eq!(
        metric_sum(&page, "nudge_triggers_suppressed_total"),
        count(&s.topic("suppressed"))
    );
    assert_eq!(
        metric_sum(&page, "nudge_sessions_closed_total"),
        count(&s.topic("sessions"))
    );
    assert_eq!(
        metric_sum(&page, "nudge_conversions_total"),
        count(&s.topic("outcomes"))
    );
    assert_eq!(metric_sum(&page, "nudge_invalid_records_total"), bad as f64);
    assert_eq!(
        metric_sum(&page, "nudge_events_consumed_total"),
        valid as f64
    );
    assert!(metric_sum(&page, "nudge_transactions_total") > 0.0);
    assert!(pipeline.stop());
}
