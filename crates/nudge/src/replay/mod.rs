//! `nudge replay`: the engine over files, with the live pipeline's semantics.
//!
//! Records are put in event-time order, and before each record the watermark moves to its
//! time (the largest read so far), firing every timer due strictly before it. At the end of
//! input nothing more fires.

mod lines;
mod order;
mod sink;
mod stats;

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use nudge_engine::{Engine, EngineConfig};
use nudge_events::error::MAX_RECORD_BYTES;
use nudge_events::{json, Source};

use lines::LineReader;
use order::{Keyed, Sorter};
use sink::{DeadLetter, Sink};
use stats::{Progress, Stats};

/// How `nudge replay` runs.
pub struct Options<'a> {
    pub input: &'a Path,
    pub out: Option<&'a Path>,
    /// Input bytes held in memory before a sorted run is spilled to disk.
    pub sort_budget: usize,
}

/// Replays the input directory and writes every output record to `out` (or stdout).
pub fn run(opts: &Options, cfg: EngineConfig) -> Result<()> {
    let started = Instant::now();
    if !opts.input.is_dir() {
        bail!("--input {} is not a directory", opts.input.display());
    }
    let mut sink = Sink::open(opts.out)?;
    let mut stats = Stats::default();
    let mut progress = Progress::new(Duration::from_secs(1));
    let mut sorter = Sorter::new(opts.sort_budget);
    let mut found = 0;
    for source in Source::ALL {
        let name = format!("{}.ndjson", source.name());
        let path = opts.input.join(&name);
        if !path.exists() {
            continue;
        }
        found += 1;
        let file = File::open(&path).with_context(|| format!("opening {}", path.display()))?;
        let mut reader = LineReader::new(
            BufReader::with_capacity(1 << 16, file),
            MAX_RECORD_BYTES + 1,
        );
        while let Some(line) = reader
            .next_line()
            .with_context(|| format!("reading {}", path.display()))?
        {
            if line.bytes.iter().all(u8::is_ascii_whitespace) && line.len == line.bytes.len() {
                stats.file(source).blank += 1;
                continue;
            }
            stats.file(source).read += 1;
            let bytes = if line.len > line.bytes.len() {
                // Longer than any valid record: let the decoder name it oversize.
                &line.bytes[..line.bytes.len().min(MAX_RECORD_BYTES + 1)]
            } else {
                line.bytes
            };
            match json::decode(source, bytes) {
                Ok(event) => {
                    if event.is_unknown_type() {
                        stats.file(source).unknown_type += 1;
                    }
                    let record = Keyed {
                        ts: event.ts(),
                        source,
                        line: line.number,
                        event,
                    };
                    sorter.push(record, line.len)?;
                }
                Err(error) => {
                    stats.invalid(source, error.kind);
                    sink.dead_letter(&DeadLetter {
                        source,
                        file: &name,
                        line: &line,
                        error: &error,
                    })?;
                }
            }
            progress.tick(|| format!("reading {name}: {} lines", line.number));
        }
    }
    if found == 0 {
        bail!(
            "{} holds none of clickstream.ndjson, email.ndjson, crm.ndjson",
            opts.input.display()
        );
    }
    stats.spilled_runs = sorter.spilled_runs();
    let total = stats.records_read();
    let mut engine = Engine::new(cfg);
    let mut outputs = Vec::new();
    for (applied, record) in sorter.finish()?.enumerate() {
        let record = record?;
        engine.advance(record.ts, &mut outputs);
        engine.apply(&record.event, &mut outputs);
        for output in outputs.drain(..) {
            stats.count(&output);
            sink.output(&output)?;
        }
        progress.tick(|| format!("applied {} of {total} records", applied + 1));
    }
    sink.finish()?;
    stats.print(&engine, started.elapsed());
    Ok(())
}
