//! `nudge report`: the journey report of a replay of the input, or of a replay output file.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use anyhow::{bail, Context as _, Result};
use nudge_engine::{Engine, EngineConfig};
use nudge_events::{Output, DLQ_TOPIC, OUTCOMES_TOPIC, SESSIONS_TOPIC, SUPPRESSED_TOPIC};
use nudge_report::{Collector, Context, MadeFrom, Report};
use serde::Deserialize;

use crate::replay::{self, Observer};

/// How `nudge report` runs.
pub struct Options<'a> {
    /// Replay this input directory...
    pub input: Option<&'a Path>,
    /// ...or read this `nudge replay` output file.
    pub from: Option<&'a Path>,
    pub out: &'a Path,
    pub json: Option<&'a Path>,
    pub sort_budget: usize,
}

/// Builds the report and writes the page (and the JSON). `cfg` is the configuration of the
/// replay; with `--from`, the one the user says produced the file, if any.
pub fn run(opts: &Options, cfg: Option<EngineConfig>) -> Result<()> {
    let report = match (opts.input, opts.from) {
        (Some(dir), None) => from_replay(dir, opts.sort_budget, cfg.unwrap_or_default())?,
        (None, Some(file)) => from_output_file(file, cfg.as_ref())?,
        _ => bail!("give either --input DIR or --from FILE"),
    };
    std::fs::write(opts.out, nudge_report::render(&report))
        .with_context(|| format!("writing {}", opts.out.display()))?;
    if let Some(path) = opts.json {
        let json = serde_json::to_string_pretty(&report)? + "\n";
        std::fs::write(path, json).with_context(|| format!("writing {}", path.display()))?;
    }
    eprintln!(
        "nudge report: wrote {} ({} sessions, {} triggers, {} suppressed, {} dead letters)",
        opts.out.display(),
        report.sessions.overall.sessions,
        report.triggers.emitted,
        report.triggers.suppressed,
        report.provenance.dead_letters.total
    );
    Ok(())
}

/// The engine configuration as TOML, every default written out.
pub fn config_toml(cfg: &EngineConfig) -> Result<String> {
    toml::to_string(cfg).context("writing the configuration as TOML")
}

impl Observer for Collector {
    fn on_input(&mut self, event: &nudge_events::Event) {
        self.input(event);
    }

    fn on_output(&mut self, _engine: usize, output: &Output) -> Result<()> {
        self.output(output);
        Ok(())
    }
}

fn from_replay(dir: &Path, sort_budget: usize, cfg: EngineConfig) -> Result<Report> {
    let config_toml = config_toml(&cfg)?;
    let mut collector = Collector::new(MadeFrom::Replay);
    let (input, _) = replay::read(dir, sort_budget, |dl| {
        collector.dead_letter(dl.source.name(), dl.error.kind.label());
        Ok(())
    })?;
    let mut engines = [Engine::new(cfg)];
    input.replay(&mut engines, &mut collector)?;
    let engine = &engines[0];
    Ok(collector.finish(&Context {
        source: dir.display().to_string(),
        config_toml: Some(config_toml),
        open_sessions_at_end: Some(engine.open_sessions() as u64),
        stage_of: &|key| engine.state(key).map(|s| s.stage),
    }))
}

/// One line of replay output, `{"topic": T, "key": K, "value": V}`.
#[derive(Deserialize)]
struct Line {
    topic: String,
    value: serde_json::Value,
}

/// The part of a dead letter the report counts.
#[derive(Deserialize)]
struct DeadLetterValue {
    source: String,
    reason: String,
}

fn from_output_file(path: &Path, cfg: Option<&EngineConfig>) -> Result<Report> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut collector = Collector::new(MadeFrom::ReplayOutput);
    for (n, line) in BufReader::with_capacity(1 << 16, file).lines().enumerate() {
        let line = line.with_context(|| format!("reading {}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let at = || format!("{}:{}", path.display(), n + 1);
        let Line { topic, value } = serde_json::from_str(&line)
            .with_context(|| format!("{}: not a replay output line", at()))?;
        let decoded = match topic.as_str() {
            DLQ_TOPIC => serde_json::from_value(value).map(|d: DeadLetterValue| {
                collector.dead_letter(&d.source, &d.reason);
                None
            }),
            SESSIONS_TOPIC => serde_json::from_value(value).map(Output::Session).map(Some),
            OUTCOMES_TOPIC => serde_json::from_value(value).map(Output::Outcome).map(Some),
            SUPPRESSED_TOPIC => serde_json::from_value(value)
                .map(Output::Suppressed)
                .map(Some),
            t if t.starts_with("triggers.") => {
                serde_json::from_value(value).map(Output::Trigger).map(Some)
            }
            t => bail!("{}: unknown topic {t:?}", at()),
        };
        let decoded = decoded.with_context(|| format!("{}: bad {topic} record", at()))?;
        if let Some(output) = decoded {
            collector.output(&output);
        }
    }
    Ok(collector.finish(&Context {
        source: path.display().to_string(),
        config_toml: cfg.map(config_toml).transpose()?,
        open_sessions_at_end: None,
        stage_of: &|_| None,
    }))
}
