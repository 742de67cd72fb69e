//! `nudge demo`: the whole system in one process with no Kafka installed. An in-process mock
//! cluster, the journey simulator producing live on a scaled clock, the pipeline on the same
//! clock, and every trigger printed as it fires.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context, Result};
use nudge_engine::Dur;
use nudge_events::{
    Arm, CheckoutStep, Obstacle, Outcome, SuppressReason, Trigger, TriggerType, Ts,
};
use nudge_kafka::mock::DevBroker;
use nudge_kafka::{Clock, RunHandles, Topics};
use nudge_metrics::{names, Health, Metrics};
use nudge_sim::{Sim, SimConfig};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::{ClientConfig, ClientContext, Offset, TopicPartitionList};

use crate::config::Config;

/// The mock cluster keeps only the newest 100,000 records of a partition: the producer stops
/// short of that, so a long demo never loses records the pipeline has not read.
const PARTITION_BUDGET: i64 = 95_000;
/// The simulator prices its catalogue in euros; triggers carry amounts only.
const CURRENCY: &str = "EUR";
const METRICS_ADDR: ([u8; 4], u16) = ([127, 0, 0, 1], 9464);
const STATUS_EVERY: Duration = Duration::from_secs(2);
/// How long the printer may take, after the pipeline's last commit, to read to the end.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

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
    let now = Ts(now_ms() / 1000 * 1000);
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
        produced: Default::default(),
        behind_ms: AtomicI64::new(0),
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
            produce(Sim::new(sim_cfg), &producer, &topics, rate, &demo, &stop)
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
            let produced = demo.produced_total();
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
    if opts.customers == 0 || opts.rate == 0 || opts.duration_ms <= 0 {
        bail!("--customers, --rate and --duration must be more than zero");
    }
    if opts.history_ms < 0 {
        bail!("--history must not be negative");
    }
    if !(opts.speed.is_finite() && opts.speed > 0.0) {
        bail!("--speed must be a positive number");
    }
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

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn sim_time(ts: Ts, format: &str) -> String {
    ts.to_datetime()
        .map_or_else(|| ts.to_string(), |t| t.format(format).to_string())
}

/// A span of journey time in whole minutes, e.g. `3h` or `47m`.
fn minutes(ms: i64) -> Dur {
    Dur::from_millis(ms / 60_000 * 60_000)
}

/// What the threads share with the status line and the summary.
struct Shared {
    clock: Clock,
    /// When the clock starts; before, the history goes out.
    live_from: Instant,
    /// Records before the clock's start, and the event time they start at.
    history: u64,
    history_from: Ts,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    /// Records produced, by source.
    produced: [AtomicU64; 3],
    /// Journey time the producer trails the clock by (held back by `--rate`).
    behind_ms: AtomicI64,
    tallies: Mutex<Tallies>,
}

/// What the printer has read.
#[derive(Default)]
struct Tallies {
    triggers: BTreeMap<(TriggerType, Arm), u64>,
    suppressed: BTreeMap<SuppressReason, u64>,
    /// Attributed purchases and their revenue, by arm.
    outcomes: BTreeMap<Arm, (u64, f64)>,
    unreadable: u64,
}

/// How the demo ended.
struct Ended {
    wall: Duration,
    /// The clock's time.
    at: Ts,
    interrupted: bool,
}

impl Shared {
    fn tallies(&self) -> MutexGuard<'_, Tallies> {
        self.tallies.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn produced_total(&self) -> u64 {
        self.produced
            .iter()
            .map(|n| n.load(Ordering::Relaxed))
            .sum()
    }

    /// One plain line; no cursor movement, so it reads the same in a log.
    fn status_line(&self, elapsed: Duration, per_s: f64) -> String {
        let produced = self.produced_total();
        let mut line = format!(
            "[{:>4}s] sim {}  events {produced} ({per_s:.0}/s)  sessions open {}  customers {}",
            elapsed.as_secs(),
            sim_time(self.clock.now(), "%a %H:%M"),
            self.metrics.active_sessions.get(),
            self.metrics.active_customers.get(),
        );
        let mut by_type: BTreeMap<TriggerType, u64> = BTreeMap::new();
        for ((kind, _), n) in &self.tallies().triggers {
            *by_type.entry(*kind).or_default() += n;
        }
        let listed: Vec<String> = by_type
            .iter()
            .map(|(k, n)| format!("{} {n}", k.name()))
            .collect();
        line.push_str(&format!("  triggers {}", by_type.values().sum::<u64>()));
        if !listed.is_empty() {
            line.push_str(&format!(" ({})", listed.join(", ")));
        }
        let behind = self.behind_ms.load(Ordering::Relaxed);
        if produced < self.history {
            line.push_str(&format!("  history {produced} of {}", self.history));
        } else if behind >= 60_000 {
            line.push_str(&format!("  producer {} behind (--rate)", minutes(behind)));
        }
        if !self.health.is_ready() {
            line.push_str("  (pipeline starting)");
        }
        let wait = self.live_from.saturating_duration_since(Instant::now());
        if !wait.is_zero() {
            line.push_str(&format!("  (clock starts in {}s)", wait.as_secs() + 1));
        }
        line
    }

    fn summary(&self, ended: &Ended, url: &str) -> String {
        let produced = self.produced.each_ref().map(|n| n.load(Ordering::Relaxed));
        let tallies = self.tallies();
        let listed = |items: Vec<String>, sep: &str| {
            if items.is_empty() {
                "none".to_owned()
            } else {
                items.join(sep)
            }
        };
        let triggers = TriggerType::ALL
            .iter()
            .filter_map(|&kind| {
                let arms: Vec<String> = [Arm::Treatment, Arm::Holdout]
                    .iter()
                    .filter_map(|&arm| {
                        let n = tallies.triggers.get(&(kind, arm))?;
                        Some(format!("{} {n}", arm.name()))
                    })
                    .collect();
                (!arms.is_empty()).then(|| format!("{}: {}", kind.name(), arms.join(", ")))
            })
            .collect();
        let suppressed = tallies
            .suppressed
            .iter()
            .map(|(reason, n)| format!("{} {n}", reason.name()))
            .collect();
        let outcomes = tallies
            .outcomes
            .iter()
            .map(|(arm, (n, revenue))| format!("{} {n} ({revenue:.2} {CURRENCY})", arm.name()))
            .collect();
        let live_from = match self.clock {
            Clock::Scaled { event_origin, .. } => event_origin,
            Clock::System => ended.at,
        };
        let mut text = format!(
            "nudge demo: {} after {}s: journeys from {} to {} UTC, {} of history then {} live\n\
             \x20 events     {} produced ({} of them history): crm {}, email {}, clickstream {}\n\
             \x20 sessions   {} closed, {} open; {} customers in state; {} late events\n\
             \x20 triggers   {}\n\
             \x20 suppressed {}\n\
             \x20 purchases after a trigger: {}\n",
            if ended.interrupted { "stopped" } else { "done" },
            ended.wall.as_secs(),
            sim_time(self.history_from, "%a %H:%M"),
            sim_time(ended.at, "%a %H:%M"),
            minutes(live_from.millis() - self.history_from.millis()),
            minutes(ended.at.millis() - live_from.millis()),
            produced.iter().sum::<u64>(),
            self.history,
            produced[0],
            produced[1],
            produced[2],
            counter_total(&self.metrics, names::SESSIONS_CLOSED_TOTAL),
            self.metrics.active_sessions.get(),
            self.metrics.active_customers.get(),
            counter_total(&self.metrics, names::LATE_EVENTS_TOTAL),
            listed(triggers, "; "),
            listed(suppressed, ", "),
            listed(outcomes, ", "),
        );
        if tallies.unreadable > 0 {
            text.push_str(&format!(
                "  {} output records did not read\n",
                tallies.unreadable
            ));
        }
        text.push_str(&format!(
            "  metrics were at {url} while the demo ran; `nudge run` serves the same endpoint \
             ([metrics] listen)."
        ));
        text
    }
}

/// The sum of every series of a counter.
fn counter_total(metrics: &Metrics, name: &str) -> u64 {
    metrics
        .registry()
        .gather()
        .iter()
        .filter(|family| family.name() == name)
        .flat_map(|family| family.get_metric())
        .map(|m| m.get_counter().get_value())
        .sum::<f64>() as u64
}

// ---- The producer -------------------------------------------------------------------------

/// Counts what the mock cluster holds: topics start empty, so the offset a delivered record
/// got is the number of records before it in its partition.
#[derive(Default)]
struct Deliveries {
    fullest: AtomicI64,
    failed: AtomicU64,
}

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(m) => {
                self.fullest.fetch_max(m.offset() + 1, Ordering::Relaxed);
            }
            Err((e, _)) => {
                if self.failed.fetch_add(1, Ordering::Relaxed) == 0 {
                    tracing::error!(error = %e, "a simulated record could not be delivered");
                }
            }
        }
    }
}

/// A token bucket: at most `rate` records per wall-clock second, in bursts of a tenth of that.
struct Pacer {
    rate: f64,
    capacity: f64,
    tokens: f64,
    last: Instant,
}

impl Pacer {
    fn new(rate: u32, now: Instant) -> Pacer {
        let capacity = (f64::from(rate) / 10.0).max(1.0);
        Pacer {
            rate: f64::from(rate),
            capacity,
            tokens: capacity,
            last: now,
        }
    }

    /// Whether one more record may go out at `now`.
    fn take(&mut self, now: Instant) -> bool {
        let refill = now.saturating_duration_since(self.last).as_secs_f64() * self.rate;
        self.tokens = (self.tokens + refill).min(self.capacity);
        self.last = now;
        let allowed = self.tokens >= 1.0;
        if allowed {
            self.tokens -= 1.0;
        }
        allowed
    }
}

/// Produces the simulation's records as the clock reaches their event time: everything due,
/// then a short sleep, until `stop`.
fn produce(
    mut sim: Sim,
    producer: &BaseProducer<Deliveries>,
    topics: &Topics,
    rate: u32,
    demo: &Shared,
    stop: &AtomicBool,
) -> Result<()> {
    let mut pacer = Pacer::new(rate, Instant::now());
    let mut buf = Vec::with_capacity(512);
    while !stop.load(Ordering::Relaxed) {
        if producer.context().fullest.load(Ordering::Relaxed) >= PARTITION_BUDGET {
            eprintln!(
                "nudge demo: an input partition holds {PARTITION_BUDGET} records, near the mock \
                 cluster's limit: no more traffic (more --partitions make room)"
            );
            break;
        }
        let now = demo.clock.now();
        while sim.peek_ts().is_some_and(|t| t <= now) && pacer.take(Instant::now()) {
            let Some((source, event)) = sim.next() else {
                break;
            };
            buf.clear();
            nudge_sim::write_json(&event, &mut buf);
            // Kafka timestamps on the scaled clock, so the pipeline's latency metrics are in
            // journey time like everything else.
            let record = BaseRecord::to(topics.input(source))
                .key(event.key())
                .payload(&buf[..])
                .timestamp(now.millis());
            crate::produce::send(producer, record)?;
            demo.produced[source as usize].fetch_add(1, Ordering::Relaxed);
        }
        producer.poll(Duration::ZERO);
        let next = sim.peek_ts().unwrap_or(now);
        let behind = (now.millis() - next.millis()).max(0);
        demo.behind_ms.store(behind, Ordering::Relaxed);
        let until_due = (next.millis() - now.millis()) as f64 / demo.clock.speed();
        thread::sleep(Duration::from_millis(until_due.clamp(2.0, 50.0) as u64));
    }
    producer
        .flush(Duration::from_secs(10))
        .context("flushing the producer")?;
    match producer.context().failed.load(Ordering::Relaxed) {
        0 => Ok(()),
        n => bail!("{n} records were not delivered"),
    }
}

// ---- The printer --------------------------------------------------------------------------

/// A consumer of the committed triggers, suppressed candidates and outcomes, from the start.
fn printer_consumer(cfg: &Config, topics: &Topics, partitions: i32) -> Result<BaseConsumer> {
    let bootstrap = cfg.run.kafka.get("bootstrap.servers").unwrap_or_default();
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "nudge-demo-printer")
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        // A caught-up fetch waits up to this long for new records (500 ms by default).
        .set("fetch.wait.max.ms", "50")
        .create()
        .context("creating the trigger printer")?;
    let skip = [cfg.run.topics.sessions.as_str(), topics.dead_letters()];
    let mut tpl = TopicPartitionList::new();
    for topic in topics.outputs().into_iter().filter(|t| !skip.contains(t)) {
        for p in 0..partitions {
            tpl.add_partition_offset(topic, p, Offset::Beginning)
                .context("listing the output partitions")?;
        }
    }
    consumer
        .assign(&tpl)
        .context("assigning the output partitions")?;
    Ok(consumer)
}

/// Prints each output as it arrives; once `drain` is set, reads to the end and returns.
fn print_outputs(consumer: &BaseConsumer, outcomes: &str, demo: &Shared, drain: &AtomicBool) {
    let dim = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    // Cleared when stdout goes away (`nudge demo | head`): counting goes on.
    let mut printing = true;
    let mut deadline = None;
    loop {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(msg)) => {
                let payload = msg.payload().unwrap_or_default();
                let mut tallies = demo.tallies();
                let Some(line) = describe(msg.topic() == outcomes, payload, &mut tallies) else {
                    tallies.unreadable += 1;
                    continue;
                };
                if printing {
                    let mut out = std::io::stdout().lock();
                    printing = if line.dim && dim {
                        writeln!(out, "\x1b[2m{}\x1b[0m", line.text).is_ok()
                    } else {
                        writeln!(out, "{}", line.text).is_ok()
                    };
                }
            }
            Some(Err(e)) => tracing::warn!(error = %e, "reading the triggers"),
            None if drain.load(Ordering::Relaxed) => {
                let deadline = *deadline.get_or_insert_with(|| Instant::now() + DRAIN_TIMEOUT);
                if Instant::now() >= deadline || read_to_end(consumer) {
                    return;
                }
            }
            None => {}
        }
    }
}

/// Whether every assigned partition has been read to its end.
fn read_to_end(consumer: &BaseConsumer) -> bool {
    let Ok(positions) = consumer.position() else {
        return false;
    };
    positions.elements().iter().all(|e| {
        let timeout = Duration::from_secs(1);
        match consumer.fetch_watermarks(e.topic(), e.partition(), timeout) {
            Ok((low, high)) => {
                low >= high || matches!(e.offset(), Offset::Offset(at) if at >= high)
            }
            Err(_) => false,
        }
    })
}

/// A printed line; suppressed candidates print dim.
struct Line {
    text: String,
    dim: bool,
}

/// Reads an output record, counts it and returns its line.
fn describe(outcome: bool, payload: &[u8], tallies: &mut Tallies) -> Option<Line> {
    if outcome {
        let o: Outcome = serde_json::from_slice(payload).ok()?;
        let entry = tallies.outcomes.entry(o.arm).or_default();
        entry.0 += 1;
        entry.1 += o.revenue;
        return Some(Line {
            text: outcome_line(&o),
            dim: false,
        });
    }
    let t: Trigger = serde_json::from_slice(payload).ok()?;
    match (t.reason, t.arm) {
        (Some(reason), _) => *tallies.suppressed.entry(reason).or_default() += 1,
        (None, Some(arm)) => *tallies.triggers.entry((t.kind, arm)).or_default() += 1,
        (None, None) => return None,
    }
    Some(Line {
        text: trigger_line(&t),
        dim: t.reason.is_some(),
    })
}

/// A trigger as one line: simulated due time, type, customer, channel, arm, what was left
/// behind, the offer; a suppressed candidate with its reason instead.
fn trigger_line(t: &Trigger) -> String {
    let mut parts = vec![
        format!("{} sim", sim_time(t.due_at, "%H:%M")),
        format!("{:<18}", t.kind.name()),
        format!("{:<8}", t.customer_id),
    ];
    if let Some(reason) = t.reason {
        parts.push(format!("suppressed: {}", reason.name()));
        return format!("  {}", parts.join("  "));
    }
    parts.push(format!("{:<5}", t.channel.map_or("-", |c| c.name())));
    parts.push(format!("{:<9}", t.arm.map_or("-", |a| a.name())));
    let c = &t.context;
    if let Some(first) = c.cart_items.first() {
        let name = first.name.as_deref().unwrap_or(&first.sku);
        let more = match c.cart_items.len() {
            1 => String::new(),
            n => format!(" +{}", n - 1),
        };
        parts.push(format!("\"{name}\"{more} {:.2} {CURRENCY}", c.cart_value));
    } else if let Some(page) = &c.last_page {
        parts.push(format!("last page {page}"));
    }
    if let Some(step) = c.checkout_step {
        let step = match step {
            CheckoutStep::Shipping => "shipping",
            CheckoutStep::Payment => "payment",
            CheckoutStep::Review => "review",
            CheckoutStep::Other => "checkout",
        };
        parts.push(format!("stopped at {step}"));
    }
    if let Some(obstacle) = t.obstacle {
        let why = match obstacle {
            Obstacle::PaymentError => "after a payment error",
            Obstacle::LongDwell => "after a long wait at payment",
            Obstacle::Lapsed => "lapsed",
            Obstacle::UnopenedEmails => "unopened emails",
        };
        parts.push(why.to_owned());
    }
    if let Some(offer) = &t.offer {
        parts.push(format!("{} {}%", offer.kind, offer.percent));
    }
    if let Some(after) = t.send_after.filter(|&a| a > t.due_at) {
        parts.push(format!("send after {}", sim_time(after, "%H:%M")));
    }
    if t.arm == Some(Arm::Holdout) {
        parts.push("(holdout: recorded, not sent)".to_owned());
    }
    format!("  {}", parts.join("  ").trim_end())
}

/// A purchase attributed to a trigger, as one line.
fn outcome_line(o: &Outcome) -> String {
    format!(
        "  {} sim  {:<18}  {:<8}  bought {:.2} {CURRENCY}, {} after a {} trigger ({})",
        sim_time(o.converted_at, "%H:%M"),
        "purchase",
        o.customer_id,
        o.revenue,
        minutes((o.seconds_to_conversion * 1000.0) as i64),
        o.kind.name(),
        o.arm.name(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line_of(json: &str) -> String {
        let mut tallies = Tallies::default();
        describe(false, json.as_bytes(), &mut tallies)
            .expect("a trigger")
            .text
    }

    const CART: &str = r#"{"trigger_id":"cart_abandoned-1","customer_id":"c0000042",
        "type":"cart_abandoned","arm":"ARM","due_at":"2026-11-30T10:42:00.000Z",
        "channel":"email","action":"discount_prompt","offer":{"kind":"discount","percent":10},
        "send_after":"2026-11-30T10:42:00.000Z","obstacle":null,"stage":"decision",
        "reason":null,"context":{"cart_items":[
        {"sku":"SKU-1001","name":"Trail Running Shoe","quantity":1,"price":89.9},
        {"sku":"SKU-1005","name":"Water Bottle","quantity":2,"price":19.95}],
        "cart_value":129.8,"session_id":"s-1","last_page":"/cart","checkout_step":null,
        "segment":"returning","lifetime_value":300.0,"device":"mobile"}}"#;

    #[test]
    fn a_trigger_prints_due_time_type_customer_channel_arm_cart_and_offer() {
        assert_eq!(
            line_of(&CART.replace("ARM", "treatment")),
            "  10:42 sim  cart_abandoned      c0000042  email  treatment  \
             \"Trail Running Shoe\" +1 129.80 EUR  discount 10%"
        );
    }

    #[test]
    fn a_holdout_trigger_says_it_is_not_sent() {
        assert_eq!(
            line_of(&CART.replace("ARM", "holdout")),
            "  10:42 sim  cart_abandoned      c0000042  email  holdout    \
             \"Trail Running Shoe\" +1 129.80 EUR  discount 10%  (holdout: recorded, not sent)"
        );
    }

    #[test]
    fn a_suppressed_candidate_prints_short_with_its_reason_and_counts() {
        let json = r#"{"trigger_id":"feedback_request-1","customer_id":"c0001999",
            "type":"feedback_request","arm":null,"due_at":"2026-11-30T23:05:00.000Z",
            "channel":null,"action":"feedback_request","offer":null,"send_after":null,
            "obstacle":"payment_error","stage":"decision","reason":"unsubscribed",
            "context":{"cart_items":[],"cart_value":0.0,"session_id":null,"last_page":null,
            "checkout_step":"payment","segment":null,"lifetime_value":null,"device":null}}"#;
        let mut tallies = Tallies::default();
        let line = describe(false, json.as_bytes(), &mut tallies).expect("a trigger");
        assert_eq!(
            line.text,
            "  23:05 sim  feedback_request    c0001999  suppressed: unsubscribed"
        );
        assert!(line.dim);
        assert_eq!(tallies.suppressed[&SuppressReason::Unsubscribed], 1);
        assert!(tallies.triggers.is_empty());
    }

    #[test]
    fn a_trigger_without_a_cart_names_the_page_step_obstacle_and_quiet_hours() {
        let json = r#"{"trigger_id":"checkout_abandoned-1","customer_id":"c0000007",
            "type":"checkout_abandoned","arm":"treatment","due_at":"2026-11-30T21:30:00.000Z",
            "channel":"push","action":"checkout_reminder","offer":null,
            "send_after":"2026-12-01T08:00:00.000Z","obstacle":"long_dwell","stage":"decision",
            "reason":null,"context":{"cart_items":[],"cart_value":0.0,"session_id":null,
            "last_page":"/checkout/payment","checkout_step":"payment","segment":null,
            "lifetime_value":null,"device":null}}"#;
        assert_eq!(
            line_of(json),
            "  21:30 sim  checkout_abandoned  c0000007  push   treatment  \
             last page /checkout/payment  stopped at payment  after a long wait at payment  \
             send after 08:00"
        );
    }

    #[test]
    fn unreadable_outputs_print_nothing() {
        let mut tallies = Tallies::default();
        assert!(describe(false, b"{\"not\":\"a trigger\"}", &mut tallies).is_none());
        assert!(describe(true, b"[]", &mut tallies).is_none());
    }

    #[test]
    fn the_pacer_allows_a_tenth_of_a_second_in_a_burst_then_the_rate() {
        let t0 = Instant::now();
        let mut pacer = Pacer::new(200, t0);
        assert_eq!((0..100).filter(|_| pacer.take(t0)).count(), 20);
        let later = t0 + Duration::from_millis(50);
        assert_eq!((0..100).filter(|_| pacer.take(later)).count(), 10);
        let much_later = t0 + Duration::from_secs(60);
        assert_eq!((0..100).filter(|_| pacer.take(much_later)).count(), 20);
    }

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
