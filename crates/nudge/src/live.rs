//! The live commands: `nudge run`, `nudge topics create`, `nudge dev-broker`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use nudge_kafka::mock::DevBroker;
use nudge_kafka::topics::{self, Created};
use nudge_kafka::{Clock, RunHandles, Topics};
use nudge_metrics::{Health, Metrics};
use rdkafka::ClientConfig;

use crate::config::Config;

/// A flag set by the first SIGINT or SIGTERM; a second one exits at once.
pub fn shutdown_flag() -> Result<Arc<AtomicBool>> {
    let flag = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // Registered first, so it sees the flag as the previous signal left it.
        signal_hook::flag::register_conditional_shutdown(signal, 130, flag.clone())
            .context("installing signal handlers")?;
        signal_hook::flag::register(signal, flag.clone()).context("installing signal handlers")?;
    }
    Ok(flag)
}

/// `nudge run`: the pipeline until SIGINT or SIGTERM.
pub fn run(cfg: Config, shutdown: Arc<AtomicBool>, clock: Clock) -> Result<()> {
    if cfg.run.kafka.get("bootstrap.servers").is_none() {
        anyhow::bail!("no brokers: set [kafka] \"bootstrap.servers\" or pass --brokers");
    }
    let metrics = Arc::new(Metrics::new());
    let health = Arc::new(Health::with_ready_gauge(metrics.ready.clone()));
    let server = nudge_metrics::serve(cfg.run.metrics.listen, metrics.clone(), health.clone())
        .with_context(|| format!("serving metrics on {}", cfg.run.metrics.listen))?;
    tracing::info!(address = %server.local_addr(), "metrics endpoint up");
    let handles = RunHandles {
        shutdown,
        metrics,
        health,
        clock,
    };
    let result = nudge_kafka::run(cfg.engine, cfg.run, handles);
    server.shutdown();
    result.map_err(Into::into)
}

/// The librdkafka client settings of `[kafka]`.
pub fn client_config(cfg: &Config) -> ClientConfig {
    let mut client = ClientConfig::new();
    for (key, value) in &cfg.run.kafka.0 {
        client.set(key, &value.0);
    }
    client
}

/// The settings of `[kafka]` that apply to a producer.
pub fn producer_config(cfg: &Config) -> ClientConfig {
    let mut client = client_config(cfg);
    for key in nudge_kafka::config::CONSUMER_ONLY {
        client.remove(key);
    }
    client
}

/// `nudge topics create`: every input, output and internal topic (idempotent).
pub fn create_topics(cfg: &Config, partitions: i32, replication: i32) -> Result<()> {
    let topics = Topics::new(&cfg.run.topics);
    let results = topics::create(&client_config(cfg), &topics, partitions, replication)?;
    for (name, created) in results {
        let what = match created {
            Created::Created => "created",
            Created::AlreadyExists => "exists",
        };
        println!("{what:<8} {name}");
    }
    Ok(())
}

/// `nudge dev-broker`: a mock cluster with every topic, until SIGINT or SIGTERM.
pub fn dev_broker(cfg: &Config, partitions: i32, port: Option<u16>) -> Result<()> {
    let shutdown = shutdown_flag()?;
    let topics = Topics::new(&cfg.run.topics);
    let broker = DevBroker::start(&topics, partitions, port)?;
    println!("bootstrap.servers={}", broker.bootstrap_servers());
    eprintln!(
        "nudge dev-broker: {} topics with {partitions} partitions; limits: 100,000 messages or \
         5 MB per partition, no compaction. Stop with Ctrl-C.",
        topics.specs().len()
    );
    while !shutdown.load(Ordering::Relaxed) {
        broker.poll();
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}
