//! The at-least-once suite, against tansu (a real Kafka-protocol broker in its own process;
//! tansu 0.6 cannot commit transactions): an uninterrupted run's outputs must equal
//! `nudge replay` on the same records. The rebalance test runs against `nudge dev-broker`
//! (see there why).

use nudge_e2e::*;

/// One stream thread: with two, tansu's group coordinator sometimes lets the second join
/// after the first has started, and the rebalance resumes tasks inside a record batch, which
/// tansu 0.6 cannot serve (see `a_member_joining_mid_run_loses_nothing`). Two threads run in
/// the exactly-once suite.
const ALOS: &str = "[runtime]\nprocessing_guarantee = \"at_least_once\"\nthreads = 1\n";

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

/// A second member joins while the first is reading a backlog: the group rebalances, each
/// member restores the tasks it gets from the changelog, and together they still give every
/// output replay gives. Duplicates are allowed (at-least-once: trigger ids are deterministic,
/// so downstream drops them); a missing record is not.
///
/// Against `nudge dev-broker`, not tansu: a restored task resumes at its checkpoint, which
/// is often inside a record batch, and tansu 0.6 answers a fetch from inside a batch with
/// the next batch, skipping the rest of the one asked for (or with nothing, if it was the
/// last), where Kafka answers with the batch that holds the offset.
#[test]
fn a_member_joining_mid_run_loses_nothing() {
    let data = tempfile::tempdir().unwrap();
    let last = simulate(data.path(), 6_000, 24, 19);
    let mut s = Scenario::new(ALOS);
    let broker = DevBroker::start(&s.config(), 4);
    s.brokers = broker.bootstrap.clone();
    s.produce(data.path());
    let replayed = replay(data.path(), &s.config());
    let [(first, first_port), (second, _)] = s.start_second_member_mid_run();
    let live = settle_outputs(&s, &replayed, last, false, true);
    let (_, page) = http_get(first_port, "/metrics");
    assert!(
        metric_sum(&page, "nudge_restored_customers_total") > 0.0,
        "the first member handed tasks over and restored the ones it kept, mid-run"
    );
    assert!(second.stop() && first.stop(), "both members stop cleanly");
    assert_matches_replay(&live, &replayed, last);
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
    let pipeline = s.start("alos");
    let live = settle_outputs(&s, &replayed, last, false, false);
    assert!(pipeline.stop(), "graceful shutdown on SIGTERM");
    assert_matches_replay(&live, &replayed, last);
}
