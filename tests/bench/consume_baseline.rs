//! The limit `tests/bench/e2e.sh` compares `nudge run` with: a plain librdkafka consume of
//! the input topics plus a serde_json parse of each record, and nothing else.
//!
//! Usage: consume-baseline BROKERS EXPECTED TOPIC...
//! Env: FETCH_WAIT_MS, librdkafka's `fetch.wait.max.ms` (default 100, as `nudge run`).
//! Prints `records SECONDS CPU_SECONDS` once EXPECTED records were read.

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::ClientConfig;

fn cpu_seconds() -> f64 {
    // utime + stime of this process, in clock ticks (fields 14 and 15 of /proc/self/stat).
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [brokers, expected, topics @ ..] = args.as_slice() else {
        eprintln!("usage: consume-baseline BROKERS EXPECTED TOPIC...");
        std::process::exit(2);
    };
    let expected: u64 = expected.parse().expect("EXPECTED is a number");
    let fetch_wait = std::env::var("FETCH_WAIT_MS").unwrap_or_else(|_| "100".into());
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set(
            "group.id",
            format!("consume-baseline-{}", std::process::id()),
        )
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        // The same fetch wait as `nudge run` (the bench passes it): tansu 0.6 holds every
        // fetch for that long and answers at most 5 MB, so on tansu it sets the rate.
        .set("fetch.wait.max.ms", fetch_wait)
        .create()
        .expect("consumer");
    let topics: Vec<&str> = topics.iter().map(String::as_str).collect();
    consumer.subscribe(&topics).expect("subscribe");
    let mut n = 0u64;
    let mut parsed_ok = 0u64;
    // The clock starts once partitions are assigned, before the first fetch, as the bench
    // starts nudge's once it is ready: both windows then hold the first offset lookup and fetch.
    let mut started: Option<(Instant, f64)> = None;
    let deadline = Instant::now() + Duration::from_secs(600);
    while n < expected && Instant::now() < deadline {
        let polled = consumer.poll(Duration::from_millis(200));
        if started.is_none() && consumer.assignment().is_ok_and(|a| a.count() > 0) {
            started = Some((Instant::now(), cpu_seconds()));
        }
        let Some(Ok(msg)) = polled else {
            continue;
        };
        let value: Result<serde_json::Value, _> =
            serde_json::from_slice(msg.payload().unwrap_or_default());
        parsed_ok += u64::from(value.is_ok());
        n += 1;
    }
    let (t0, c0) = started.unwrap_or((Instant::now(), 0.0));
    println!(
        "{n} {:.3} {:.3} (parsed {parsed_ok})",
        t0.elapsed().as_secs_f64(),
        cpu_seconds() - c0
    );
}
