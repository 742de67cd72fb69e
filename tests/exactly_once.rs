//! The exactly-once suite, against `nudge dev-broker` (librdkafka's mock cluster in its own
//! process, with transactions): outputs read read_committed must equal `nudge replay` on the
//! same records, through crashes and rebalances.

use std::collections::BTreeSet;
use std::time::Duration;

use nudge_e2e::*;

const PARTITIONS: i32 = 4;

/// One stream thread per member, for the tests that start several members.
const EOS_ONE_THREAD: &str = "[runtime]\nprocessing_guarantee = \"exactly_once\"\nthreads = 1\n";

/// Two stream threads, as on this machine's two cores by default.
const EOS_TWO_THREADS: &str = "[runtime]\nprocessing_guarantee = \"exactly_once\"\nthreads = 2\n";

/// The latest changelog value of every customer (checkpoints left out).
fn final_state(s: &Scenario) -> std::collections::BTreeMap<String, Option<Vec<u8>>> {
    read_all(&s.brokers, &[s.topic("changelog")], true)
        .into_iter()
        .filter(|r| {
            !r.key
                .as_deref()
                .unwrap_or_default()
                .contains("nudge.checkpoint")
        })
        .map(|r| (r.key.unwrap_or_default(), r.value))
        .collect()
}

/// Outputs of an uninterrupted run with `runtime` (a `[runtime]` table) against replay's.
fn committed_outputs_equal_replay_with(runtime: &str) {
    let data = tempfile::tempdir().unwrap();
    let last = simulate(data.path(), 400, 24, 7);
    let mut s = Scenario::new(runtime);
    let broker = DevBroker::start(&s.config(), PARTITIONS);
    s.brokers = broker.bootstrap.clone();
    s.produce(data.path());
    let replayed = replay(data.path(), &s.config());
    let pipeline = s.start("a");
    let live = settle_outputs(&s, &replayed, last, true, false);
    assert!(pipeline.stop(), "graceful shutdown on SIGTERM");
    assert_matches_replay(&live, &replayed, last);
}

#[test]
fn committed_outputs_equal_replay() {
    committed_outputs_equal_replay_with(EOS_TWO_THREADS);
}

/// One record held per input partition: every partition is read only as fast as the
/// alignment takes its records, and none may be skipped or read twice.
#[test]
fn committed_outputs_equal_replay_when_one_record_is_buffered_per_partition() {
    committed_outputs_equal_replay_with(
        "[runtime]\nprocessing_guarantee = \"exactly_once\"\nthreads = 2\nbuffered_records_per_partition = 1\n",
    );
}

#[test]
fn crashes_lose_and_duplicate_nothing() {
    let data = tempfile::tempdir().unwrap();
    let last = simulate(data.path(), 3_000, 24, 11);
    let mut s = Scenario::new(EOS_TWO_THREADS);
    let broker = DevBroker::start(&s.config(), PARTITIONS);
    s.brokers = broker.bootstrap.clone();
    s.produce(data.path());
    let replayed = replay(data.path(), &s.config());
    // Kill -9 at pseudo-random moments (fixed seed, so a failure reproduces). The restarted
    // process is the same instance: its transactional ids fence the dead one's.
    let mut seed = 0x9e37_79b9_u64;
    for _ in 0..5 {
        let pipeline = s.start("crashy");
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let ms = 1_500 + (seed >> 33) % 3_000;
        std::thread::sleep(Duration::from_millis(ms));
        pipeline.kill();
    }
    let pipeline = s.start("crashy");
    let live = settle_outputs(&s, &replayed, last, true, false);
    assert!(pipeline.stop());
    assert_matches_replay(&live, &replayed, last);

    // The state the crashed pipeline left equals an uninterrupted run's.
    let mut calm = Scenario::new(EOS_TWO_THREADS);
    let calm_broker = DevBroker::start(&calm.config(), PARTITIONS);
    calm.brokers = calm_broker.bootstrap.clone();
    calm.produce(data.path());
    let pipeline = calm.start("calm");
    settle_outputs(&calm, &replayed, last, true, false);
    assert!(pipeline.stop());
    let crashed = final_state(&s);
    let uninterrupted = final_state(&calm);
    assert!(!crashed.is_empty());
    assert_eq!(crashed.len(), uninterrupted.len(), "customers with state");
    assert!(
        crashed == uninterrupted,
        "customer state differs after crashes"
    );
}

#[test]
fn a_survivor_takes_over_the_partitions_of_a_stopped_member() {
    let data = tempfile::tempdir().unwrap();
    let last = simulate(data.path(), 6_000, 24, 13);
    let mut s = Scenario::new(EOS_ONE_THREAD);
    let broker = DevBroker::start(&s.config(), PARTITIONS);
    s.brokers = broker.bootstrap.clone();
    // A backlog, so the outcome does not depend on how live records interleave.
    s.produce(data.path());
    let replayed = replay(data.path(), &s.config());
    let (survivor_port, leaver_port) = (free_port(), free_port());
    let survivor = s.start_serving("survivor", survivor_port);
    let mut leaver = s.start_serving("leaver", leaver_port);
    wait_until_applying(leaver_port);
    assert!(leaver.running(), "the second member ran until stopped");
    assert!(
        leaver.stop(),
        "the stopped member commits and leaves cleanly"
    );
    let live = settle_outputs(&s, &replayed, last, true, false);
    let (_, page) = http_get(survivor_port, "/metrics");
    assert!(
        metric_sum(&page, "nudge_restored_customers_total") > 0.0,
        "the survivor restored its new tasks from the changelog"
    );
    assert!(survivor.stop());
    assert_matches_replay(&live, &replayed, last);
}

/// A second member joins while the first is reading a backlog: each restores the tasks it
/// gets, and together they commit exactly what replay gives.
#[test]
fn a_member_joining_mid_run_changes_nothing() {
    let data = tempfile::tempdir().unwrap();
    let last = simulate(data.path(), 6_000, 24, 19);
    let mut s = Scenario::new(EOS_ONE_THREAD);
    let broker = DevBroker::start(&s.config(), PARTITIONS);
    s.brokers = broker.bootstrap.clone();
    s.produce(data.path());
    let replayed = replay(data.path(), &s.config());
    let [(first, _), (second, _)] = s.start_second_member_mid_run();
    let live = settle_outputs(&s, &replayed, last, true, false);
    assert!(second.stop() && first.stop(), "both members stop cleanly");
    assert_matches_replay(&live, &replayed, last);
}

#[test]
fn a_member_exports_the_gauges_of_its_own_partitions_only() {
    let data = tempfile::tempdir().unwrap();
    simulate(data.path(), 500, 6, 17);
    let mut s = Scenario::new(EOS_ONE_THREAD);
    let broker = DevBroker::start(&s.config(), PARTITIONS);
    s.brokers = broker.bootstrap.clone();
    s.produce(data.path());
    let (first_port, second_port) = (free_port(), free_port());
    // The partitions a member exports the watermark lag and the consumer lag of.
    let lagging = |port| {
        let (_, page) = http_get(port, "/metrics");
        let watermark = metric_label_values(&page, "nudge_watermark_lag_seconds", "partition");
        let consumer = metric_label_values(&page, "nudge_consumer_lag_records", "partition");
        if watermark == consumer {
            watermark
        } else {
            BTreeSet::new()
        }
    };
    let first = s.start_serving("first", first_port);
    wait_for(
        "the first member to export the lags of every partition",
        Duration::from_secs(60),
        || lagging(first_port).len() == PARTITIONS as usize,
    );
    let second = s.start_serving("second", second_port);
    // The first member hands partitions over, and stops exporting their last values.
    wait_for(
        "the members to export the lags of disjoint halves",
        Duration::from_secs(60),
        || {
            let (kept, taken) = (lagging(first_port), lagging(second_port));
            !kept.is_empty() && !taken.is_empty() && kept.is_disjoint(&taken)
        },
    );
    assert!(second.stop() && first.stop(), "both members stop cleanly");
}
