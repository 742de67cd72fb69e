//! At least once, a commit's outputs (here a dead letter) are acknowledged before any state or
//! checkpoint is sent: a checkpoint that reached the changelog while an output it covers was
//! still undelivered would, after a crash, make the restored task skip the input that caused
//! the output, and the output would be lost.
//!
//! Runs the pipeline in this process against librdkafka's mock cluster with two brokers: the
//! dead-letter topic on broker 2, which is down at first, everything else on broker 1.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nudge_engine::{Dur, EngineConfig};
use nudge_events::Source;
use nudge_kafka::changelog::{self, Entry};
use nudge_kafka::config::Guarantee;
use nudge_kafka::{Clock, RunConfig, RunHandles, Topics};
use nudge_metrics::{names, Health, Metrics};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::mocking::MockCoordinator;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

const GROUP: &str = "delivery-order";

/// Every record of partition 0 of `topic`, as (key, value).
type Records = Vec<(Vec<u8>, Option<Vec<u8>>)>;

fn read_partition(bootstrap: &str, topic: &str) -> Records {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "delivery-order-reader")
        .set("enable.partition.eof", "true")
        .create()
        .expect("reader");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)
        .expect("assignment");
    consumer.assign(&tpl).expect("assign");
    let mut records = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => records.push((
                m.key().unwrap_or_default().to_vec(),
                m.payload().map(<[u8]>::to_vec),
            )),
            Some(Err(KafkaError::PartitionEOF(_))) => return records,
            // Broker 2, while it is down.
            Some(Err(KafkaError::MessageConsumption(
                RDKafkaErrorCode::BrokerTransportFailure | RDKafkaErrorCode::AllBrokersDown,
            ))) => {}
            Some(Err(e)) => panic!("reading {topic}: {e}"),
            None => {}
        }
    }
    panic!("{topic} was not read to its end within 10 s");
}

/// The checkpoints in the changelog, oldest first.
fn checkpoints(bootstrap: &str, topics: &Topics) -> Vec<changelog::Checkpoint> {
    read_partition(bootstrap, topics.changelog())
        .into_iter()
        .filter_map(
            |(key, value)| match changelog::decode(&key, value.as_deref()) {
                Ok(Entry::Checkpoint(cp)) => Some(cp),
                _ => None,
            },
        )
        .collect()
}

fn transactions(metrics: &Metrics, result: &str) -> u64 {
    metrics.transactions.with_label_values(&[result]).get()
}

fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn at_least_once_a_checkpoint_waits_for_the_outputs_it_covers() {
    let owner: BaseProducer = ClientConfig::new()
        .set("test.mock.num.brokers", "2")
        .set("log_level", "2")
        .create()
        .expect("mock cluster");
    let cluster = owner.client().mock_cluster().expect("mock cluster");
    let bootstrap = cluster.bootstrap_servers();

    let mut run = RunConfig::default();
    run.runtime.processing_guarantee = Guarantee::AtLeastOnce;
    run.runtime.threads = 1;
    // A flush that cannot finish fails the commit after this long, and the work is redone.
    run.runtime.shutdown_timeout = Dur::from_millis(1_000);
    run.kafka.set("bootstrap.servers", bootstrap.clone());
    run.kafka.set("group.id", GROUP);
    let topics = Topics::new(&run.topics);
    for (name, _) in topics.specs() {
        cluster.create_topic(name, 1, 1).expect("topic");
        cluster.partition_leader(name, 0, Some(1)).expect("leader");
    }
    cluster
        .partition_leader(topics.dead_letters(), 0, Some(2))
        .expect("leader");
    cluster
        .coordinator(MockCoordinator::Group(GROUP.into()), 1)
        .expect("coordinator");
    cluster.broker_down(2).expect("broker 2 down");

    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .create()
        .expect("producer");
    producer
        .send(
            BaseRecord::to(topics.input(Source::Clickstream))
                .key("c1")
                .payload("not json"),
        )
        .expect("send");
    producer.flush(Duration::from_secs(10)).expect("flush");

    let metrics = Arc::new(Metrics::new());
    let shutdown = Arc::new(AtomicBool::new(false));
    let handles = RunHandles {
        shutdown: shutdown.clone(),
        metrics: metrics.clone(),
        health: Arc::new(Health::new()),
        clock: Clock::System,
    };
    let pipeline =
        std::thread::spawn(move || nudge_kafka::run(EngineConfig::default(), run, handles));

    // The dead letter cannot be delivered, so every commit fails and is redone.
    wait_for("a failed commit", Duration::from_secs(30), || {
        transactions(&metrics, names::RESULT_ABORT) >= 2
    });
    assert_eq!(
        checkpoints(&bootstrap, &topics),
        vec![],
        "a checkpoint was written while the dead letter it covers was undelivered"
    );

    cluster.broker_up(2).expect("broker 2 up");
    wait_for("a commit", Duration::from_secs(30), || {
        transactions(&metrics, names::RESULT_COMMIT) >= 1
    });
    shutdown.store(true, Ordering::SeqCst);
    pipeline.join().expect("pipeline thread").expect("pipeline");

    let dead = read_partition(&bootstrap, topics.dead_letters());
    assert!(
        dead.iter()
            .any(|(key, value)| key == b"c1" && value.as_deref() == Some(&b"not json"[..])),
        "the dead letter was delivered once broker 2 came back: {dead:?}"
    );
    let last = checkpoints(&bootstrap, &topics)
        .pop()
        .expect("a checkpoint once everything was delivered");
    assert_eq!(last.offsets[Source::Clickstream as usize], 1);
}
