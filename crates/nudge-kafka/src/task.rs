//! A task: one partition number of the co-partitioned inputs, with its engine, watermarks,
//! input offsets, and the changelog partition that backs its state.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use nudge_engine::{Engine, EngineConfig};
use nudge_events::{Source, Ts};
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::statistics::Statistics;
use rdkafka::{ClientConfig, ClientContext, Offset, TopicPartitionList};

use crate::align::Aligner;
use crate::changelog::{self, Checkpoint, Entry};
use crate::config::RuntimeConfig;
use crate::error::{Context, Error};
use crate::watermark::Watermarks;

/// The state and progress of one partition number.
pub struct Task {
    pub engine: Engine,
    pub marks: Watermarks,
    /// Records received but not yet applied, waiting for their event-time turn.
    pub aligner: Aligner,
    /// Next input offset to read per source (crm, email, clickstream); -1 if none read.
    pub offsets: [i64; 3],
    /// The checkpoint last written, to skip writing an unchanged one.
    pub written: Checkpoint,
}

/// What a restore read.
pub struct Restored {
    pub task: Task,
    pub records: u64,
    pub took: Duration,
}

impl Task {
    /// The checkpoint the task would write now.
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            offsets: self.offsets,
            watermark: self.engine.watermark().millis().max(self.written.watermark),
        }
    }

    /// Notes that the record at `offset` of `source` was applied (or dead-lettered).
    pub fn consumed(&mut self, source: Source, offset: i64) {
        self.offsets[source as usize] = offset + 1;
    }
}

/// The changelog reader's context: reaching the end of the partition is how a restore ends,
/// not an error worth a log line.
#[derive(Default)]
struct RestoreContext {
    /// High watermark and last stable offset of the partition, from the latest statistics.
    ends: Mutex<Option<(i64, i64)>>,
}

impl RestoreContext {
    /// Whether the partition has a transaction not yet committed or aborted (its last stable
    /// offset trails its high watermark), as of the latest statistics.
    fn transaction_pending(&self) -> bool {
        let ends = *self.ends.lock().unwrap_or_else(|p| p.into_inner());
        ends.is_some_and(|(high, stable)| stable >= 0 && stable < high)
    }
}

impl ClientContext for RestoreContext {
    fn stats(&self, stats: Statistics) {
        let ends = stats
            .topics
            .values()
            .flat_map(|t| t.partitions.iter())
            .find(|(p, part)| **p >= 0 && part.hi_offset >= 0)
            .map(|(_, part)| (part.hi_offset, part.ls_offset));
        if let Some(ends) = ends {
            *self.ends.lock().unwrap_or_else(|p| p.into_inner()) = Some(ends);
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        if !crate::context::end_of_partition(&error) {
            tracing::warn!(%error, reason, "changelog reader");
        }
    }
}

impl ConsumerContext for RestoreContext {}

/// Rebuilds a task from its changelog partition: every customer's latest state and the
/// latest checkpoint. Reads with read_committed, to the end of the partition.
pub fn restore(
    client: &ClientConfig,
    changelog: &str,
    partition: i32,
    engine_cfg: &EngineConfig,
    runtime: &RuntimeConfig,
    now_ms: i64,
    clock_now: Ts,
) -> Result<Restored, Error> {
    let started = Instant::now();
    let mut cfg = client.clone();
    // Never joins the group or commits: a group id only because librdkafka's consumer wants one.
    let group = format!("{}-restore", cfg.get("group.id").unwrap_or("nudge"));
    cfg.set("group.id", group)
        .set("enable.partition.eof", "true")
        .set("fetch.wait.max.ms", "20")
        .set("statistics.interval.ms", "100")
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        .set("auto.offset.reset", "earliest");
    let consumer: BaseConsumer<RestoreContext> = cfg
        .create_with_context(RestoreContext::default())
        .context(|| "creating the changelog reader".into())?;
    let settle_limit = Duration::from_millis(runtime.shutdown_timeout.millis().max(0) as u64);
    // With the partition's leader known before the assignment, librdkafka looks up the first
    // offset there at once; otherwise it first asks a bootstrap connection and retries after
    // 500 ms once it has moved the partition to its leader (half a second per task).
    consumer
        .fetch_metadata(Some(changelog), settle_limit)
        .context(|| format!("reading the metadata of {changelog}"))?;
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(changelog, partition, Offset::Beginning)
        .context(|| "building the changelog assignment".into())?;
    consumer
        .assign(&tpl)
        .context(|| format!("reading {changelog}[{partition}]"))?;
    let mut engine = Engine::new(engine_cfg.clone());
    let mut checkpoint = Checkpoint {
        offsets: [-1; 3],
        watermark: i64::MIN,
    };
    let mut records = 0u64;
    let mut last_log = Instant::now();
    loop {
        match consumer.poll(Duration::from_millis(500)) {
            None => {
                if last_log.elapsed() > Duration::from_secs(10) {
                    tracing::info!(
                        partition,
                        records,
                        "still restoring: waiting for the changelog"
                    );
                    last_log = Instant::now();
                }
            }
            Some(Err(KafkaError::PartitionEOF(_))) => {
                // End of what read_committed may read. If a transaction on the partition is
                // still open, or its commit marker not yet written (a previous owner committing
                // as it left), more may become readable: wait for it, or this task would miss
                // that owner's last state and checkpoint.
                if !consumer.context().transaction_pending() {
                    break;
                }
                if started.elapsed() > settle_limit {
                    tracing::warn!(
                        partition,
                        "changelog has an unfinished transaction; restoring what is committed"
                    );
                    break;
                }
            }
            // Logged by the context; one broker of several being down must not fail a restore
            // that other brokers can serve.
            Some(Err(e)) if crate::context::broker_unreachable(&e) => {}
            Some(Err(e)) => {
                return Err(Error::KafkaOp {
                    context: format!("reading {changelog}[{partition}]"),
                    source: e,
                })
            }
            Some(Ok(msg)) => {
                records += 1;
                let key = msg.key().unwrap_or_default();
                match changelog::decode(key, msg.payload())? {
                    Entry::State(customer, state) => engine.restore(&customer, Some(*state)),
                    Entry::Tombstone(customer) => engine.restore(&customer, None),
                    Entry::Checkpoint(cp) => checkpoint = cp,
                }
            }
        }
    }
    let floor = Ts(checkpoint.watermark);
    let task = Task {
        engine,
        marks: Watermarks::new(
            runtime.allowed_lateness.millis(),
            runtime.idle_timeout.millis(),
            floor,
            clock_now,
        ),
        aligner: Aligner::new(runtime.max_task_idle.millis(), now_ms),
        offsets: checkpoint.offsets,
        written: checkpoint,
    };
    Ok(Restored {
        task,
        records,
        took: started.elapsed(),
    })
}
