//! `nudge demo`: the whole system in one process with no Kafka installed. An in-process mock
//! cluster, the journey simulator producing live on a scaled clock, the pipeline on the same
//! clock, and every trigger printed as it fires.
//!
//! - this file: the options, the threads and the main loop;
//! - `status`: what the threads share, the status line and the summary;
//! - `printer`: the consumer that prints each trigger and outcome as it is committed.

mod printer;
mod status;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use nudge_engine::Dur;
use nudge_events::Ts;
use nudge_kafka::mock::DevBroker;
use nudge_kafka::{Clock, RunHandles, Topics};
use nudge_metrics::Metrics;
use nudge_sim::{Sim, SimConfig};
use rdkafka::producer::BaseProducer;
use rdkafka::ClientConfig;

use crate::config::Config;
use crate::traffic::{self, Counts, Deliveries, Traffic};
use printer::{print_outputs, printer_consumer};
use status::{Ended, Shared};

/// The mock cluster keeps only the newest 100,000 records of a partition: the producer stops
/// short of that, so a long demo never loses records the pipeline has not read.
const PARTITION_BUDGET: i64 = 95_000;
/// The simulator prices its catalogue in euros; triggers carry amounts only.
const CURRENCY: &str = "EUR";
const METRICS_ADDR: ([u8; 4], u16) = ([127, 0, 0, 1], 9464);
const STATUS_EVERY: Duration = Duration::from_secs(2);

/// What `nudge demo` runs.
pub struct Options {
    pub customers: u32,
    /// At most this many records per wall-clock second.
    pub rate: u32,
    /// Wall-clock time to run for.
    pub duration_ms: i64,
    /// Journey time per wall-clock time: 60 runs an hour of journeys in a minute.
    pub speed: f64,
    pub seed: u64,
    pub partitions: i32,
    /// Journey time simulated before now and produced first, so the demo starts warm.
    pub history_ms: i64,
}

/// Runs the demo until `--duration` has passed or Ctrl-C, then prints a summary.
pub fn run(opts: &Options) -> Result<()> {
    check(opts)?;
    let interrupted = crate::live::shutdown_flag()?;
    let mut cfg = Config::default();
    let topics = Topics::new(&cfg.run.topics);
    let broker = DevBroker::start(&topics, opts.partitions, None)?;
    configure(&mut cfg, broker.bootstrap_servers(), opts.speed);
    let metrics = Arc::new(Metrics::new());
    let health = Arc::new(metrics.health());
    let server = nudge_metrics::serve(METRICS_ADDR.into(), metrics.clone(), health.clone())
        .or_else(|_| {
            let any_port = SocketAddr::from((METRICS_ADDR.0, 0));
            nudge_metrics::serve(any_port, metrics.clone(), health.clone())
        })
        .context("serving metrics")?;
    let url = format!("http://{}/metrics", server.local_addr());

    // Customers make their first visit at a random time in their first two days: a simulation
    // starting now would be all but silent for its first hours, so it starts in the past.
    let now = traffic::this_second();
    let sim_cfg = SimConfig {
        seed: opts.seed,
        customers: opts.customers,
        start: now.plus(-opts.history_ms),
        ..SimConfig::default()
    };
    let history = Sim::new(sim_cfg.clone()).until(now).count() as u64;
    // The clock stands at `now` (`Instant::elapsed` of a later instant is zero) until the
    // history is out and the pipeline is up (restoring even an empty task takes half a
    // second). The runtime counts a task's inputs as idle from when it restores the task, not
    // from its first fetch: on a running clock a task restored early would look idle, its
    // watermark would jump to the clock, and the history waiting for it would be late (a cart
    // bought within the hour would still get its reminder). A stopped clock idles nothing.
    let startup = 5.0 + f64::from(opts.partitions);
    let hold = Duration::from_secs_f64((history as f64 / f64::from(opts.rate)).max(startup));
    let live_from = Instant::now() + hold;
    let clock = Clock::Scaled {
        wall_origin: live_from,
        event_origin: now,
        speed: opts.speed,
    };

    // Every client is created before any thread starts, so a failure leaves nothing running.
    let producer: BaseProducer<Deliveries> = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap_servers())
        .set("linger.ms", "5")
        .set("enable.idempotence", "true")
        .create_with_context(Deliveries::default())
        .context("creating the producer")?;
    let printer = printer_consumer(&cfg, &topics, opts.partitions)?;
    let demo = Arc::new(Shared {
        clock,
        live_from,
        history,
        history_from: sim_cfg.start,
        metrics,
        health,
        counts: Counts::default(),
        tallies: Mutex::default(),
    });
    eprintln!(
        "nudge demo: {} simulated customers, {} of journey time per wall-clock minute ({}x), \
         for {}. Ctrl-C stops early.\n  broker   Kafka mock cluster in this process at {}, {} \
         partitions per topic\n  metrics  {url}\n  policy   defaults ({}% holdout), but quiet \
         hours are off so no trigger waits for morning\n  traffic  the {} of journeys before \
         now first ({history} records; the clock starts in {}s), then live\nTriggers as they \
         fire (due time on the simulated clock, UTC):",
        opts.customers,
        Dur::from_millis((60_000.0 * opts.speed) as i64),
        opts.speed,
        Dur::from_millis(opts.duration_ms),
        broker.bootstrap_servers(),
        opts.partitions,
        cfg.engine.policy.holdout_percent,
        Dur::from_millis(opts.history_ms),
        hold.as_secs(),
    );

    let stop_producing = Arc::new(AtomicBool::new(false));
    let stop_pipeline = Arc::new(AtomicBool::new(false));
    let drain = Arc::new(AtomicBool::new(false));
    let producing = {
        let (demo, stop, rate) = (demo.clone(), stop_producing.clone(), opts.rate);
        spawn("demo-producer", move || {
            let traffic = Traffic {
                producer: &producer,
                topics: &topics,
                clock: demo.clock,
                rate,
                partition_budget: Some(PARTITION_BUDGET),
                counts: &demo.counts,
            };
            traffic::produce(Sim::new(sim_cfg), &traffic, || {
                !stop.load(Ordering::Relaxed)
            })
        })?
    };
    let pipeline = {
        let handles = RunHandles {
            shutdown: stop_pipeline.clone(),
            metrics: demo.metrics.clone(),
            health: demo.health.clone(),
            clock,
        };
        let (engine, run) = (cfg.engine.clone(), cfg.run.clone());
        spawn("demo-pipeline", move || {
            nudge_kafka::run(engine, run, handles).map_err(anyhow::Error::from)
        })?
    };
    let printing = {
        let (demo, drain) = (demo.clone(), drain.clone());
        let outcomes = cfg.run.topics.outcomes.clone();
        spawn("demo-printer", move || {
            print_outputs(&printer, &outcomes, &demo, &drain);
            Ok(())
        })?
    };

    let started = Instant::now();
    let end = started + Duration::from_millis(opts.duration_ms as u64);
    let mut last_status = (started, 0);
    let mut slow_start_told = false;
    while Instant::now() < end && !interrupted.load(Ordering::Relaxed) {
        if producing.is_finished() || pipeline.is_finished() || printing.is_finished() {
            break;
        }
        broker.poll();
        thread::sleep(Duration::from_millis(50));
        if !slow_start_told && Instant::now() >= live_from && !demo.health.is_ready() {
            slow_start_told = true;
            eprintln!(
                "nudge demo: the clock has started before the pipeline is up: some history \
                 may count as late (fewer --partitions start faster)"
            );
        }
        if last_status.0.elapsed() >= STATUS_EVERY {
            let produced = demo.counts.total();
            let per_s = (produced - last_status.1) as f64 / last_status.0.elapsed().as_secs_f64();
            eprintln!("{}", demo.status_line(started.elapsed(), per_s));
            last_status = (Instant::now(), produced);
        }
    }
    let ended = Ended {
        wall: started.elapsed(),
        at: clock.now(),
        interrupted: interrupted.load(Ordering::Relaxed),
    };
    stop_producing.store(true, Ordering::SeqCst);
    let produced = join(producing, "producer");
    // The pipeline commits what it has applied, then the printer reads to the end.
    stop_pipeline.store(true, Ordering::SeqCst);
    let ran = join(pipeline, "pipeline");
    drain.store(true, Ordering::SeqCst);
    let printed = join(printing, "printer");
    server.shutdown();
    eprintln!("{}", demo.summary(&ended, &url));
    ran.and(produced).and(printed)
}

fn check(opts: &Options) -> Result<()> {
    traffic::check_options(
        opts.customers,
        opts.rate,
        Some(opts.duration_ms),
        opts.speed,
        opts.history_ms,
    )?;
    if !(1..=64).contains(&opts.partitions) {
        bail!("--partitions must be between 1 and 64");
    }
    // Every customer's CRM profile goes out first: those alone must leave room.
    let most = PARTITION_BUDGET / 2 * i64::from(opts.partitions);
    if i64::from(opts.customers) > most {
        bail!(
            "the mock cluster keeps 100,000 records per partition: use at most {most} \
             customers with {} partitions, or more --partitions",
            opts.partitions
        );
    }
    Ok(())
}

/// The demo's changes to the default configuration.
fn configure(cfg: &mut Config, bootstrap: &str, speed: f64) {
    cfg.run.kafka.set("bootstrap.servers", bootstrap);
    cfg.run.kafka.set("session.timeout.ms", "6000");
    cfg.run.kafka.set("group.id", "nudge-demo");
    cfg.run.runtime.threads = 1;
    cfg.run.runtime.instance_id = Some("demo".into());
    // Lateness and idleness are journey time: at 60x the defaults (5 s and 10 s) are 83 and
    // 167 ms of wall-clock time, less than a record may take from the producer through a
    // fetch (up to 500 ms) to the engine. A wall-clock second of each keeps records on time
    // and the watermark close behind the clock.
    let runtime = &mut cfg.run.runtime;
    let wall_second = Dur::from_millis((speed * 1000.0) as i64);
    runtime.allowed_lateness = runtime.allowed_lateness.max(wall_second);
    runtime.idle_timeout = runtime.idle_timeout.max(wall_second);
    cfg.engine.policy.quiet_hours.enabled = false;
}

fn spawn(
    name: &str,
    f: impl FnOnce() -> Result<()> + Send + 'static,
) -> Result<JoinHandle<Result<()>>> {
    thread::Builder::new()
        .name(name.to_owned())
        .spawn(f)
        .with_context(|| format!("starting the {name} thread"))
}

fn join(handle: JoinHandle<Result<()>>, what: &str) -> Result<()> {
    handle
        .join()
        .unwrap_or_else(|_| Err(anyhow!("the {what} thread panicked")))
        .with_context(|| format!("demo {what}"))
}

fn sim_time(ts: Ts, format: &str) -> String {
    ts.to_datetime()
        .map_or_else(|| ts.to_string(), |t| t.format(format).to_string())
}

/// A span of journey time in whole minutes, e.g. `3h` or `47m`.
fn minutes(ms: i64) -> Dur {
    Dur::from_millis(ms / 60_000 * 60_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_out_of_range_are_refused() {
        let ok = Options {
            customers: 2_000,
            rate: 200,
            duration_ms: 60_000,
            speed: 60.0,
            seed: 1,
            partitions: 4,
            history_ms: 3 * 3_600_000,
        };
        assert!(check(&ok).is_ok());
        let too_many = Options {
            customers: 1_000_000,
            ..ok
        };
        let e = check(&too_many).unwrap_err().to_string();
        assert!(e.contains("100,000 records per partition"), "{e}");
        let zero_speed = Options {
            speed: 0.0,
            ..too_many
        };
        assert!(check(&zero_speed).is_err());
    }
}
