//! `nudge produce`: loads NDJSON files into the input topics, keyed by customer id, in the
//! order the records would have arrived live (event time across the three files, crm before
//! email before clickstream at equal times), so history or a test's records can be fed to a
//! running pipeline.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use nudge_events::{json, Source, Ts};
use nudge_kafka::Topics;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};

use crate::config::Config;
use crate::live::producer_config;

struct Line {
    /// Event time, or for a line that does not decode the time of the line before it, so it
    /// goes out where it stood in its file.
    ts: Ts,
    source: Source,
    number: usize,
    key: Option<String>,
    bytes: Vec<u8>,
}

/// Produces every line of DIR/{crm,email,clickstream}.ndjson to its input topic. Lines that
/// do not decode are produced too (without a key): the pipeline dead-letters them. The files
/// are held in memory to order them.
pub fn run(cfg: &Config, input: &Path) -> Result<()> {
    let producer: BaseProducer = producer_config(cfg)
        .set("linger.ms", "20")
        .set("enable.idempotence", "true")
        .create()
        .context("creating the producer")?;
    let topics = Topics::new(&cfg.run.topics);
    let mut lines = Vec::new();
    for source in Source::ALL {
        let path = input.join(format!("{}.ndjson", source.name()));
        if !path.exists() {
            continue;
        }
        let text = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let mut last = Ts(i64::MIN);
        for (number, bytes) in text.split(|&b| b == b'\n').enumerate() {
            if bytes.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let decoded = json::decode(source, bytes).ok();
            if let Some(e) = &decoded {
                last = e.ts();
            }
            lines.push(Line {
                ts: last,
                source,
                number,
                key: decoded.map(|e| e.key().to_owned()),
                bytes: bytes.to_vec(),
            });
        }
    }
    lines.sort_by_key(|l| (l.ts, l.source, l.number));
    let mut counts = [0u64; 3];
    for line in &lines {
        let mut record =
            BaseRecord::<str, [u8]>::to(topics.input(line.source)).payload(&line.bytes);
        if let Some(k) = line.key.as_deref() {
            record = record.key(k);
        }
        send(&producer, record)?;
        counts[line.source as usize] += 1;
    }
    producer
        .flush(Duration::from_secs(60))
        .context("flushing the producer")?;
    for source in Source::ALL {
        eprintln!(
            "nudge produce: {} records to {}",
            counts[source as usize],
            topics.input(source)
        );
    }
    Ok(())
}

/// Sends one record, waiting while the local queue is full.
pub(crate) fn send<C>(
    producer: &BaseProducer<C>,
    mut record: BaseRecord<'_, str, [u8]>,
) -> Result<()>
where
    C: ProducerContext<DeliveryOpaque = ()>,
{
    loop {
        match producer.send(record) {
            Ok(()) => return Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                producer.poll(Duration::from_millis(10));
                record = back;
            }
            Err((e, _)) => return Err(e).context("producing"),
        }
    }
}
