//! The Kafka runtime: the engine on live topics, with exactly-once triggers.
//!
//! # Layout
//!
//! - [`run`]: starts the stream threads and waits for shutdown.
//! - `stream`: one stream thread: consumer, producer, tasks, the apply/commit loop.
//! - `task`: one partition number's engine, watermarks and offsets; restore from changelog.
//! - `align`: applies a task's three input partitions in event-time order.
//! - `queue`: an input partition's own queue, read in batches (raw librdkafka calls).
//! - `context`: rebalance callbacks hand events to the loop; statistics give consumer lag.
//! - [`changelog`]: the state and checkpoint record format.
//! - `sink`: producing outputs, dead letters and changelog records, with back-pressure.
//! - [`watermark`]: per-task event-time progress.
//! - [`topics`]: names, creation, the co-partitioning check.
//! - `registry`: output schema ids from a schema registry.
//! - [`mock`]: hosting librdkafka's mock cluster (`nudge demo`, `nudge dev-broker`).
//! - [`config`]: `[runtime]`, `[kafka]`, `[topics]`, `[input]`, `[output]`, `[state]`,
//!   `[metrics]`.

mod align;
pub mod changelog;
pub mod clock;
pub mod config;
mod context;
pub mod error;
pub mod mock;
mod queue;
mod registry;
mod sink;
mod stream;
mod tally;
mod task;
pub mod topics;
pub mod watermark;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nudge_engine::EngineConfig;
use nudge_metrics::{Health, Metrics};
use rdkafka::ClientConfig;

pub use clock::Clock;
pub use config::RunConfig;
pub use error::Error;
pub use sink::SchemaIds;
pub use topics::Topics;

/// What the process shares with its stream threads.
pub(crate) struct Shared {
    engine: EngineConfig,
    run: RunConfig,
    topics: Topics,
    client: ClientConfig,
    clock: Clock,
    shutdown: Arc<AtomicBool>,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    schema_ids: SchemaIds,
    /// Wall-clock origin for idle waits.
    started: std::time::Instant,
    /// Stream threads restoring tasks right now.
    restoring: AtomicUsize,
    per_thread: Mutex<Vec<ThreadStatus>>,
}

/// What one stream thread reports for the process-wide gauges and readiness.
#[derive(Clone, Copy, Default)]
struct ThreadStatus {
    /// Has carried out its first assignment (possibly of nothing).
    assigned: bool,
    partitions: usize,
    customers: usize,
    sessions: usize,
}

impl Shared {
    fn timeout(&self) -> Duration {
        Duration::from_millis(self.run.runtime.shutdown_timeout.millis() as u64)
    }

    /// Wall-clock milliseconds since start (monotonic).
    fn wall_ms(&self) -> i64 {
        self.started.elapsed().as_millis() as i64
    }

    fn restore_started(&self) {
        self.restoring.fetch_add(1, Ordering::SeqCst);
        self.health.set_ready(false);
    }

    fn restore_finished(&self) {
        self.restoring.fetch_sub(1, Ordering::SeqCst);
        self.update_status(|s| s.assigned = true);
    }

    fn stream_stopped(&self) {
        self.health.set_ready(false);
    }

    fn publish_thread_gauges(&self, partitions: usize, customers: usize, sessions: usize) {
        self.update_status(|s| {
            s.partitions = partitions;
            s.customers = customers;
            s.sessions = sessions;
        });
    }

    /// Ready once every thread has been assigned at least once and none is restoring.
    fn update_status(&self, f: impl FnOnce(&mut ThreadStatus)) {
        let mut all = self.per_thread.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(status) = all.get_mut(thread_index()) {
            f(status);
        }
        let sum = |g: fn(&ThreadStatus) -> usize| all.iter().map(g).sum::<usize>() as i64;
        self.metrics.assigned_partitions.set(sum(|s| s.partitions));
        self.metrics.active_customers.set(sum(|s| s.customers));
        self.metrics.active_sessions.set(sum(|s| s.sessions));
        let ready = all.iter().all(|s| s.assigned) && self.restoring.load(Ordering::SeqCst) == 0;
        self.health.set_ready(ready);
    }
}

thread_local! {
    static THREAD_INDEX: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

fn thread_index() -> usize {
    THREAD_INDEX.with(|i| i.get())
}

/// How `run` is driven from outside.
pub struct RunHandles {
    /// Set to stop: every thread finishes and commits its open transaction, then leaves.
    pub shutdown: Arc<AtomicBool>,
    pub metrics: Arc<Metrics>,
    pub health: Arc<Health>,
    pub clock: Clock,
}

/// Runs the pipeline until `handles.shutdown` is set or a stream thread fails.
pub fn run(engine: EngineConfig, run: RunConfig, handles: RunHandles) -> Result<(), Error> {
    engine
        .validate()
        .map_err(|e| Error::Config(e.to_string()))?;
    run.validate().map_err(|e| Error::Config(e.to_string()))?;
    let mut client = ClientConfig::new();
    for (key, value) in &run.kafka.0 {
        client.set(key, &value.0);
    }
    let topics = Topics::new(&run.topics);
    let partitions = topics::check_copartitioned(&client, &topics)?;
    let schema_ids = match run.output.format {
        config::Format::Avro => registry::register_outputs(&run.output, &topics)?,
        config::Format::Json => SchemaIds::default(),
    };
    let threads = run.threads();
    tracing::info!(partitions, threads, guarantee = ?run.runtime.processing_guarantee, "starting");
    let shared = Arc::new(Shared {
        engine,
        topics,
        client,
        clock: handles.clock,
        shutdown: handles.shutdown.clone(),
        metrics: handles.metrics,
        health: handles.health,
        schema_ids,
        started: std::time::Instant::now(),
        restoring: AtomicUsize::new(0),
        per_thread: Mutex::new(vec![ThreadStatus::default(); threads]),
        run,
    });
    let workers: Vec<_> = (0..threads)
        .map(|i| {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name(format!("nudge-stream-{i}"))
                .spawn(move || {
                    THREAD_INDEX.with(|t| t.set(i));
                    let result = stream::run(shared.clone(), i);
                    if result.is_err() {
                        // One failed thread stops the process: a supervisor restarts it and
                        // every thread resumes from its committed state.
                        shared.shutdown.store(true, Ordering::SeqCst);
                    }
                    result
                })
        })
        .collect::<Result<_, _>>()?;
    let mut first_error = None;
    for w in workers {
        let result = w
            .join()
            .unwrap_or_else(|_| Err(Error::Config("a stream thread panicked".into())));
        if let Err(e) = result {
            tracing::error!(error = %e, "stream thread failed");
            first_error.get_or_insert(e);
        }
    }
    first_error.map_or(Ok(()), Err)
}
