//! What the demo's threads share, its status line and its summary.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use nudge_events::{Arm, SuppressReason, TriggerType, Ts};
use nudge_kafka::Clock;
use nudge_metrics::{names, Health, Metrics};

use super::{minutes, sim_time, CURRENCY};
use crate::traffic::Counts;

/// What the threads share with the status line and the summary.
pub(super) struct Shared {
    pub(super) clock: Clock,
    /// When the clock starts; before, the history goes out.
    pub(super) live_from: Instant,
    /// Records before the clock's start, and the event time they start at.
    pub(super) history: u64,
    pub(super) history_from: Ts,
    pub(super) metrics: Arc<Metrics>,
    pub(super) health: Arc<Health>,
    pub(super) counts: Counts,
    pub(super) tallies: Mutex<Tallies>,
}

/// What the printer has read.
#[derive(Default)]
pub(super) struct Tallies {
    pub(super) triggers: BTreeMap<(TriggerType, Arm), u64>,
    pub(super) suppressed: BTreeMap<SuppressReason, u64>,
    /// Attributed purchases and their revenue, by arm.
    pub(super) outcomes: BTreeMap<Arm, (u64, f64)>,
    pub(super) unreadable: u64,
}

/// How the demo ended.
pub(super) struct Ended {
    pub(super) wall: Duration,
    /// The clock's time.
    pub(super) at: Ts,
    pub(super) interrupted: bool,
}

impl Shared {
    pub(super) fn tallies(&self) -> MutexGuard<'_, Tallies> {
        self.tallies.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One plain line; no cursor movement, so it reads the same in a log.
    pub(super) fn status_line(&self, elapsed: Duration, per_s: f64) -> String {
        let produced = self.counts.total();
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
        let behind = self.counts.behind_ms.load(Ordering::Relaxed);
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

    pub(super) fn summary(&self, ended: &Ended, url: &str) -> String {
        let produced = self.counts.by_source();
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
