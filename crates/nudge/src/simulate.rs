//! `nudge simulate --out DIR`: the journey simulator's traffic as NDJSON files, for replays,
//! tests and benchmarks.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use nudge_events::{Source, Ts};
use nudge_sim::{render, Sim, SimConfig};

const DAY_MS: i64 = 86_400_000;

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
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
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
