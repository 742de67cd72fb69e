//! The at-least-once suite, against tansu (a real Kafka-protocol broker in its own process;
//! tansu 0.6 cannot commit transactions): an uninterrupted run's outputs must equal
//! `nudge replay` on the same records.

use std::time::Duration;

use nudge_e2e::*;

const ALOS: &str = "[runtime]\nprocessing_guarantee = \"at_least_once\"\nthreads = 2\n";

#[test]
fn outputs_equal_replay_on_tansu() {
    outputs_equal_replay_on_tansu_with(ALOS);
}

/// One record held per input partition: every partition is read only as fast as the
/// alignment takes its records, and none may be skipped or read twice.
#[test]
fn outputs_equal_replay_on_tansu_when_one_record_is_buffered_per_partition() {
    outputs_equal_replay_on_tansu_with(&format!("{ALOS}buffered_records_per_partition = 1\n"));
}

/// Outputs of an uninterrupted run with `runtime` (a `[runtime]` table) against replay's.
fn outputs_equal_replay_on_tansu_with(runtime: &str) {
    let data = tempfile::tempdir().unwrap();
    let last = simulate(data.path(), 400, 24, 5);
    let mut s = Scenario::new(runtime);
    s.brokers = tansu();
    s.create_topics(4);
    s.produce(data.path());
    let replayed = replay(data.path(), &s.config());
    let expected = replayed.iter().filter(|r| r.0 != "nudge-dlq").count();
    let pipeline = s.start("alos");
    let mut live = Vec::new();
    let mut last_len = usize::MAX;
    let mut stable = 0;
    wait_for("the outputs to settle", Duration::from_secs(240), || {
        live = normalise(&s, &read_all(&s.brokers, &s.output_topics(), false));
        stable = if live.len() >= expected && live.len() == last_len {
            stable + 1
        } else {
            0
        };
        last_len = live.len();
        stable >= 3
    });
    assert!(pipeline.stop(), "graceful shutdown on SIGTERM");
    assert_matches_replay(&live, &replayed, last);
}
