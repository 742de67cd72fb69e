//! The replay summary printed to stderr, and the progress line for long inputs.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use nudge_engine::Engine;
use nudge_events::{DecodeErrorKind, Output, Source};

/// Counts per input file.
#[derive(Default)]
pub struct FileStats {
    pub read: u64,
    pub invalid: u64,
    pub unknown_type: u64,
    pub blank: u64,
}

/// What a replay read and produced.
#[derive(Default)]
pub struct Stats {
    files: BTreeMap<Source, FileStats>,
    invalid_reasons: BTreeMap<&'static str, u64>,
    sessions: u64,
    triggers: BTreeMap<(&'static str, &'static str), u64>,
    suppressed: BTreeMap<&'static str, u64>,
    outcomes: u64,
    pub spilled_runs: usize,
}

impl Stats {
    /// The counters of one input file.
    pub fn file(&mut self, source: Source) -> &mut FileStats {
        self.files.entry(source).or_default()
    }

    /// Counts a record that failed to decode.
    pub fn invalid(&mut self, source: Source, kind: DecodeErrorKind) {
        self.file(source).invalid += 1;
        *self.invalid_reasons.entry(kind.label()).or_default() += 1;
    }

    /// Valid records read, over all files.
    pub fn records_read(&self) -> u64 {
        self.files.values().map(|f| f.read - f.invalid).sum()
    }

    /// Counts one output record.
    pub fn count(&mut self, output: &Output) {
        match output {
            Output::Trigger(t) => {
                let arm = t.arm.map_or("none", |a| a.name());
                *self.triggers.entry((t.kind.name(), arm)).or_default() += 1;
            }
            Output::Suppressed(t) => {
                let reason = t.reason.map_or("unknown", |r| r.name());
                *self.suppressed.entry(reason).or_default() += 1;
            }
            Output::Session(_) => self.sessions += 1,
            Output::Outcome(_) => self.outcomes += 1,
        }
    }

    /// Prints the summary to stderr.
    pub fn print(&self, engine: &Engine, elapsed: Duration) {
        eprintln!("nudge replay: done in {:.2}s", elapsed.as_secs_f64());
        for (source, f) in &self.files {
            eprintln!(
                "  {:<12} read {:>9}  invalid {:>6}  unknown type {:>6}  blank {:>4}",
                source.name(),
                f.read,
                f.invalid,
                f.unknown_type,
                f.blank
            );
        }
        if !self.invalid_reasons.is_empty() {
            let reasons: Vec<String> = self
                .invalid_reasons
                .iter()
                .map(|(r, n)| format!("{r} {n}"))
                .collect();
            eprintln!("  invalid by reason: {}", reasons.join(", "));
        }
        eprintln!(
            "  sessions closed {}  still open {}  customers {}",
            self.sessions,
            engine.open_sessions(),
            engine.customers()
        );
        let triggers: Vec<String> = self
            .triggers
            .iter()
            .map(|((kind, arm), n)| format!("{kind}/{arm} {n}"))
            .collect();
        eprintln!("  triggers: {}", none_if_empty(&triggers));
        let suppressed: Vec<String> = self
            .suppressed
            .iter()
            .map(|(r, n)| format!("{r} {n}"))
            .collect();
        eprintln!("  suppressed: {}", none_if_empty(&suppressed));
        eprintln!("  outcomes: {}", self.outcomes);
        if self.spilled_runs > 0 {
            eprintln!("  sorted in {} runs on disk", self.spilled_runs);
        }
    }
}

fn none_if_empty(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}

/// Prints a progress line at most once per interval, checking the clock only every so often.
pub struct Progress {
    interval: Duration,
    last: Instant,
    calls: u32,
}

impl Progress {
    /// A progress printer that speaks at most once per `interval`.
    pub fn new(interval: Duration) -> Progress {
        Progress {
            interval,
            last: Instant::now(),
            calls: 0,
        }
    }

    /// Counts one unit of work; prints `message()` if the interval has passed.
    pub fn tick(&mut self, message: impl FnOnce() -> String) {
        self.calls = self.calls.wrapping_add(1);
        if self.calls % 65_536 != 0 {
            return;
        }
        if self.last.elapsed() >= self.interval {
            self.last = Instant::now();
            eprintln!("nudge replay: {}", message());
        }
    }
}
