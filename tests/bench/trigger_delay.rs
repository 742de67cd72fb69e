//! Trigger delay past due time on a live run, from the trigger topics themselves: for each
//! committed trigger, the Kafka timestamp the pipeline produced it at minus its `due_at`.
//! `tests/bench/trigger_delay.sh` runs it after a live run.
//!
//! Usage: trigger-delay BROKERS SINCE_MS TOPIC...
//! Reads every topic from the start (read_committed) until nothing arrives for 3 s, then
//! prints `triggers N p50 S p90 S p99 S max S` over the triggers due at or after SINCE_MS
//! (epoch milliseconds: the ones before are the history's, fired as the pipeline caught up).

use std::time::{Duration, Instant};

use nudge_events::Trigger;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [brokers, since, topics @ ..] = args.as_slice() else {
        eprintln!("usage: trigger-delay BROKERS SINCE_MS TOPIC...");
        std::process::exit(2);
    };
    let since: i64 = since.parse().expect("SINCE_MS is a number");
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("trigger-delay-{}", std::process::id()))
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("isolation.level", "read_committed")
        .create()
        .expect("consumer");
    // Assigned, not subscribed: a group join could take longer than the quiet time that ends
    // the read.
    let mut assignment = TopicPartitionList::new();
    for topic in topics {
        let metadata = consumer
            .fetch_metadata(Some(topic), Duration::from_secs(10))
            .expect("topic metadata");
        for partition in metadata.topics().iter().flat_map(|t| t.partitions()) {
            assignment
                .add_partition_offset(topic, partition.id(), Offset::Beginning)
                .expect("partition");
        }
    }
    consumer.assign(&assignment).expect("assign");
    let mut delays_ms = Vec::new();
    let (mut unreadable, mut before) = (0, 0);
    let mut last = Instant::now();
    while last.elapsed() < Duration::from_secs(3) {
        let Some(Ok(msg)) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        last = Instant::now();
        let (Some(produced), Ok(t)) = (
            msg.timestamp().to_millis(),
            serde_json::from_slice::<Trigger>(msg.payload().unwrap_or_default()),
        ) else {
            unreadable += 1;
            continue;
        };
        if t.due_at.millis() < since {
            before += 1;
            continue;
        }
        delays_ms.push(produced - t.due_at.millis());
    }
    if delays_ms.is_empty() {
        eprintln!(
            "trigger-delay: no triggers due since {since} on {topics:?} ({before} before, \
             {unreadable} unreadable)"
        );
        std::process::exit(1);
    }
    delays_ms.sort_unstable();
    let at = |q: f64| {
        let i = ((delays_ms.len() as f64 * q).ceil() as usize).clamp(1, delays_ms.len()) - 1;
        delays_ms[i] as f64 / 1000.0
    };
    println!(
        "triggers {} p50 {:.2} p90 {:.2} p99 {:.2} max {:.2} s (earlier {before}, unreadable \
         {unreadable})",
        delays_ms.len(),
        at(0.5),
        at(0.9),
        at(0.99),
        at(1.0),
    );
}
