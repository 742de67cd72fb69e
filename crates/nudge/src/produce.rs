//! `nudge produce`: loads NDJSON files into the input topics, keyed by customer id, so history
//! (or a test's records) can be fed to a live pipeline.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use nudge_events::{json, Source};
use nudge_kafka::Topics;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

use crate::config::Config;
use crate::live::client_config;

/// Produces every line of DIR/{crm,email,clickstream}.ndjson to its input topic, in file
/// order. Lines that do not decode are produced too (without a key): the pipeline
/// dead-letters them.
pub fn run(cfg: &Config, input: &Path) -> Result<()> {
    let producer: BaseProducer = client_config(cfg)
        .set("linger.ms", "20")
        .set("enable.idempotence", "true")
        .create()
        .context("creating the producer")?;
    let topics = Topics::new(&cfg.run.topics);
    for source in Source::ALL {
        let path = input.join(format!("{}.ndjson", source.name()));
        if !path.exists() {
            continue;
        }
        let topic = topics.input(source);
        let reader = BufReader::new(
            File::open(&path).with_context(|| format!("opening {}", path.display()))?,
        );
        let mut n = 0u64;
        for line in reader.split(b'\n') {
            let line = line.with_context(|| format!("reading {}", path.display()))?;
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let key = json::decode(source, &line).ok().map(|e| e.key().to_owned());
            let mut record = BaseRecord::<str, [u8]>::to(topic).payload(&line);
            if let Some(k) = key.as_deref() {
                record = record.key(k);
            }
            send(&producer, record)?;
            n += 1;
        }
        eprintln!("nudge produce: {n} records to {topic}");
    }
    producer
        .flush(Duration::from_secs(60))
        .context("flushing the producer")?;
    Ok(())
}

fn send(producer: &BaseProducer, mut record: BaseRecord<'_, str, [u8]>) -> Result<()> {
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
