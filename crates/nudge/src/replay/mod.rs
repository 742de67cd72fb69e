//! `nudge replay`: the engine over files, with the live pipeline's semantics.
//!
//! Records are put in event-time order, and before each record the watermark moves to its
//! time (the largest read so far), firing every timer due strictly before it. At the end of
//! input nothing more fires.
//!
//! The loop is shared: [`read`] decodes and orders the input once, and [`Input::replay`] runs
//! one or more engines over it, handing every record and output to an [`Observer`]. Plain
//! replay writes the outputs; `nudge report` and `--compare` tally them.

pub mod compare;
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
use nudge_events::{json, Event, Output, Source};

use lines::LineReader;
use order::{Keyed, Sorter};
pub use sink::DeadLetter;
use sink::Sink;
use stats::{Progress, Stats};

/// How `nudge replay` runs.
pub struct Options<'a> {
    pub input: &'a Path,
    pub out: Option<&'a Path>,
    /// Input bytes held in memory before a sorted run is spilled to disk.
    pub sort_budget: usize,
}

/// Receives a replay as it happens: each valid input record just before the engines apply
/// it, then the outputs it caused, engine by engine.
pub trait Observer {
    /// A valid input record (of any type, known or not).
    fn on_input(&mut self, _event: &Event) {}
    /// An output of engine number `engine` (its index in the slice given to the replay).
    fn on_output(&mut self, engine: usize, output: &Output) -> Result<()>;
}

/// The decoded input, ready to be replayed in event-time order.
pub struct Input {
    sorter: Sorter,
    records: u64,
    progress: Progress,
}

/// Reads `DIR/{crm,email,clickstream}.ndjson` (any may be missing, not all), handing each
/// malformed line to `dead_letter` as it is read. Returns the input and what reading found.
pub fn read(
    dir: &Path,
    sort_budget: usize,
    mut dead_letter: impl FnMut(&DeadLetter) -> Result<()>,
) -> Result<(Input, Stats)> {
    check_dir(dir)?;
    let mut stats = Stats::default();
    let mut progress = Progress::new(Duration::from_secs(1));
    let mut sorter = Sorter::new(sort_budget);
    let mut found = 0;
    for source in Source::ALL {
        let name = format!("{}.ndjson", source.name());
        let path = dir.join(&name);
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
                    dead_letter(&DeadLetter {
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
            dir.display()
        );
    }
    stats.spilled_runs = sorter.spilled_runs();
    let input = Input {
        sorter,
        records: stats.records_read(),
        progress,
    };
    Ok((input, stats))
}

impl Input {
    /// Runs every engine over the records in replay order; each record moves every engine's
    /// watermark, then is applied to each, and `observer` sees the outputs as they come.
    pub fn replay(mut self, engines: &mut [Engine], observer: &mut dyn Observer) -> Result<()> {
        let total = self.records;
        let mut outputs = Vec::new();
        for (applied, record) in self.sorter.finish()?.enumerate() {
            let record = record?;
            observer.on_input(&record.event);
            for (i, engine) in engines.iter_mut().enumerate() {
                engine.advance(record.ts, &mut outputs);
                engine.apply(&record.event, &mut outputs);
                for output in outputs.drain(..) {
                    observer.on_output(i, &output)?;
                }
            }
            self.progress
                .tick(|| format!("applied {} of {total} records", applied + 1));
        }
        Ok(())
    }
}

fn check_dir(dir: &Path) -> Result<()> {
    if !dir.is_dir() {
        bail!("--input {} is not a directory", dir.display());
    }
    Ok(())
}

/// Writes each output as a line and counts it for the summary.
struct Writer<'a> {
    sink: &'a mut Sink,
    stats: &'a mut Stats,
}

impl Observer for Writer<'_> {
    fn on_output(&mut self, _engine: usize, output: &Output) -> Result<()> {
        self.stats.count(output);
        self.sink.output(output)
    }
}

/// Replays the input directory and writes every output record to `out` (or stdout).
pub fn run(opts: &Options, cfg: EngineConfig) -> Result<()> {
    let started = Instant::now();
    // A bad input directory creates no output file.
    check_dir(opts.input)?;
    let mut sink = Sink::open(opts.out)?;
    let (input, mut stats) = read(opts.input, opts.sort_budget, |dl| sink.dead_letter(dl))?;
    let mut engines = [Engine::new(cfg)];
    let mut writer = Writer {
        sink: &mut sink,
        stats: &mut stats,
    };
    input.replay(&mut engines, &mut writer)?;
    sink.finish()?;
    stats.print(&engines[0], started.elapsed());
    Ok(())
}
