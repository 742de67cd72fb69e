//! `nudge simulate`: the journey simulator's traffic, as NDJSON files (`--out DIR`) for
//! replays, tests and benchmarks, or live into Kafka (`--brokers`) for compose files and load
//! tests.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use nudge_engine::Dur;
use nudge_events::{Source, Ts};
use nudge_kafka::Topics;
use nudge_sim::{render, Sim, SimConfig};
use rdkafka::producer::BaseProducer;

use crate::config::Config;
use crate::live::{producer_config, shutdown_flag};
use crate::traffic::{self, Counts, Deliveries, Traffic};

pub const DAY_MS: i64 = 86_400_000;
/// How often live traffic prints a status line.
const STATUS_EVERY: Duration = Duration::from_secs(10);

/// What to simulate.
pub struct Options<'a> {
    pub out: &'a Path,
    pub customers: u32,
    pub duration_ms: i64,
    pub seed: u64,
    /// Start at midnight UTC this many days ago (the default start is 2026-11-30).
    pub days_ago: Option<i64>,
}

/// Writes DIR/crm.ndjson, DIR/email.ndjson and DIR/clickstream.ndjson.
pub fn to_files(opts: &Options) -> Result<()> {
    std::fs::create_dir_all(opts.out)
        .with_context(|| format!("creating {}", opts.out.display()))?;
    let mut cfg = SimConfig {
        seed: opts.seed,
        customers: opts.customers,
        ..SimConfig::default()
    };
    if let Some(days) = opts.days_ago {
        let now = traffic::now_ms();
        cfg.start = Ts((now / DAY_MS - days) * DAY_MS);
    }
    let end = cfg.start.plus(opts.duration_ms);
    let mut files = Vec::new();
    for source in Source::ALL {
        let path = opts.out.join(format!("{}.ndjson", source.name()));
        let file = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        files.push(BufWriter::with_capacity(1 << 16, file));
    }
    let mut sim = Sim::new(cfg);
    let mut buf = Vec::with_capacity(512);
    let mut counts = [0u64; 3];
    for (source, event) in sim.until(end) {
        buf.clear();
        render::write_json(&event, &mut buf);
        buf.push(b'\n');
        files[source as usize]
            .write_all(&buf)
            .context("writing records")?;
        counts[source as usize] += 1;
    }
    for mut f in files {
        f.flush().context("writing records")?;
    }
    eprintln!(
        "nudge simulate: {} crm, {} email, {} clickstream records in {}",
        counts[0],
        counts[1],
        counts[2],
        opts.out.display()
    );
    Ok(())
}

/// What `nudge simulate --brokers` produces.
pub struct Live {
    pub customers: u32,
    /// At most this many records per wall-clock second.
    pub rate: u32,
    /// Wall-clock time to run for; `None` runs until SIGINT or SIGTERM.
    pub duration_ms: Option<i64>,
    pub seed: u64,
    /// Journey time per wall-clock time.
    pub speed: f64,
    /// Journey time before now, produced first.
    pub history_ms: i64,
}

/// Produces live traffic to the input topics until `--duration` has passed or a signal.
pub fn live(cfg: &Config, opts: &Live) -> Result<()> {
    traffic::check_options(
        opts.customers,
        opts.rate,
        opts.duration_ms,
        opts.speed,
        opts.history_ms,
    )?;
    if cfg.run.kafka.get("bootstrap.servers").is_none() {
        bail!("no brokers: pass --brokers or set [kafka] \"bootstrap.servers\"");
    }
    let interrupted = shutdown_flag()?;
    let producer: BaseProducer<Deliveries> = producer_config(cfg)
        .set("linger.ms", "5")
        .set("enable.idempotence", "true")
        .create_with_context(Deliveries::default())
        .context("creating the producer")?;
    let topics = Topics::new(&cfg.run.topics);
    let clock = traffic::live_clock(opts.speed);
    let (now, started) = (clock.now(), Instant::now());
    let sim = Sim::new(SimConfig {
        seed: opts.seed,
        customers: opts.customers,
        start: now.plus(-opts.history_ms),
        ..SimConfig::default()
    });
    let counts = Counts::default();
    let traffic = Traffic {
        producer: &producer,
        topics: &topics,
        clock,
        rate: opts.rate,
        partition_budget: None,
        counts: &counts,
    };
    eprintln!(
        "nudge simulate: {} customers to {} at most {} records/s, journey time {}x the wall \
         clock, {} of history first; {}",
        opts.customers,
        cfg.run.kafka.get("bootstrap.servers").unwrap_or_default(),
        opts.rate,
        opts.speed,
        Dur::from_millis(opts.history_ms),
        opts.duration_ms.map_or("until stopped".to_owned(), |d| {
            format!("for {}", Dur::from_millis(d))
        }),
    );
    let end = opts
        .duration_ms
        .map(|d| started + Duration::from_millis(d as u64));
    let mut last_status = (Instant::now(), 0);
    let result = traffic::produce(sim, &traffic, || {
        if last_status.0.elapsed() >= STATUS_EVERY {
            let total = counts.total();
            let per_s = (total - last_status.1) as f64 / last_status.0.elapsed().as_secs_f64();
            let behind = counts.behind_ms.load(Ordering::Relaxed);
            eprintln!(
                "nudge simulate: {total} records ({per_s:.0}/s), {} behind the clock",
                Dur::from_millis(behind / 1000 * 1000)
            );
            last_status = (Instant::now(), total);
        }
        !interrupted.load(Ordering::Relaxed) && end.is_none_or(|end| Instant::now() < end)
    });
    let [crm, email, clickstream] = counts.by_source();
    eprintln!(
        "nudge simulate: {} records in {:.0} s: {crm} crm, {email} email, {clickstream} \
         clickstream",
        crm + email + clickstream,
        started.elapsed().as_secs_f64()
    );
    result
}
