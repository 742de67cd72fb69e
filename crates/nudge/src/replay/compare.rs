//! `nudge replay --compare`: two configurations over the same input, read and sorted once,
//! each record applied to both engines in turn.
//!
//! Triggers are matched by trigger id, a stable hash of customer, trigger type and the start
//! of the episode (the cart change that opened a cart episode, the checkout start, the start
//! of the browsing session, of the lapse, or the email send). A configuration's delays move a
//! trigger's due time but not its episode, so a reminder both configurations send, sooner or
//! later, matches; one that only one of them fires (a purchase came before the longer delay
//! ran out, the input ended first, a policy suppressed it) does not. Suppressed candidates do
//! not fire. Only unmatched triggers are held, so memory follows the difference.
//!
//! The change in conversions of a type is the change in treatment triggers (holdout triggers
//! are never sent either way) times the type's uplift per customer, measured on A's holdout,
//! or on B's where A's arms are too small: an estimate that assumes a trigger's effect does
//! not depend on when it is sent.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context as _, Result};
use nudge_engine::Engine;
use nudge_events::{Arm, Event, Output, TriggerType, Ts};
use nudge_report::{Collector, Context, EstimateStatus, MadeFrom, Report};
use serde::Serialize;

use super::Observer;
use crate::config;
use crate::report::config_toml;

const MATCH_KEY: &str = "trigger_id: a stable hash of customer, trigger type and episode start; \
due times may differ between A and B";
const ESTIMATE: &str = "(treatment triggers only B fires - treatment triggers only A fires) x \
the type's uplift per customer with its interval, measured on A's holdout, or on B's where A's \
arms are too small";

#[derive(Serialize)]
struct Diff {
    input: String,
    a: Run,
    b: Run,
    match_key: &'static str,
    estimate: &'static str,
    types: Vec<TypeDiff>,
    only_a: Vec<Fired>,
    only_b: Vec<Fired>,
}

#[derive(Serialize)]
struct Run {
    config: String,
    config_toml: String,
    emitted: u64,
    suppressed: u64,
}

#[derive(Serialize)]
struct TypeDiff {
    #[serde(rename = "type")]
    kind: &'static str,
    only_a: ArmCounts,
    only_b: ArmCounts,
    both: Both,
    /// The uplift used, and which run measured it.
    uplift: Option<Uplift>,
    uplift_status_a: EstimateStatus,
    uplift_status_b: EstimateStatus,
    conversion_change: Option<Change>,
}

#[derive(Serialize, Default)]
struct ArmCounts {
    triggers: u64,
    treatment: u64,
    holdout: u64,
}

#[derive(Serialize, Default)]
struct Both {
    triggers: u64,
    /// Matched triggers whose due time differs.
    due_changed: u64,
}

#[derive(Serialize)]
struct Uplift {
    measured_on: &'static str,
    difference: f64,
    low: f64,
    high: f64,
}

#[derive(Serialize)]
struct Change {
    estimate: f64,
    low: f64,
    high: f64,
}

#[derive(Serialize)]
struct Fired {
    trigger_id: String,
    customer_id: String,
    #[serde(rename = "type")]
    kind: TriggerType,
    arm: Arm,
    due_at: Ts,
}

/// Feeds each run's collector and matches the triggers of the two runs.
struct Matcher {
    runs: [Collector; 2],
    /// Triggers one run has fired and the other not (yet), by id.
    pending: HashMap<String, (usize, Fired)>,
    only: [[ArmCounts; 5]; 2],
    both: [Both; 5],
}

impl Observer for Matcher {
    fn on_input(&mut self, event: &Event) {
        self.runs.iter_mut().for_each(|c| c.input(event));
    }

    fn on_output(&mut self, engine: usize, output: &Output) -> Result<()> {
        self.runs[engine].output(output);
        let Output::Trigger(t) = output else {
            return Ok(());
        };
        match self.pending.remove(&t.trigger_id) {
            Some((other, fired)) if other != engine => {
                let both = &mut self.both[t.kind as usize];
                both.triggers += 1;
                both.due_changed += u64::from(fired.due_at != t.due_at);
            }
            earlier => {
                // The same run firing an id twice would be an engine bug; keep the first.
                let fired = Fired {
                    trigger_id: t.trigger_id.clone(),
                    customer_id: t.customer_id.clone(),
                    kind: t.kind,
                    arm: t.arm.unwrap_or(Arm::Treatment),
                    due_at: t.due_at,
                };
                let entry = earlier.unwrap_or((engine, fired));
                self.pending.insert(t.trigger_id.clone(), entry);
            }
        }
        Ok(())
    }
}

/// Replays `input` under configuration `a` (the defaults when `None`) and `b`, prints a
/// summary and writes the diff JSON to `out`.
pub fn run(
    input: &Path,
    a: Option<&Path>,
    b: &Path,
    out: Option<&Path>,
    sort_budget: usize,
) -> Result<()> {
    let cfg_a = config::load_or_default(a)?.engine;
    let cfg_b = config::load(b)?.engine;
    let mut matcher = Matcher {
        runs: [
            Collector::new(MadeFrom::Replay),
            Collector::new(MadeFrom::Replay),
        ],
        pending: HashMap::new(),
        only: Default::default(),
        both: Default::default(),
    };
    let (records, _) = super::read(input, sort_budget, |dl| {
        for c in &mut matcher.runs {
            c.dead_letter(dl.source.name(), dl.error.kind.label());
        }
        Ok(())
    })?;
    let tomls = [config_toml(&cfg_a)?, config_toml(&cfg_b)?];
    let mut engines = [Engine::new(cfg_a), Engine::new(cfg_b)];
    records.replay(&mut engines, &mut matcher)?;
    let Matcher {
        runs: [run_a, run_b],
        pending,
        mut only,
        both,
    } = matcher;
    let source = input.display().to_string();
    let [report_a, report_b] = [(run_a, &engines[0]), (run_b, &engines[1])].map(|(c, e)| {
        c.finish(&Context {
            source: source.clone(),
            config_toml: None,
            open_sessions_at_end: Some(e.open_sessions() as u64),
            stage_of: &|key| e.state(key).map(|s| s.stage),
        })
    });
    let mut unmatched: [Vec<Fired>; 2] = Default::default();
    for (run, fired) in pending.into_values() {
        let c = &mut only[run][fired.kind as usize];
        c.triggers += 1;
        match fired.arm {
            Arm::Treatment => c.treatment += 1,
            Arm::Holdout => c.holdout += 1,
        }
        unmatched[run].push(fired);
    }
    for list in &mut unmatched {
        list.sort_by(|x, y| (x.due_at, &x.trigger_id).cmp(&(y.due_at, &y.trigger_id)));
    }
    let [only_a, only_b] = only;
    let types: Vec<TypeDiff> = TriggerType::ALL
        .iter()
        .zip(only_a.into_iter().zip(only_b).zip(both))
        .enumerate()
        .map(|(i, (kind, ((a, b), both)))| type_diff(*kind, i, a, b, both, [&report_a, &report_b]))
        .collect();
    let [toml_a, toml_b] = tomls;
    let [only_a, only_b] = unmatched;
    let name_a = a.map_or_else(|| "defaults".to_owned(), |p| p.display().to_string());
    let diff = Diff {
        input: source,
        a: run_info(name_a, toml_a, &report_a),
        b: run_info(b.display().to_string(), toml_b, &report_b),
        match_key: MATCH_KEY,
        estimate: ESTIMATE,
        types,
        only_a,
        only_b,
    };
    print!("{}", summary(&diff));
    if let Some(path) = out {
        let json = serde_json::to_string_pretty(&diff)? + "\n";
        std::fs::write(path, json).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn run_info(config: String, config_toml: String, r: &Report) -> Run {
    Run {
        config,
        config_toml,
        emitted: r.triggers.emitted,
        suppressed: r.triggers.suppressed,
    }
}

fn type_diff(
    kind: TriggerType,
    i: usize,
    only_a: ArmCounts,
    only_b: ArmCounts,
    both: Both,
    reports: [&Report; 2],
) -> TypeDiff {
    let effects = reports.map(|r| &r.effect.by_type[i]);
    let uplift = ["a", "b"].iter().zip(effects).find_map(|(run, e)| {
        e.uplift.as_ref().map(|u| Uplift {
            measured_on: run,
            difference: u.difference,
            low: u.low,
            high: u.high,
        })
    });
    let delta = only_b.treatment as f64 - only_a.treatment as f64;
    let conversion_change = if delta == 0.0 {
        Some(Change {
            estimate: 0.0,
            low: 0.0,
            high: 0.0,
        })
    } else {
        uplift.as_ref().map(|u| Change {
            estimate: delta * u.difference,
            low: (delta * u.low).min(delta * u.high),
            high: (delta * u.low).max(delta * u.high),
        })
    };
    TypeDiff {
        kind: kind.name(),
        only_a,
        only_b,
        both,
        uplift,
        uplift_status_a: effects[0].status,
        uplift_status_b: effects[1].status,
        conversion_change,
    }
}

fn summary(d: &Diff) -> String {
    let mut s = format!(
        "nudge replay --compare over {}\n  A: {} ({} triggers, {} suppressed)\n  B: {} ({} triggers, {} suppressed)\n\n",
        d.input, d.a.config, d.a.emitted, d.a.suppressed, d.b.config, d.b.emitted, d.b.suppressed
    );
    s += &format!(
        "  {:<20} {:>7} {:>7} {:>7}  change in conversions, B against A (95% interval)\n",
        "type", "only A", "only B", "both"
    );
    for t in &d.types {
        let change = match (&t.conversion_change, &t.uplift) {
            (Some(c), Some(u)) => format!(
                "{:+.2} ({:+.2} to {:+.2}), uplift {:+.1} pp measured on {}",
                c.estimate,
                c.low,
                c.high,
                u.difference * 100.0,
                u.measured_on.to_uppercase()
            ),
            (Some(_), None) => "none: the same treatment triggers".to_owned(),
            (None, _) => {
                let status = match t.uplift_status_a {
                    EstimateStatus::NoTriggers => t.uplift_status_b,
                    status => status,
                };
                let arm = match status {
                    EstimateStatus::TreatmentTooSmall => "treatment",
                    _ => "holdout",
                };
                format!("unknown: the {arm} arm is too small to estimate the uplift")
            }
        };
        s += &format!(
            "  {:<20} {:>7} {:>7} {:>7}  {change}\n",
            t.kind, t.only_a.triggers, t.only_b.triggers, t.both.triggers
        );
    }
    s + "  Triggers are matched by trigger id (customer, type and episode start).\n"
}
