//! Producing: output records in JSON or Avro, dead letters with their provenance, changelog
//! records; a full queue is waited out, never an error that drops data.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nudge_events::{avro, wire, Output};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{DeliveryResult, Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};
use rdkafka::ClientContext;

use crate::align::Dead;
use crate::config::Format;
use crate::error::Error;
use crate::topics::Topics;

/// Counts failed deliveries, so a commit never covers a record that was not written.
#[derive(Clone, Default)]
pub struct DeliveryTracker {
    failed: Arc<AtomicU64>,
}

impl ClientContext for DeliveryTracker {}

impl ProducerContext for DeliveryTracker {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((e, _)) = result {
            if self.failed.fetch_add(1, Ordering::Relaxed) == 0 {
                tracing::error!(error = %e, "a record could not be delivered");
            }
        }
    }
}

/// The producer of one stream thread.
pub type NudgeProducer = BaseProducer<DeliveryTracker>;

/// Where an undecodable input record came from.
pub struct Provenance<'a> {
    pub topic: &'a str,
    pub partition: i32,
    pub offset: i64,
}

/// Writes records for one stream thread.
pub struct Sink {
    producer: NudgeProducer,
    tracker: DeliveryTracker,
    topics: Topics,
    format: Format,
    schema_ids: SchemaIds,
    buf: Vec<u8>,
}

/// Schema ids of the output records in the Avro wire format.
#[derive(Clone, Copy, Debug)]
pub struct SchemaIds {
    pub trigger: u32,
    pub session: u32,
    pub outcome: u32,
}

impl Default for SchemaIds {
    /// The fixed ids used without a schema registry (see schemas/README.md).
    fn default() -> Self {
        SchemaIds {
            trigger: 4,
            session: 5,
            outcome: 6,
        }
    }
}

impl Sink {
    /// A sink over `producer`, whose context is `tracker`.
    pub fn new(
        producer: NudgeProducer,
        tracker: DeliveryTracker,
        topics: Topics,
        format: Format,
        schema_ids: SchemaIds,
    ) -> Sink {
        Sink {
            producer,
            tracker,
            topics,
            format,
            schema_ids,
            buf: Vec::with_capacity(1024),
        }
    }

    /// The underlying producer (for transactions and flushing).
    pub fn producer(&self) -> &NudgeProducer {
        &self.producer
    }

    /// Failed deliveries so far; reset with [`Sink::reset_failures`].
    pub fn failures(&self) -> u64 {
        self.tracker.failed.load(Ordering::Relaxed)
    }

    /// Forgets past delivery failures (after the work they covered was rewound).
    pub fn reset_failures(&self) {
        self.tracker.failed.store(0, Ordering::Relaxed);
    }

    /// Sends one engine output; returns the topic it went to.
    pub fn output(&mut self, output: &Output) -> Result<&str, Error> {
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        match self.format {
            Format::Json => output.write_json(&mut buf),
            Format::Avro => {
                let id = match output {
                    Output::Trigger(_) | Output::Suppressed(_) => self.schema_ids.trigger,
                    Output::Session(_) => self.schema_ids.session,
                    Output::Outcome(_) => self.schema_ids.outcome,
                };
                let body = avro::encode_output(output)
                    .map_err(|e| Error::Config(format!("Avro encoding: {e}")))?;
                buf = wire::frame(id, &body);
            }
        }
        let topic = self.topics.output(output);
        let record = BaseRecord::to(topic)
            .key(output.key().as_bytes())
            .payload(&buf[..]);
        let sent = send(&self.producer, record);
        self.buf = buf;
        sent.map(|()| self.topics.output(output))
    }

    /// Sends a record to an explicit partition (changelog writes).
    pub fn to_partition(
        &self,
        topic: &str,
        partition: i32,
        key: &[u8],
        value: Option<&[u8]>,
    ) -> Result<(), Error> {
        let mut record = BaseRecord::to(topic).key(key).partition(partition);
        if let Some(v) = value {
            record = record.payload(v);
        }
        send(&self.producer, record)
    }

    /// Sends an undecodable record to the dead-letter topic with its original key, value and
    /// headers, plus headers naming where it came from and why it was refused.
    pub fn dead_letter(&self, dead: &Dead, from: &Provenance) -> Result<(), Error> {
        let mut headers = OwnedHeaders::new_with_capacity(dead.headers.len() + 5);
        for (key, value) in &dead.headers {
            headers = headers.insert(Header {
                key: key.as_str(),
                value: value.as_deref(),
            });
        }
        let partition = from.partition.to_string();
        let offset = from.offset.to_string();
        for (key, value) in [
            ("nudge.source.topic", from.topic),
            ("nudge.source.partition", partition.as_str()),
            ("nudge.source.offset", offset.as_str()),
            ("nudge.error.reason", dead.error.kind.label()),
            ("nudge.error", dead.error.detail.as_str()),
        ] {
            headers = headers.insert(Header {
                key,
                value: Some(value),
            });
        }
        let mut record: BaseRecord<'_, [u8], [u8]> =
            BaseRecord::to(self.topics.dead_letters()).headers(headers);
        if let Some(k) = dead.key.as_deref() {
            record = record.key(k);
        }
        if let Some(v) = dead.value.as_deref() {
            record = record.payload(v);
        }
        send(&self.producer, record)
    }
}

/// Sends, waiting out a full queue by serving delivery reports.
fn send<K, P>(producer: &NudgeProducer, mut record: BaseRecord<'_, K, P>) -> Result<(), Error>
where
    K: rdkafka::message::ToBytes + ?Sized,
    P: rdkafka::message::ToBytes + ?Sized,
{
    loop {
        match producer.send(record) {
            Ok(()) => return Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                serve(producer);
                std::thread::sleep(FLUSH_STEP);
                record = back;
            }
            Err((e, _)) => return Err(Error::Kafka(e)),
        }
    }
}

/// Serves every delivery report waiting, without blocking. rdkafka's `poll` handles at most
/// one event when its timeout has passed, and each served report lowers the in-flight count.
pub fn serve(producer: &NudgeProducer) {
    let mut in_flight = producer.in_flight_count();
    loop {
        producer.poll(Duration::ZERO);
        let now = producer.in_flight_count();
        if now == in_flight {
            return;
        }
        in_flight = now;
    }
}

/// Waits until every record sent so far is acknowledged, serving delivery reports every
/// `FLUSH_STEP`. rdkafka's own `flush` waits in steps of 100 ms (its `poll` always runs to its
/// timeout), which made every commit (a flush, or a transaction commit, which flushes first)
/// last at least 100 ms; and a `poll` shorter than 2 ms never blocks (librdkafka takes whole
/// milliseconds and the remainder rounds down to 0), so polling in small steps spins. Sleeping
/// between checks costs the thread almost nothing while the broker acknowledges.
pub fn flush(producer: &NudgeProducer, timeout: Duration) -> Result<(), Error> {
    let deadline = Instant::now() + timeout;
    loop {
        serve(producer);
        // A zero timeout wakes the broker threads to send what lingers, and says whether
        // every record is acknowledged.
        match producer.flush(Duration::ZERO) {
            Ok(()) => return Ok(()),
            Err(KafkaError::Flush(RDKafkaErrorCode::OperationTimedOut))
                if Instant::now() < deadline =>
            {
                std::thread::sleep(FLUSH_STEP);
            }
            Err(e) => return Err(Error::Kafka(e)),
        }
    }
}

/// How long a flush, or a send into a full queue, sleeps between checks for delivery reports.
const FLUSH_STEP: Duration = Duration::from_micros(500);

#[cfg(test)]
mod tests {
    use rdkafka::ClientConfig;

    use super::*;

    fn producer(bootstrap: &str) -> NudgeProducer {
        ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("linger.ms", "50")
            .create_with_context(DeliveryTracker::default())
            .expect("producer")
    }

    #[test]
    fn flush_returns_once_every_record_is_acknowledged() {
        let (_cluster, bootstrap) = crate::mock::cluster_with_topic("t", 2);
        let producer = producer(&bootstrap);
        for i in 0..1000u32 {
            send(
                &producer,
                BaseRecord::to("t").key(&i.to_be_bytes()[..]).payload("v"),
            )
            .unwrap();
        }
        assert!(
            producer.in_flight_count() > 0,
            "records linger before the flush"
        );
        flush(&producer, Duration::from_secs(30)).expect("flush");
        assert_eq!(producer.in_flight_count(), 0);
        assert_eq!(producer.context().failed.load(Ordering::Relaxed), 0);
    }

    /// A producer with one record that can never be delivered: nothing listens on its port.
    fn stranded_producer() -> NudgeProducer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let producer = producer(&format!("127.0.0.1:{port}"));
        send(&producer, BaseRecord::to("t").key("k").payload("v")).unwrap();
        producer
    }

    /// CPU time of the calling thread, in clock ticks (utime + stime of /proc/thread-self/stat).
    fn thread_cpu_ticks() -> u64 {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").expect("thread stat");
        // Fields after the parenthesised command name, which may hold spaces.
        let rest = &stat[stat.rfind(')').expect("comm") + 2..];
        let fields: Vec<&str> = rest.split(' ').collect();
        fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
    }

    #[test]
    fn flush_without_a_broker_times_out_with_an_error() {
        let producer = stranded_producer();
        let err = flush(&producer, Duration::from_millis(50)).expect_err("nothing can deliver");
        assert!(matches!(err, Error::Kafka(KafkaError::Flush(_))), "{err}");
        assert_eq!(producer.in_flight_count(), 1);
    }

    #[test]
    fn flush_waits_without_spinning() {
        let producer = stranded_producer();
        let before = thread_cpu_ticks();
        flush(&producer, Duration::from_millis(1000)).expect_err("nothing can deliver");
        let ticks = thread_cpu_ticks() - before;
        // Spinning would cost the thread most of the second (100 ticks), even on a busy machine.
        assert!(ticks < 20, "flush used {ticks} ticks of CPU in a 1 s wait");
    }
}
